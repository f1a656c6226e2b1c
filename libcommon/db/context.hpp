// db/context: an instance opened by a tool: its configuration, its home and (on first
// use) its state database. What every handler and every domain function gets.
#pragma once

#include "core/config.hpp"
#include "core/home.hpp"

#include <memory>

namespace mbd {

namespace db {
class Db;
}

class Context {
public:
    explicit Context(Config config);
    ~Context();
    const Config& config() const { return config_; }
    Config& config() { return config_; }
    const Home& home() const { return home_; }
    // Opens (creating the home layout and migrating) on first use. The default home
    // (/var/lib/mbd, which the package makes) is never made here: a tool run without
    // MBD_HOME where it does not exist fails with Exit::config, so a command typed as root
    // on a host without the package leaves no root-owned instance behind.
    db::Db& db();
    bool db_opened() const { return db_ != nullptr; }

private:
    Config config_;
    Home home_;
    std::unique_ptr<db::Db> db_;
};

} // namespace mbd
