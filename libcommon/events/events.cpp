#include "events/events.hpp"

#include "core/log.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"

namespace mbd {

void record_event(db::Db& db, Event e, bool log_line)
{
    if (!e.time)
        e.time = now_seconds();
    auto opt = [](const std::string& s) { return s.empty() ? std::optional<std::string>() : std::optional(s); };
    db.run("INSERT INTO events(time, type, source, version, distribution, architecture, message, detail) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
           e.time, e.type, opt(e.source), opt(e.version), opt(e.distribution), opt(e.architecture), e.message,
           opt(e.detail));
    e.id = db.last_insert_id();
    if (log_line)
        log::info("{}", describe(e));
}

bool has_event(db::Db& db, std::string_view type, std::string_view detail)
{
    return db.scalar_int("SELECT 1 FROM events WHERE type = ? AND detail = ?", type, detail).has_value();
}

std::vector<Event> list_events(db::Db& db, const EventFilter& f)
{
    std::string sql = "SELECT id, time, type, source, version, distribution, architecture, message, detail "
                      "FROM events WHERE time >= ?1 AND id > ?5";
    if (!f.type.empty())
        sql += " AND type = ?2";
    if (!f.source.empty())
        sql += " AND source = ?3";
    if (!f.distribution.empty())
        sql += " AND distribution = ?4";
    sql += " ORDER BY id DESC";
    if (f.limit > 0)
        sql += " LIMIT " + std::to_string(f.limit);
    auto q = db.prepare(sql);
    q.bind(1, f.since);
    q.bind(5, f.after);
    if (!f.type.empty())
        q.bind(2, f.type);
    if (!f.source.empty())
        q.bind(3, f.source);
    if (!f.distribution.empty())
        q.bind(4, f.distribution);
    std::vector<Event> out;
    while (q.step())
        out.push_back(Event{q.int64(0), q.int64(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6), q.text(7),
                            q.text(8)});
    return out;
}

Json to_json(const Event& e)
{
    auto opt = [](const std::string& s) { return s.empty() ? Json() : Json(s); };
    return Json::object()
        .set("id", e.id)
        .set("time", iso_time(e.time))
        .set("type", e.type)
        .set("source", opt(e.source))
        .set("version", opt(e.version))
        .set("distribution", opt(e.distribution))
        .set("architecture", opt(e.architecture))
        .set("message", e.message)
        .set("detail", opt(e.detail));
}

std::string describe(const Event& e)
{
    std::string subject = e.source;
    if (!e.version.empty())
        subject += " " + e.version;
    if (!e.distribution.empty())
        subject += " in " + e.distribution;
    if (!e.architecture.empty())
        subject += " (" + e.architecture + ")";
    return fmt::format("{} {}{}{}", e.type, subject, subject.empty() ? "" : ": ", e.message);
}

} // namespace mbd
