// db/schema: the versioned schema, one list of forward migrations per domain.
//
// Each domain (core, keys, repo, chroot, build, remote, ...) owns its tables and
// an append-only list of migration steps; the step count is its version. Domains
// are migrated in the order of the list, so a domain may reference tables of the
// domains before it. The versions applied are kept in the table schema_version.
// A database whose version of any domain is higher than this build knows (or
// that has a domain this build does not know) is refused: Error(Exit::state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mbd::db {

class Db;

struct SchemaDomain {
    std::string_view name;
    std::vector<std::string_view> steps; // SQL, applied in order; never edit a released step
};

// The domains of this build, in migration order.
const std::vector<SchemaDomain>& schema();

// Bring db to the given schema inside one write transaction.
void migrate(Db& db, const std::vector<SchemaDomain>& domains);

// "core 1, keys 2, ..." for --version output and notes.
std::string schema_summary(const std::vector<SchemaDomain>& domains = schema());

} // namespace mbd::db
