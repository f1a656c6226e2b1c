#include "app/entry.hpp"

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "db/db.hpp"
#include "db/schema.hpp"
#include "app/mail.hpp"
#include "events/notify.hpp"
#include "site/site.hpp"

#include <cstdio>
#include <iostream>
#include <new>

namespace mbd {

CLI::App* Cli::command(const std::string& name, const std::string& description, Handler handler)
{
    return command(&app_, name, description, std::move(handler));
}

CLI::App* Cli::command(CLI::App* parent, const std::string& name, const std::string& description, Handler handler)
{
    CLI::App* sub = parent->add_subcommand(name, description);
    handlers_[sub] = std::move(handler);
    // mbd-repo says ls, the other tools list: each answers to both, everywhere
    if (name == "ls")
        sub->alias("list");
    else if (name == "list")
        sub->alias("ls");
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

CLI::Validator name_of(const names::Kind& kind)
{
    return CLI::Validator([&kind](std::string& value) { return names::problem(kind, value).value_or(""); }, "");
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

// "TOOL --describe-cli" (hidden, only as the sole argument): the command line
// as JSON, for the man pages and shell completions generated at build time
// (scripts/gen-cli-docs). Hidden options and subcommands (empty group) are left out.
Json describe_options(const CLI::App* app, bool positional)
{
    Json list = Json::array();
    for (const CLI::Option* o : app->get_options()) {
        if (o->get_group().empty() || o->get_positional() != positional)
            continue;
        Json j = Json::object();
        if (positional) {
            j.set("name", o->get_name(true));
        } else {
            Json names = Json::array();
            for (const auto& s : o->get_snames())
                names.push("-" + s);
            for (const auto& l : o->get_lnames())
                names.push("--" + l);
            j.set("names", std::move(names));
        }
        bool flag = o->get_expected_max() == 0;
        j.set("value", flag ? Json() : Json(o->get_type_name()));
        j.set("repeatable", flag ? o->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll
                                 : o->get_expected_max() > 1);
        j.set("required", o->get_required());
        j.set("default", o->get_default_str());
        j.set("description", o->get_description());
        list.push(std::move(j));
    }
    return list;
}

Json describe_app(const CLI::App* app, const Cli& cli)
{
    Json j = Json::object();
    j.set("name", app->get_name());
    j.set("description", app->get_description());
    auto subs = app->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
    j.set("kind", app->get_parent() == nullptr ? "tool" : cli.handler_for(app) ? "command" : "group");
    j.set("options", describe_options(app, false));
    j.set("positionals", describe_options(app, true));
    Json children = Json::array();
    for (const CLI::App* sub : subs)
        children.push(describe_app(sub, cli));
    j.set("subcommands", std::move(children));
    return j;
}

std::string describe_cli(const CLI::App& app, const Cli& cli)
{
    Json j = describe_app(&app, cli);
    j.set("version", version());
    Json codes = Json::array();
    for (auto e = exit_table_begin(); e != exit_table_end(); ++e)
        codes.push(Json::object().set("code", int(e->code)).set("name", e->name).set("meaning", e->meaning));
    j.set("exit_codes", std::move(codes));
    Json keys = Json::array();
    for (const auto& k : Config::keys())
        keys.push(Json::object()
                      .set("name", k.name)
                      .set("env", Config::env_name(k.name))
                      .set("default", k.default_value())
                      .set("description", k.description));
    j.set("config", std::move(keys));
    return j.dump() + "\n";
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

    if (argc == 2 && std::string_view(argv[1]) == "--describe-cli") {
        std::cout << describe_cli(app, cli);
        return 0;
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
        if (std::filesystem::path file = ctx.config().get("log.file"); !file.empty())
            log::set_file(ctx.home().root / file); // an absolute file replaces the home

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
        // What was recorded, also before a failure, is reported to the hooks and the site.
        auto after = [&ctx] {
            if (!ctx.db_opened())
                return;
            run_event_hooks(ctx);
            app::send_event_mail(ctx);
            if (ctx.db().total_changes() > 0)
                site::refresh(ctx);
        };
        try {
            (*handler)(ctx);
        } catch (...) {
            after();
            throw;
        }
        after();
        std::cout.flush();
        if (!std::cout)
            return report("cannot write to standard output", Exit::failed);
        return 0;
    } catch (const ExitWith& e) {
        return e.status;
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
