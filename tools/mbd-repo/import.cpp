// mbd-repo import: move an existing archive into a repository (repo/import.hpp).
#include "cli.hpp"

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "repo/import.hpp"

#include <memory>

#include <unistd.h>

namespace mbd::repo {

void define_import(Cli& cli)
{
    struct ImportArgs {
        ImportRequest r;
        bool json = false;
    };
    auto ia = std::make_shared<ImportArgs>();
    auto* c = cli.command(
        "import",
        "take every source and binary of an existing archive (reprepro, aptly, mini-buildd: dists/ and pool/, a "
        "directory or a URL) into a repository, its Release verified with --keyring; a second run adds what is new",
        [ia](Context& ctx) {
            auto r = ia->r;
            r.progress = !ia->json && ::isatty(2);
            auto report = import_archive(ctx, r);
            if (ia->json) {
                std::cout << to_json(report).dump();
            } else {
                for (const auto& d : report.dists) {
                    std::vector<std::string> counts;
                    for (const auto& [k, v] : d.counts)
                        counts.push_back(fmt::format("{} {}", v, k));
                    std::cout << fmt::format("{} -> {}: {}\n", d.from, d.to.empty() ? "(not mapped)" : d.to,
                                             counts.empty() ? "nothing" : join(counts, ", "));
                    for (const auto& f : d.failures)
                        std::cout << fmt::format("  FAILED {}: {}\n", f.what, f.why);
                }
                print_published(report.published);
            }
            if (report.failed())
                throw fail(Exit::check_failed, "import of '{}': {} part(s) failed (above); the rest went in",
                           report.source, report.failed());
        });
    c->add_option("archive", ia->r.source,
                  "the archive: a directory holding dists/ and pool/, or its http://, https:// or file:// URL")
        ->required();
    c->add_option("--repository", ia->r.repository, "the repository to import into")
        ->required()
        ->check(name_of(names::repository));
    c->add_option("--keyring", ia->r.keyrings, "a file with the archive's signing keys (armored or binary; repeatable)")
        ->required();
    c->add_option("--map", ia->r.maps,
                  "THEIRS=OURS: import their distribution into ours (repeatable; default: mini-buildd's "
                  "CODENAME-ID-SUITE[-rollbackN] names go to the repository's CODENAME-SUITE)")
        ->check(CLI::Validator([](std::string& v) { return import_map_problem(v).value_or(""); }, "THEIRS=OURS"));
    c->add_option("--dist", ia->r.dists,
                  "import only this distribution of theirs (repeatable; a URL needs --dist or --map: it lists no "
                  "directory)");
    c->add_flag("--json", ia->json, "print the report as JSON");
}

} // namespace mbd::repo
