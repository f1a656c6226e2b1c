// events/subscriptions: who is told about which events by mail (the seed's notify
// addresses of a repository, and a user's subscriptions to a source), and delivery:
//
//   - a subscription is an address with an optional source and repository (empty: any)
//     and the event types it wants (default INSTALLED FAILED REJECTED);
//   - dispatch_mail(), run by every tool after its work is committed (app/entry, never
//     inside a transaction or under a repository lock), claims the events recorded since
//     its last run, puts one mail per matching address into the outbox (one transaction),
//     then hands the outbox to notify.sendmail, one mail per run of it. A mail sendmail
//     refuses stays in the outbox with the error and is tried again by the next command,
//     so nothing is lost and nothing waits for it.
// The event's repository is the ID of its distribution's name (CODENAME-ID-SUITE...).
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"
#include "events/events.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd {

struct Subscription {
    long long id = 0;
    std::string address, source, repository;
    std::vector<std::string> events;
    long long created = 0;
};

// The event types a subscription without --events gets.
const std::vector<std::string>& default_mail_events();

// Adds, or replaces the event types of, the subscription of address to source/repository.
Subscription subscribe(db::Db& db, const Subscription& s);
// Error(Exit::not_found) when there is no such subscription.
void unsubscribe(db::Db& db, std::string_view address, std::string_view source, std::string_view repository);
std::vector<Subscription> list_subscriptions(db::Db& db);
bool matches(const Subscription& s, const Event& e);
Json to_json(const Subscription& s);

struct Mail {
    std::string subject, body;
};
struct MailReport {
    long long queued = 0, sent = 0, failed = 0, waiting = 0;
};
// Queue the mails of the events since the last call (compose writes each event's mail),
// then send what the outbox holds. Never throws for a mail that cannot be sent.
MailReport dispatch_mail(Context& ctx, const std::function<Mail(const Event&)>& compose);
// Mails waiting in the outbox.
long long mails_waiting(db::Db& db);

} // namespace mbd
