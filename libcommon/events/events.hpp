// events/events: the event log (mini-buildd's event log): every decision a tool
// makes about an upload, a build or a package is one row in the events table
// and one log line. REJECTED, BUILDING, BUILT, PACKAGING, INSTALLED, FAILED,
// MIGRATED, REMOVED, plus the kinds later domains add.
#pragma once

#include "core/json.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mbd {

namespace db {
class Db;
}

struct Event {
    long long id = 0;
    long long time = 0; // unix seconds; 0 on record(): now
    std::string type;
    std::string source, version, distribution, architecture;
    std::string message;
    std::string detail; // e.g. where a rejected upload is kept
};

// Insert (inside the caller's transaction if one is open) and log a line (unless the
// caller logs what it did its own way: log_line false).
void record_event(db::Db& db, Event event, bool log_line = true);
// Is there an event of this type with this detail (e.g. the REJECTED event of a directory)?
bool has_event(db::Db& db, std::string_view type, std::string_view detail);

struct EventFilter {
    std::string type, source, distribution;
    long long since = 0; // unix seconds
    long long after = 0; // only events whose id is greater
    int limit = 100;     // newest first; 0: all
};
std::vector<Event> list_events(db::Db& db, const EventFilter& filter);

Json to_json(const Event& e);
std::string describe(const Event& e); // one line

} // namespace mbd
