#include "app/rotate.hpp"

#include "archive/publish.hpp"
#include "core/strings.hpp"
#include "keys/instance.hpp"
#include "model/lock.hpp"
#include "model/model.hpp"

namespace mbd::app {
namespace {

// A new Release, signed by the archive signers of now, for every distribution.
std::vector<std::string> resign_all(Context& ctx)
{
    std::vector<std::string> out;
    for (const auto& r : repo::list_repositories(ctx.db())) {
        if (r.status.status == Status::removed)
            continue;
        repo::RepositoryLock lock(ctx, r.id);
        archive::PublishOptions o;
        o.resign = true;
        for (auto& d : archive::publish(ctx, lock, o).dists)
            out.push_back(std::move(d));
        for (auto& d : archive::resign_snapshots(ctx, lock))
            out.push_back(std::move(d));
    }
    return out;
}

} // namespace

RotationReport rotate(Context& ctx, gpg::Algo algo, long long expire_seconds, long long overlap_seconds)
{
    auto current = keys::require_instance_key(ctx);
    auto next = keys::rotate_instance_key(ctx, algo, expire_seconds, now_seconds() + overlap_seconds);
    RotationReport r{current.info.fingerprint, next.info.fingerprint, next.switch_at, {}, {}};
    for (auto& k : repo::refresh_keyrings(ctx))
        if (!k.changes.empty())
            r.keyrings.push_back(std::move(k));
    r.published = resign_all(ctx);
    return r;
}

RotationReport switch_key(Context& ctx)
{
    auto old = keys::require_instance_key(ctx);
    auto now = keys::switch_instance_key(ctx);
    RotationReport r{old.info.fingerprint, now.info.fingerprint, now_seconds(), {}, {}};
    r.published = resign_all(ctx);
    return r;
}

std::optional<RotationReport> switch_if_due(Context& ctx)
{
    auto next = keys::next_instance_key(ctx.db());
    if (!next || next->switch_at > now_seconds())
        return std::nullopt;
    return switch_key(ctx);
}

Json to_json(const RotationReport& r)
{
    Json keyrings = Json::array(), published = Json::array();
    for (const auto& k : r.keyrings)
        keyrings.push(Json::object().set("distribution", k.dist).set("version", k.version));
    for (const auto& d : r.published)
        published.push(d);
    return Json::object()
        .set("from", r.from)
        .set("to", r.to)
        .set("switch_at", json_time(r.switch_at))
        .set("keyrings_uploaded", keyrings)
        .set("published", published);
}

} // namespace mbd::app
