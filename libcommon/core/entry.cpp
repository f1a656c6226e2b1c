#include "core/entry.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "db/db.hpp"
#include "db/schema.hpp"

#include <cstdio>
#include <iostream>
#include <new>

#ifndef MBD_VERSION
#define MBD_VERSION "0.0.0"
#endif

namespace mbd {

const char* version() { return MBD_VERSION; }

Context::Context(Config config) : config_(std::move(config)), home_{config_.home()} {}
Context::~Context() = default;

db::Db& Context::db()
{
    if (!db_) {
        home_.ensure();
        db_ = std::make_unique<db::Db>(db::Db::open(home_.db(), int(config_.get_int("db.busy_timeout"))));
    }
    return *db_;
}

CLI::App* Cli::command(const std::string& name, const std::string& description, Handler handler)
{
    return command(&app_, name, description, std::move(handler));
}

CLI::App* Cli::command(CLI::App* parent, const std::string& name, const std::string& description, Handler handler)
{
    CLI::App* sub = parent->add_subcommand(name, description);
    handlers_[sub] = std::move(handler);
    return sub;
}

CLI::App* Cli::group(const std::string& name, const std::string& description)
{
    return group(&app_, name, description);
}

CLI::App* Cli::group(CLI::App* parent, const std::string& name, const std::string& description)
{
    CLI::App* sub = parent->add_subcommand(name, description);
    sub->require_subcommand(1);
    return sub;
}

const Handler* Cli::handler_for(const CLI::App* app) const
{
    auto it = handlers_.find(app);
    return it == handlers_.end() ? nullptr : &it->second;
}

namespace {

std::string exit_codes_footer()
{
    std::string s = "Exit codes:";
    for (auto e = exit_table_begin(); e != exit_table_end(); ++e)
        s += fmt::format(" {} {}{}", int(e->code), e->name, e + 1 == exit_table_end() ? "" : ",");
    return s;
}

// The deepest subcommand that was given on the command line.
CLI::App* chosen(CLI::App* app)
{
    for (CLI::App* sub : app->get_subcommands())
        return chosen(sub);
    return app;
}

int report(const std::string& message, Exit code)
{
    log::write(log::Level::error, {}, message);
    return static_cast<int>(code);
}

} // namespace

int run_tool(int argc, char** argv, const ToolInfo& info, const std::function<void(Cli&)>& define)
{
    log::set_program(info.name);
    CLI::App app(info.description, info.name);
    Cli cli(app);
    std::vector<std::string> options;
    std::string home, log_categories;
    bool show_config = false;

    try {
        app.set_version_flag("--version", fmt::format("{} {} (schema: {})", info.name, version(),
                                                      db::schema_summary()));
        app.set_help_all_flag("--help-all", "show help for every subcommand");
        app.add_option("-o,--option", options, "set a configuration KEY=VALUE (repeatable; see --show-config)")
            ->type_name("KEY=VALUE")
            ->allow_extra_args(false);
        app.add_option("--home", home, "the instance home (configuration key 'home', env MBD_HOME)")
            ->type_name("DIR");
        app.add_option("--log", log_categories,
                       fmt::format("debug log categories, comma-separated: all, {}", fmt::join(log::categories(), ", ")))
            ->type_name("CATEGORIES");
        app.add_flag("--show-config", show_config, "print every configuration value and where it came from");
        app.footer(exit_codes_footer());
        app.fallthrough();
        app.require_subcommand(0, 1);
        define(cli);
    } catch (const std::exception& e) {
        return report(fmt::format("internal error while defining the command line: {}", e.what()), Exit::failed);
    }

    CLI::App* leaf = nullptr;
    try {
        app.parse(argc, argv);
        leaf = chosen(&app);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        std::cout << app.help("", CLI::AppFormatMode::All);
        return 0;
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << "\n";
        return 0;
    } catch (const CLI::ParseError& e) {
        // CLI11 throws help requests of subcommands as CallForHelp too (above);
        // everything else is a usage error with our own exit code.
        return report(fmt::format("{} (see '{} --help')", e.what(), info.name), Exit::usage);
    }

    try {
        Config::Sources sources;
        sources.options = options;
        if (!home.empty())
            sources.flags.emplace_back("home", home);
        if (!log_categories.empty())
            sources.flags.emplace_back("log", log_categories);
        log::enable(log_categories); // early, so config loading can be traced
        Context ctx(Config::load(sources));
        log::enable(ctx.config().get("log"));
        log::set_file(ctx.config().get("log.file"));

        if (show_config) {
            std::cout << ctx.config().show();
            return 0;
        }
        if (leaf == &app)
            return report(fmt::format("no command given (see '{} --help')", info.name), Exit::usage);
        const Handler* handler = cli.handler_for(leaf);
        if (!handler)
            return report(fmt::format("'{}' needs a subcommand (see '{} --help')", leaf->get_name(), info.name),
                          Exit::usage);
        (*handler)(ctx);
        std::cout.flush();
        if (!std::cout)
            return report("cannot write to standard output", Exit::failed);
        return 0;
    } catch (const Error& e) {
        return report(e.what(), e.code());
    } catch (const std::filesystem::filesystem_error& e) {
        return report(sys_error(e.code().value(), e.what()).what(), sys_error(e.code().value(), "").code());
    } catch (const std::bad_alloc&) {
        return report("out of memory", Exit::failed);
    } catch (const std::exception& e) {
        return report(fmt::format("internal error: {}", e.what()), Exit::failed);
    } catch (...) {
        return report("internal error: unknown exception", Exit::failed);
    }
}

} // namespace mbd
