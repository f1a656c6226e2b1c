// app/entry: the one entry wrapper every tool's main() uses.
//
//   int main(int argc, char** argv) {
//       return mbd::run_tool(argc, argv, {"mbd-repo", "manage APT repositories"},
//                            [](mbd::Cli& cli) { ... cli.command("ls", ...); });
//   }
//
// It builds the CLI11 app with the common options (-o, --home, --log,
// --show-config, --version), lets the tool declare its subcommands, parses,
// loads the configuration, runs the chosen subcommand's handler, and turns every
// exception into "mbd-X: E: message" on stderr and an exit code from
// core/error.hpp. CLI11's own exit codes never leak.
#pragma once

#include "core/about.hpp"
#include "db/context.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace mbd {

namespace names {
struct Kind;
}

// What a subcommand handler gets: configuration, home, the state database (db/context.hpp).
using Handler = std::function<void(Context&)>;

struct ToolInfo {
    std::string name;        // "mbd-repo"
    std::string description; // one line, lowercase
};

class Cli {
public:
    explicit Cli(CLI::App& app) : app_(app) {}
    CLI::App& app() { return app_; }

    // A subcommand with a handler, under the root or under a group. A command named
    // "ls" also answers to "list", and "list" to "ls".
    CLI::App* command(const std::string& name, const std::string& description, Handler handler);
    CLI::App* command(CLI::App* parent, const std::string& name, const std::string& description, Handler handler);
    // A group of subcommands ("uploader add|list|..."); it has no handler itself.
    CLI::App* group(const std::string& name, const std::string& description);
    CLI::App* group(CLI::App* parent, const std::string& name, const std::string& description);

    const Handler* handler_for(const CLI::App* app) const;

private:
    CLI::App& app_;
    std::map<const CLI::App*, Handler> handlers_;
};

// An argument that names something (a build, a repository, a chroot...) is checked
// against its kind's grammar (core/names.hpp) when the command line is parsed:
// anything else is a usage error (exit 2) before the handler touches anything.
//   c->add_option("id", id, "build id")->required()->check(name_of(names::build_ref));
CLI::Validator name_of(const names::Kind& kind);

int run_tool(int argc, char** argv, const ToolInfo& info, const std::function<void(Cli&)>& define);


} // namespace mbd
