// mbd-repo's package commands: install, migrate, port, remove, publish, maintain, ls, show, search.
#include "cli.hpp"

#include "app/maintain.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "model/lock.hpp"
#include "repo/debdiff.hpp"
#include "repo/lifecycle.hpp"
#include "app/selftest.hpp"
#include "repo/keyring.hpp"
#include "repo/port.hpp"
#include "repo/port_ext.hpp"

#include <memory>
#include <unistd.h>

namespace mbd::repo {

namespace {

// The non-empty lines of a file, or of standard input for "-".
std::vector<std::string> read_list(const std::string& file)
{
    std::string text = read_input(file); // (split's views point into it)
    std::vector<std::string> out;
    for (auto line : split(text, '\n'))
        if (!line.empty())
            out.emplace_back(line);
    return out;
}

// install: .changes into a distribution
void define_install(Cli& cli)
{
    struct InstallArgs {
        std::vector<std::string> changes;
        std::string dist, from;
        bool no_publish = false, each = false, link = false;
    };
    auto in = std::make_shared<InstallArgs>();
    auto* c = cli.command("install", "install .changes (source and binaries, all or nothing) and publish", [in](Context& ctx) {
        InstallRequest req;
        for (const auto& p : in->changes)
            req.changes.emplace_back(p);
        if (!in->from.empty())
            for (const auto& p : read_list(in->from))
                req.changes.emplace_back(p);
        if (req.changes.empty())
            throw fail(Exit::usage, "no .changes given (arguments or --from)");
        req.dist = in->dist;
        req.publish = !in->no_publish;
        req.link = in->link;
        auto print = [](const InstallResult& r) { std::cout << fmt::format("{} {} -> {}\n", r.source, r.version, r.dist.name); };
        if (in->each) {
            print_published(install_each(ctx, req.changes, req.dist, req.publish, req.link, print));
        } else {
            auto r = install(ctx, req);
            print(r);
            print_published(r.published);
        }
    });
    c->add_option("changes", in->changes, "the .changes files of one source version");
    c->add_option("--from", in->from,
                  "more .changes, one path per line, from FILE ('-': standard input): lists longer than a command "
                  "line takes (install --each of a whole archive)");
    c->add_option("--dist", in->dist, "target distribution CODENAME-ID-SUITE (default: the .changes' Distribution)")
        ->check(name_of(names::distribution));
    c->add_flag("--no-publish", in->no_publish, "only record it (publish later)");
    c->add_flag("--each", in->each, "each .changes is an upload of its own (imports); one publish at the end");
    c->add_flag("--link", in->link,
                "hard-link the files into the pool instead of copying them where safe (same filesystem, "
                "owned and only writable by this user); they must never be changed in place afterwards");
}

// migrate, port, remove: a source version between distributions
void define_moves(Cli& cli)
{
    struct MoveArgs {
        std::string source, dist, to;
        std::optional<std::string> version;
        bool no_publish = false;
    };
    auto mv = std::make_shared<MoveArgs>();
    auto* c = cli.command("migrate", "copy a source's version to the suite its suite migrates to", [mv](Context& ctx) {
        auto r = migrate(ctx, mv->source, mv->dist, !mv->no_publish);
        std::cout << fmt::format("{} {}: {} -> {}\n", r.source, r.version, r.from, r.to);
        print_published(r.published);
    });
    c->add_option("source", mv->source, "source package")->required()->check(name_of(names::package));
    c->add_option("from", mv->dist, "distribution to migrate from, CODENAME-ID-SUITE")
        ->required()
        ->check(name_of(names::distribution));
    c->add_flag("--no-publish", mv->no_publish, "only record it (publish later)");
    mv = std::make_shared<MoveArgs>();
    c = cli.command("port", "rebuild a source for another distribution: a signed upload into incoming/", [mv](Context& ctx) {
        auto r = port(ctx, mv->source, mv->dist, mv->to);
        std::cout << fmt::format("{} {} from {}: uploaded {} for {} ({})\n", r.source, r.from_version, r.from,
                                 r.version, r.to, r.changes.filename().string());
    });
    c->add_option("source", mv->source, "source package")->required()->check(name_of(names::package));
    c->add_option("from", mv->dist, "distribution holding it, CODENAME-ID-SUITE")
        ->required()
        ->check(name_of(names::distribution));
    c->add_option("to", mv->to, "distribution to port it to, CODENAME-ID-SUITE")
        ->required()
        ->check(name_of(names::distribution));
    struct KeyringArgs {
        std::string id;
        bool force = false, json = false;
    };
    auto ka = std::make_shared<KeyringArgs>();
    c = cli.command("keyring", "upload the repository's keyring package (ID-archive-keyring) where its key is not current",
                    [ka](Context& ctx) {
                        auto uploads = upload_keyrings(ctx, ka->id, ka->force);
                        Json list = Json::array();
                        for (const auto& u : uploads) {
                            list.push(Json::object()
                                          .set("distribution", u.dist)
                                          .set("version", u.version)
                                          .set("uploaded", !u.changes.empty()));
                            if (!ka->json)
                                std::cout << fmt::format("{}: {} {}\n", u.dist,
                                                         u.changes.empty() ? "up to date," : "uploaded", u.version);
                        }
                        if (ka->json)
                            std::cout << list.dump();
                    });
    c->add_option("id", ka->id, "repository (default: all)")->check(name_of(names::repository));
    c->add_flag("--force", ka->force, "upload a new one also where the current key is shipped");
    c->add_flag("--json", ka->json, "print JSON");
    auto pe = std::make_shared<PortExtRequest>();
    c = cli.command("port-ext",
                    "port a source from another archive: its .dsc (at an http(s) or file URL) verified with "
                    "dscverify against the Debian keyrings or --keyring, then a signed upload into incoming/ "
                    "for each distribution",
                    [pe](Context& ctx) {
                        auto r = port_ext(ctx, *pe);
                        for (const auto& u : r.uploads)
                            std::cout << fmt::format("{} {} from {}: uploaded {} for {} ({})\n", r.source, r.from_version,
                                                     pe->url, u.version, u.to, u.changes.filename().string());
                    });
    c->add_option("url", pe->url, "the .dsc's URL (http://, https:// or file://); its files are fetched from beside it")
        ->required()
        ->check(CLI::Validator([](std::string& v) { return port_ext_url_problem(v).value_or(""); }, ""));
    c->add_option("dist", pe->dists, "distributions to port it to, CODENAME-ID-SUITE (one upload each)")
        ->required()
        ->check(name_of(names::distribution));
    c->add_option("--keyring", pe->keyrings,
                  "verify against this keyring (repeatable; default: the Debian keyrings of debian-keyring)");
    mv = std::make_shared<MoveArgs>();
    c = cli.command("remove", "take a source out of a distribution (suite or rollback)", [mv](Context& ctx) {
        auto r = remove(ctx, mv->source, mv->dist, mv->version, !mv->no_publish);
        std::cout << fmt::format("{} {}: removed from {}\n", r.source, r.version, r.from);
        print_published(r.published);
    });
    c->add_option("source", mv->source, "source package")->required()->check(name_of(names::package));
    c->add_option("dist", mv->dist, "distribution")->required()->check(name_of(names::distribution));
    c->add_option("--version", mv->version, "only if it holds this version");
    c->add_flag("--no-publish", mv->no_publish, "only record it (publish later)");
}

// selftest
void define_selftest(Cli& cli)
{
    struct SelftestArgs {
        app::SelftestOptions o;
        bool no_wait = false, json = false;
    };
    auto st = std::make_shared<SelftestArgs>();
    auto* c = cli.command(
        "selftest",
        "upload three test packages through the pipeline (arch all, arch any, one that must fail) and report "
        "how each was built, published and fetched by apt",
        [st](Context& ctx) {
            auto o = st->o;
            o.wait = !st->no_wait;
            o.progress = !st->json && ::isatty(2);
            auto r = app::selftest(ctx, o);
            if (st->json) {
                std::cout << app::to_json(r).dump();
            } else {
                std::cout << fmt::format("selftest of {}:\n", r.dist);
                for (const auto& p : r.packages) {
                    std::string what = p.state;
                    if (!p.architectures.empty())
                        what += (p.expect_failure ? ", failed on " : ", built on ") + join(p.architectures, " ");
                    if (!p.log.empty())
                        what += " (mbd-build log " + p.log + ")";
                    if (!p.fetched.empty())
                        what += ", fetched by apt (" + join(p.fetched, " ") + ")";
                    std::cout << fmt::format("  {} {}: {}: {}\n", p.source, p.version, what,
                                             !st->no_wait && p.problem.empty() ? (p.expect_failure ? "failed as expected, ok" : "ok")
                                             : st->no_wait                    ? "uploaded"
                                                                              : "FAILED: " + p.problem);
                }
            }
            if (!st->no_wait && !r.ok())
                throw fail(Exit::check_failed, "selftest of {}: not every package behaved as expected", r.dist);
        });
    c->add_option("id", st->o.repository, "repository")->required()->check(name_of(names::repository));
    c->add_option("--dist", st->o.dist, "distribution to test (default: the first codename's experimental suite)")
        ->check(name_of(names::distribution));
    c->add_option("--timeout", st->o.timeout_seconds, "seconds to wait for the packages (default 1800)")
        ->check(CLI::PositiveNumber);
    c->add_flag("--no-wait", st->no_wait, "only upload them");
    c->add_flag("--json", st->json, "print the report as JSON");
}

// publish, maintain
void define_publish(Cli& cli)
{
    struct PublishArgs {
        std::string id, dist;
        bool rebuild = false;
    };
    auto pa = std::make_shared<PublishArgs>();
    auto* c = cli.command("publish", "publish what changed (all repositories, or one)", [pa](Context& ctx) {
        std::vector<std::string> ids;
        if (!pa->id.empty())
            ids.push_back(get_repository(ctx.db(), pa->id).id);
        else
            for (const auto& r : list_repositories(ctx.db()))
                if (r.status.status != Status::removed)
                    ids.push_back(r.id);
        for (const auto& id : ids) {
            RepositoryLock lock(ctx, id);
            auto dists = publish_repository(ctx, lock, pa->rebuild,
                                            pa->dist.empty() ? std::nullopt : std::optional(pa->dist));
            for (const auto& d : dists)
                std::cout << d << "\n";
        }
    });
    c->add_option("id", pa->id, "repository (default: all)")->check(name_of(names::repository));
    c->add_option("--dist", pa->dist, "only this distribution")->check(name_of(names::distribution));
    c->add_flag("--rebuild", pa->rebuild, "rebuild every index from the state database");

    struct MaintainArgs {
        bool json = false;
    };
    auto ma = std::make_shared<MaintainArgs>();
    c = cli.command("maintain",
                    "daily upkeep (mbd-repo-maintain.timer): retired codenames, Valid-Until, by-hash and pool cleanup, "
                    "retention, keyring packages of a changed key",
                    [ma](Context& ctx) {
                        auto r = app::maintain(ctx);
                        if (ma->json) {
                            std::cout << to_json(r).dump();
                            return;
                        }
                        for (const auto& d : r.retired)
                            std::cout << d << " retired\n";
                        for (const auto& d : r.snapshots)
                            std::cout << d << " removed (snapshot.keep)\n";
                        for (const auto& d : r.published)
                            std::cout << d << "\n";
                        if (!r.switched.empty())
                            std::cout << "key rotation: " << r.switched << " is the instance key now\n";
                        for (const auto& k : r.keyrings)
                            std::cout << k << ": keyring package uploaded (the key changed)\n";
                    });
    c->add_flag("--json", ma->json, "print what was done as JSON");
}

// ls, show, search
void define_queries(Cli& cli)
{
    struct QueryArgs {
        std::string arg, repo, dist;
        bool json = false;
    };
    auto q = std::make_shared<QueryArgs>();
    auto* c = cli.command("ls", "list what the distributions hold", [q](Context& ctx) {
        print_list<Holding>(list_holdings(ctx.db(), q->arg, q->dist), q->json, holding_text);
    });
    c->add_option("id", q->arg, "repository (default: all)")->check(name_of(names::repository));
    c->add_option("--dist", q->dist, "only this distribution")->check(name_of(names::distribution));
    c->add_flag("--json", q->json, "print JSON");
    q = std::make_shared<QueryArgs>();
    c = cli.command("show", "show the versions of a source per distribution, rollbacks included", [q](Context& ctx) {
        print_list<Holding>(show_source(ctx.db(), q->arg, q->repo), q->json, holding_text);
    });
    c->add_option("source", q->arg, "source package")->required()->check(name_of(names::package));
    c->add_option("--repository", q->repo, "only this repository")->check(name_of(names::repository));
    c->add_flag("--json", q->json, "print JSON");
    q = std::make_shared<QueryArgs>();
    c = cli.command("search", "find sources and binaries by name (shell pattern)", [q](Context& ctx) {
        print_list<Holding>(search(ctx.db(), q->arg, q->repo), q->json, holding_text);
    });
    c->add_option("pattern", q->arg, "name pattern, e.g. 'lib*'")->required();
    c->add_option("--repository", q->repo, "only this repository")->check(name_of(names::repository));
    c->add_flag("--json", q->json, "print JSON");

    auto dd = std::make_shared<DebdiffRequest>();
    c = cli.command("debdiff",
                    "devscripts' debdiff between two versions the archive holds (given, or those of two "
                    "distributions): the sources, or with --binary the .debs of an architecture",
                    [dd](Context& ctx) {
                        auto r = debdiff(ctx, *dd);
                        std::cout << r.output;
                        if (!r.differ)
                            log::notice("{} {} and {} do not differ", dd->source, r.from, r.to);
                    });
    c->add_option("source", dd->source, "source package")->required()->check(name_of(names::package));
    c->add_option("versions", dd->versions, "the two versions to compare (or --dist twice)")->expected(0, 2);
    c->add_option("--dist", dd->dists, "a distribution whose version to compare (twice)")
        ->check(name_of(names::distribution));
    c->add_option("--repository", dd->repository, "the repository (when several hold the source)")
        ->check(name_of(names::repository));
    c->add_option("--binary", dd->binary_arch, "compare the .deb files of this architecture (and 'all')")
        ->check(name_of(names::architecture));
}

} // namespace

void define_packages(Cli& cli)
{
    define_install(cli);
    define_moves(cli);
    define_publish(cli);
    define_selftest(cli);
    define_queries(cli);
}

} // namespace mbd::repo
