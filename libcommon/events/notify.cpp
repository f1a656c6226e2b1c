#include "events/notify.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "deb822/deb822.hpp"
#include "events/events.hpp"

#include <algorithm>
#include <unistd.h>

namespace mbd {

std::optional<std::string> send_mail(const Context& ctx, const std::string& to, const std::string& subject,
                                     const std::string& body)
{
    std::string command = ctx.config().get("notify.sendmail");
    if (command.empty() || to.empty())
        return std::nullopt;
    std::vector<std::string> argv;
    for (auto w : split_ws(command))
        argv.emplace_back(w);
    std::string message = fmt::format("From: {} <{}>\nTo: {}\nSubject: {}\nContent-Type: text/plain; charset=utf-8\n\n{}",
                                      ctx.config().get("identity"), ctx.config().get("email"), to, subject, body);
    std::optional<std::string> why;
    try {
        auto r = run(argv, {.input = message, .timeout_seconds = 60});
        if (!r.ok())
            why = fmt::format("{} exited {}: {}", argv.front(), r.status, printable(trim(r.err), 300));
    } catch (const Error& e) {
        why = e.what();
    }
    if (why)
        log::warning("cannot mail '{}' to {}: {}", subject, to, *why);
    else
        log::debug("incoming", "mailed '{}' to {}", subject, to);
    return why;
}

void run_event_hooks(Context& ctx)
{
    auto dir = ctx.home().etc() / "event-hooks";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        return;
    std::vector<std::filesystem::path> hooks;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        auto name = e.path().filename().string();
        if (!name.starts_with(".") && !name.ends_with("~") && e.is_regular_file() &&
            ::access(e.path().c_str(), X_OK) == 0)
            hooks.push_back(e.path());
    }
    if (hooks.empty())
        return;
    std::sort(hooks.begin(), hooks.end());
    auto& db = ctx.db();
    // claim the events not dispatched yet: one process wins each range
    long long from = 0, to = 0;
    {
        db::Transaction tx(db);
        from = std::stoll(db.scalar_text("SELECT value FROM meta WHERE key = 'hooks.last_event'").value_or("0"));
        to = db.scalar_int("SELECT MAX(id) FROM events").value_or(0);
        if (to <= from)
            return;
        db.run("INSERT INTO meta(key, value) VALUES ('hooks.last_event', ?) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               std::to_string(to));
        tx.commit();
    }
    auto events = list_events(db, {.limit = 0});
    std::reverse(events.begin(), events.end()); // oldest first
    for (const auto& e : events) {
        if (e.id <= from || e.id > to)
            continue;
        deb822::Paragraph p;
        p.set("Id", std::to_string(e.id));
        p.set("Time", iso_time(e.time));
        p.set("Type", e.type);
        for (auto [name, value] : {std::pair{"Source", &e.source}, {"Version", &e.version},
                                   {"Distribution", &e.distribution}, {"Architecture", &e.architecture},
                                   {"Detail", &e.detail}})
            if (!value->empty())
                p.set(name, *value);
        p.set("Message", e.message);
        for (const auto& hook : hooks) {
            auto r = run({hook.string(), e.type}, {.cwd = ctx.home().root, .input = p.to_string(), .timeout_seconds = 60});
            if (!r.ok())
                log::warning("event hook '{}' failed for event {} ({}): exit {}", hook.filename().string(), e.id, e.type,
                             r.status);
        }
    }
}

} // namespace mbd
