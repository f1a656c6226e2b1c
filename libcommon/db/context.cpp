#include "db/context.hpp"

#include "core/error.hpp"
#include "db/db.hpp"

#include <filesystem>

namespace mbd {

Context::Context(Config config) : config_(std::move(config)), home_{config_.home()} {}
Context::~Context() = default;

db::Db& Context::db()
{
    if (!db_) {
        std::error_code ec;
        if (config_.entry("home").origin == Origin::default_value && !std::filesystem::exists(home_.root, ec))
            throw fail(Exit::config,
                       "there is no instance at {} (the mbd package makes it); set MBD_HOME or --home to the "
                       "instance's directory",
                       home_.root.string());
        home_.ensure();
        db_ = std::make_unique<db::Db>(db::Db::open(home_.db(), int(config_.get_int("db.busy_timeout"))));
    }
    return *db_;
}

} // namespace mbd
