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
    // Opens (creating the home layout and migrating) on first use.
    db::Db& db();
    bool db_opened() const { return db_ != nullptr; }

private:
    Config config_;
    Home home_;
    std::unique_ptr<db::Db> db_;
};

} // namespace mbd
