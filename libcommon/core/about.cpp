#include "core/about.hpp"

#ifndef MBD_VERSION
#define MBD_VERSION "0.0.0"
#endif

namespace mbd {

const char* version() { return MBD_VERSION; }

} // namespace mbd
