#include "db/context.hpp"

#include "db/db.hpp"

namespace mbd {

Context::Context(Config config) : config_(std::move(config)), home_{config_.home()} {}
Context::~Context() = default;

db::Db& Context::db()
{
    if (!db_) {
        home_.ensure();
        db_ = std::make_unique<db::Db>(db::Db::open(home_.db(), int(config_.get_int("db.busy_timeout"))));
    }
    return *db_;
}

} // namespace mbd
