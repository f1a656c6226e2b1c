// app/mail: the mail a subscriber gets for an event (events/subscriptions.hpp delivers
// it): what happened, and what to look at — a rejection's REASON, a failed build's last
// log lines with a link to the whole log on the status site (its URL is publish.url's
// parent when publish.url ends in /repositories, as mbd(7)'s web server layout has it).
#pragma once

#include "db/context.hpp"
#include "events/subscriptions.hpp"

namespace mbd::app {

Mail compose_mail(Context& ctx, const Event& e);

// Queue and send the mails of what this command recorded; a failure is a warning only.
void send_event_mail(Context& ctx);

} // namespace mbd::app
