// mbd-repo's outputs: check, sources-list, dput-conf, site.
#include "cli.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "db/db.hpp"
#include "repo/apt.hpp"
#include "repo/lifecycle.hpp"
#include "site/html.hpp"
#include "site/site.hpp"

#include <memory>

namespace mbd::repo {

void define_site(Cli& cli)
{
    struct SiteArgs {
        bool full = false, print_template = false;
    };
    auto sa = std::make_shared<SiteArgs>();
    auto* c = cli.command("site",
                          "bring the status site (HOME/site/) up to date now; the tools do it after every change when "
                          "site.enabled is set",
                          [sa](Context& ctx) {
                              if (sa->print_template) {
                                  std::cout << site::default_template();
                                  return;
                              }
                              auto r = site::update(ctx, sa->full);
                              std::cout << fmt::format("site: {} written, {} unchanged, {} removed ({})\n",
                                                       r.written, r.unchanged, r.removed,
                                                       site::site_dir(ctx.home()).string());
                          });
    c->add_flag("--full", sa->full, "make every page again, not only those of what changed since the last update");
    c->add_flag("--template", sa->print_template,
                "print the built-in page frame (copy it to HOME/etc/site/page.html to change it) and exit");
}

void define_output(Cli& cli)
{
    define_site(cli);
    struct CheckArgs {
        std::string id;
        bool json = false;
    };
    auto ck = std::make_shared<CheckArgs>();
    auto* c = cli.command("check", "verify DB <-> pool <-> published indices <-> signatures; exit 12 on any problem",
                          [ck](Context& ctx) {
                              std::vector<std::string> ids;
                              if (!ck->id.empty())
                                  ids.push_back(ck->id);
                              else
                                  for (const auto& r : list_repositories(ctx.db()))
                                      if (r.status.status != Status::removed)
                                          ids.push_back(r.id);
                              Json all = Json::array();
                              size_t problems = 0;
                              for (const auto& i : ids) {
                                  auto rep = check_repository(ctx, i);
                                  problems += rep.problems.size();
                                  for (const auto& p : rep.problems)
                                      log::error("repository '{}': {}", i, p);
                                  if (ck->json)
                                      all.push(to_json(rep));
                                  else
                                      std::cout << fmt::format("{}: {} ({} pool files, {} distributions, {} snapshots)\n",
                                                               i, rep.ok() ? "ok" : "FAILED", rep.pool_files, rep.dists,
                                                               rep.snapshots);
                              }
                              if (ck->json)
                                  std::cout << all.dump();
                              if (problems)
                                  throw fail(Exit::check_failed, "{} problem{} found", problems, problems == 1 ? "" : "s");
                          });
    c->add_option("id", ck->id, "repository (default: all)")->check(name_of(names::repository));
    c->add_flag("--json", ck->json, "print JSON");

    struct SourcesListArgs {
        std::string id;
        SourcesListOptions options;
        std::vector<std::string> codenames, suites;
        bool no_src = false, deb822 = false, one_line = false, install = false;
        std::string root = "/";
    };
    auto sl = std::make_shared<SourcesListArgs>();
    c = cli.command("sources-list", "print (or --install) the apt sources of a repository (deb822 or one-line)", [sl](Context& ctx) {
        SourcesListOptions o = sl->options;
        o.codenames = comma_list(sl->codenames);
        o.suites = comma_list(sl->suites);
        o.sources = !sl->no_src;
        o.deb822 = !sl->one_line;
        if (!sl->install) {
            std::cout << sources_list(ctx, sl->id, o);
            return;
        }
        for (const auto& file : install_sources(ctx, sl->id, o, sl->root))
            std::cout << file.string() << "\n";
    });
    c->add_option("id", sl->id, "repository")->required()->check(name_of(names::repository));
    c->add_option("--codename", sl->codenames, "only these codenames");
    c->add_option("--suite", sl->suites, "only these suites");
    c->add_flag("--rollbacks", sl->options.rollbacks, "also the rollback distributions");
    auto* deb822 = c->add_flag("--deb822", sl->deb822, "a deb822 .sources file (the default)");
    c->add_flag("--one-line", sl->one_line, "one-line entries (sources.list) instead of deb822")->excludes(deb822);
    c->add_flag("--no-src", sl->no_src, "no deb-src entries");
    auto* signed_by = c->add_option("--signed-by", sl->options.signed_by,
                                    "path of the key file (mbd-keygen export) on the user's machine");
    auto* install = c->add_flag("--install", sl->install,
                                "write the key to /etc/apt/keyrings/ and the sources to /etc/apt/sources.list.d/ here")
                        ->excludes(signed_by);
    c->add_option("--root", sl->root, "with --install: the system's root directory")->needs(install);
    install->excludes("--one-line");
    c->add_option("--url", sl->options.url, "URL of the repository (default: configuration key 'publish.url')");
    c->add_option("--snapshot", sl->options.snapshot,
                  "a snapshot's sources instead: DIST@NAME, or NAME for each distribution's of that name "
                  "(mbd-repo snapshot ls)")
        ->excludes("--rollbacks");

    auto dp = std::make_shared<DputOptions>();
    c = cli.command("dput-conf", "print a dput.cf stanza for uploading to this instance",
                    [dp](Context& ctx) { std::cout << dput_conf(ctx, *dp); });
    c->add_option("--host", dp->host, "host to upload to over ssh (default: access.host; neither: this one, method local)");
    c->add_option("--method", dp->method, "local, scp or sftp (default: local without a host, else scp)");
    c->add_option("--login", dp->login, "the gateway's account on that host (default: access.login, else this user)");
    c->add_option("--incoming", dp->incoming, "incoming directory (default: this instance's, or the gateway's /incoming)");
}

} // namespace mbd::repo
