#include "events/subscriptions.hpp"

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "events/notify.hpp"

#include <algorithm>

namespace mbd {
namespace {

Subscription subscription_of(db::Stmt& r)
{
    Subscription s{r.int64(0), r.text(1), r.text(2), r.text(3), {}, r.int64(5)};
    std::string events = r.text(4);
    for (auto w : split_ws(events))
        s.events.emplace_back(w);
    return s;
}

constexpr std::string_view columns = "id, address, source, repository, events, created";

// 'bookworm-test-unstable' -> 'test'
std::string repository_of(std::string_view distribution)
{
    auto parts = split(distribution, '-');
    return parts.size() >= 3 ? std::string(parts[1]) : std::string();
}

} // namespace

const std::vector<std::string>& default_mail_events()
{
    static const std::vector<std::string> events{"INSTALLED", "FAILED", "REJECTED"};
    return events;
}

Subscription subscribe(db::Db& db, const Subscription& in)
{
    Subscription s = in;
    if (auto why = email_problem(s.address); why || s.address.find_first_of(" \t\r\n<>,;\"'\\") != std::string::npos)
        throw fail(Exit::usage, "'{}' is not a mail address: {}", printable(s.address, 100),
                   why.value_or("it holds a character an address cannot have"));
    if (!s.source.empty())
        names::check(names::package, s.source);
    if (!s.repository.empty())
        names::check(names::repository, s.repository);
    if (s.events.empty())
        s.events = default_mail_events();
    for (auto& e : s.events)
        std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    for (const auto& e : s.events)
        if (e.empty() || e.size() > 32 || !std::all_of(e.begin(), e.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }))
            throw fail(Exit::usage, "'{}' is not an event type (INSTALLED, FAILED, REJECTED, BUILT, ...)",
                       printable(e, 40));
    db::Transaction tx(db);
    db.run("INSERT INTO subscriptions(address, source, repository, events, created) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT(address, source, repository) DO UPDATE SET events = excluded.events",
           s.address, s.source, s.repository, join(s.events, " "), now_seconds());
    tx.commit();
    auto r = db.query(fmt::format("SELECT {} FROM subscriptions WHERE address = ? AND source = ? AND repository = ?",
                                  columns),
                      s.address, s.source, s.repository);
    r.step();
    return subscription_of(r);
}

void unsubscribe(db::Db& db, std::string_view address, std::string_view source, std::string_view repository)
{
    db::Transaction tx(db);
    db.run("DELETE FROM subscriptions WHERE address = ? AND source = ? AND repository = ?", address, source, repository);
    if (db.changes() == 0)
        throw fail(Exit::not_found, "no subscription of '{}'{}{}", printable(address, 100),
                   source.empty() ? "" : fmt::format(" to source '{}'", source),
                   repository.empty() ? "" : fmt::format(" in repository '{}'", repository));
    tx.commit();
}

std::vector<Subscription> list_subscriptions(db::Db& db)
{
    std::vector<Subscription> out;
    auto r = db.query(fmt::format("SELECT {} FROM subscriptions ORDER BY address, repository, source", columns));
    while (r.step())
        out.push_back(subscription_of(r));
    return out;
}

bool matches(const Subscription& s, const Event& e)
{
    return std::find(s.events.begin(), s.events.end(), e.type) != s.events.end() &&
           (s.source.empty() || s.source == e.source) &&
           (s.repository.empty() || s.repository == repository_of(e.distribution));
}

Json to_json(const Subscription& s)
{
    Json events = Json::array();
    for (const auto& e : s.events)
        events.push(e);
    return Json::object()
        .set("address", s.address)
        .set("source", s.source.empty() ? Json() : Json(s.source))
        .set("repository", s.repository.empty() ? Json() : Json(s.repository))
        .set("events", events)
        .set("created", iso_time(s.created));
}

long long mails_waiting(db::Db& db) { return db.scalar_int("SELECT COUNT(*) FROM mail_outbox").value_or(0); }

MailReport dispatch_mail(Context& ctx, const std::function<Mail(const Event&)>& compose)
{
    MailReport report;
    auto& db = ctx.db();
    // Claim the events since the last run (one process wins each range) and queue their mails.
    {
        db::Transaction tx(db);
        long long from = std::stoll(db.scalar_text("SELECT value FROM meta WHERE key = 'mail.last_event'").value_or("-1"));
        long long to = db.scalar_int("SELECT MAX(id) FROM events").value_or(0);
        if (from < 0) // (the first run: nothing before it is mailed)
            from = to;
        if (to > from) {
            db.run("INSERT INTO meta(key, value) VALUES ('mail.last_event', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   std::to_string(to));
            auto subscriptions = list_subscriptions(db);
            if (!subscriptions.empty() && !ctx.config().get("notify.sendmail").empty())
                for (const auto& e : [&] {
                         auto events = list_events(db, {.after = from, .limit = 0});
                         std::reverse(events.begin(), events.end()); // oldest first
                         return events;
                     }()) {
                    if (e.id > to)
                        continue;
                    std::vector<std::string> to_addresses;
                    for (const auto& s : subscriptions)
                        if (matches(s, e) && std::find(to_addresses.begin(), to_addresses.end(), s.address) ==
                                                 to_addresses.end())
                            to_addresses.push_back(s.address);
                    if (to_addresses.empty())
                        continue;
                    Mail m = compose(e);
                    for (const auto& a : to_addresses) {
                        db.run("INSERT OR IGNORE INTO mail_outbox(event_id, address, subject, body) VALUES (?, ?, ?, ?)",
                               e.id, a, m.subject, m.body);
                        ++report.queued;
                    }
                }
        } else if (!db.scalar_text("SELECT value FROM meta WHERE key = 'mail.last_event'")) {
            db.run("INSERT INTO meta(key, value) VALUES ('mail.last_event', ?)", std::to_string(to));
        }
        tx.commit();
    }
    if (mails_waiting(db) == 0)
        return report;
    // Send, one process at a time (another one sending now sends these too).
    std::error_code ec;
    std::filesystem::create_directories(ctx.home().locks(), ec);
    auto lock = FileLock::try_lock(ctx.home().locks() / "mail.lock");
    if (!lock)
        return report;
    struct Row {
        long long id;
        std::string address, subject, body;
    };
    std::vector<Row> rows;
    {
        auto r = db.query("SELECT id, address, subject, body FROM mail_outbox ORDER BY id");
        while (r.step())
            rows.push_back({r.int64(0), r.text(1), r.text(2), r.text(3)});
    }
    for (const auto& row : rows) {
        auto why = ctx.config().get("notify.sendmail").empty()
                       ? std::optional<std::string>("notify.sendmail is not set")
                       : send_mail(ctx, row.address, row.subject, row.body);
        db::Transaction tx(db);
        if (why) {
            db.run("UPDATE mail_outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", *why, row.id);
            ++report.failed;
        } else {
            db.run("DELETE FROM mail_outbox WHERE id = ?", row.id);
            ++report.sent;
        }
        tx.commit();
    }
    report.waiting = mails_waiting(db);
    return report;
}

} // namespace mbd
