// model/lock: the per-repository writer lock.
//
// Every writer of a repository (install, migrate, remove, publish, check) holds its
// flock ($MBD_HOME/var/lock/repository-ID.lock) for the whole operation, and changes
// the database in transactions. Readers (ls, show, search, sources-list) take no lock:
// the database is in WAL mode and published files change by atomic renames.
#pragma once

#include "core/fs.hpp"
#include "db/context.hpp"

#include <string>

namespace mbd::repo {

class RepositoryLock {
public:
    // Waits for the lock unless wait is false (then Error(Exit::locked) at once).
    RepositoryLock(const Context& ctx, std::string id, bool wait = true);
    const std::string& id() const { return id_; }

private:
    std::string id_;
    FileLock lock_;
};

} // namespace mbd::repo
