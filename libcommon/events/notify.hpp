// events/notify: what mbd tells people and scripts about events.
//
// Mail: through the local sendmail command of notify.sendmail (off when empty),
// only to addresses taken from signed uploads. Event hooks: every executable in
// $MBD_HOME/etc/event-hooks/ runs for each new event, after the tool that
// recorded it has finished its work (never inside a transaction), with the event
// type as its argument and the event as a deb822 paragraph on its standard input.
#pragma once

#include "db/context.hpp"

#include <optional>
#include <string>

namespace mbd {

// Failures are logged as warnings: a notification never fails the work it reports.
// Returns why sendmail did not take the mail (nullopt: taken, or mail is off).
std::optional<std::string> send_mail(const Context& ctx, const std::string& to, const std::string& subject,
                                     const std::string& body);

// Run the hooks for every event recorded since the last dispatch (any process may
// call it; each event is dispatched once).
void run_event_hooks(Context& ctx);

} // namespace mbd
