// core/log: diagnostics on stderr, and debug logging by category (off by default).
//
// Every line is "PROGRAM: X: message" where X is E (error), W (warning), N (notice),
// I (info) or D (debug, with its category). Under systemd (JOURNAL_STREAM set) each
// line gets a "<N>" syslog priority prefix so journald files it at the right level.
// Debug output of a category costs one lookup when disabled: nothing is formatted.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

namespace mbd::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// The known debug categories (for --help, config validation and docs).
const std::vector<std::string_view>& categories();

void set_program(std::string name);
const std::string& program();

// Enable categories from a comma-separated list ("db,gpg", "all", "" = none).
// An unknown category is an Error(Exit::config).
void enable(std::string_view list);
bool enabled(std::string_view category) noexcept;

// Also append every line (with a timestamp) to this file, opened on the first
// line; "" turns it off. A file that cannot be opened is silently skipped.
void set_file(const std::string& path);

void write(Level level, std::string_view category, std::string_view message);

template <typename... Args>
void debug(std::string_view category, fmt::format_string<Args...> f, Args&&... args)
{
    if (enabled(category))
        write(Level::debug, category, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args)
{
    write(Level::info, {}, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void notice(fmt::format_string<Args...> f, Args&&... args)
{
    write(Level::notice, {}, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warning(fmt::format_string<Args...> f, Args&&... args)
{
    write(Level::warning, {}, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args)
{
    write(Level::error, {}, fmt::format(f, std::forward<Args>(args)...));
}

} // namespace mbd::log
