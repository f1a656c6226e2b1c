#include "model/lock.hpp"

namespace mbd::repo {

namespace {
FileLock take(const Context& ctx, const std::string& id, bool wait)
{
    make_dirs(ctx.home().locks());
    return FileLock(ctx.home().locks() / ("repository-" + id + ".lock"), wait);
}
} // namespace

RepositoryLock::RepositoryLock(const Context& ctx, std::string id, bool wait)
    : id_(std::move(id)), lock_(take(ctx, id_, wait))
{
}

} // namespace mbd::repo
