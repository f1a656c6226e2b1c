// core/about: what this build of mbd is.
#pragma once

namespace mbd {

// The version string of this build ("0.1.0").
const char* version();

} // namespace mbd
