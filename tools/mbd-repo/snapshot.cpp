// mbd-repo's snapshot group: create, ls, remove (repo/snapshots.hpp).
#include "cli.hpp"

#include "core/names.hpp"
#include "core/strings.hpp"
#include "repo/snapshots.hpp"

#include <memory>

namespace mbd::repo {

namespace {

std::string snapshot_text(const Snapshot& s)
{
    return fmt::format("{:<48} {}  {:<5} {} sources, {} binaries\n", s.full_name(), iso_time(s.created),
                       s.named ? "named" : "timed", s.sources, s.binaries);
}

} // namespace

void define_snapshot(Cli& cli)
{
    auto* g = cli.group("snapshot",
                        "frozen distributions: DIST@NAME, published once, NotAutomatic, holding their pool files");
    struct CreateArgs {
        std::string dist, name;
        bool json = false;
    };
    auto cr = std::make_shared<CreateArgs>();
    auto* c = cli.command(
        g, "create",
        "freeze what a distribution holds as DIST@NAME (default NAME: the UTC time, which snapshot.keep expires) and "
        "publish it",
        [cr](Context& ctx) {
            auto s = create_snapshot(ctx, cr->dist, cr->name.empty() ? std::nullopt : std::optional(cr->name));
            std::cout << (cr->json ? to_json(s).dump() : snapshot_text(s));
        });
    c->add_option("dist", cr->dist, "distribution, CODENAME-ID-SUITE (a rollback too)")
        ->required()
        ->check(name_of(names::distribution));
    c->add_option("name", cr->name, "snapshot name: lowercase letters, digits and .+~- (kept until removed)")
        ->check(name_of(names::snapshot));
    c->add_flag("--json", cr->json, "print JSON");

    struct LsArgs {
        std::string id, dist;
        bool json = false;
    };
    auto ls = std::make_shared<LsArgs>();
    c = cli.command(g, "ls", "list snapshots", [ls](Context& ctx) {
        if (!ls->id.empty())
            get_repository(ctx.db(), ls->id);
        print_list<Snapshot>(list_snapshots(ctx.db(), ls->id, ls->dist), ls->json, snapshot_text);
    });
    c->add_option("id", ls->id, "repository (default: all)")->check(name_of(names::repository));
    c->add_option("--dist", ls->dist, "only the snapshots of this distribution")->check(name_of(names::distribution));
    c->add_flag("--json", ls->json, "print JSON");

    struct RemoveArgs {
        std::string snapshot;
    };
    auto rm = std::make_shared<RemoveArgs>();
    c = cli.command(g, "remove", "remove a snapshot; its pool files go once nothing else holds them (publish.pool_grace)",
                    [rm](Context& ctx) {
                        auto s = remove_snapshot(ctx, rm->snapshot);
                        std::cout << fmt::format("{}: removed\n", s.full_name());
                    });
    c->add_option("snapshot", rm->snapshot, "DIST@NAME, as 'snapshot ls' prints it")->required();
}

} // namespace mbd::repo
