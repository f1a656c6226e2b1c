// core/fault: fault injection for crash tests.
//
// MBD_FAULT=NAME:N makes the process kill itself (SIGKILL, like `kill -9`) at the Nth
// time it passes fault::point("NAME"). Tests use it to stop a writer at every step of
// an operation and check that what it leaves behind is valid. Unset: a no-op.
#pragma once

#include <string_view>

namespace mbd::fault {

void point(std::string_view name);

} // namespace mbd::fault
