// repo/cli: the command line of mbd-repo (its subcommands and options), kept here so
// that tools/mbd-repo/main.cpp stays a few lines; every handler calls one function
// of repo/ or archive/ and prints its result (text, or --json).
#pragma once

#include "core/entry.hpp"

namespace mbd::repo {

void define_cli(Cli& cli);

} // namespace mbd::repo
