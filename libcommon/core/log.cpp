#include "core/log.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <bitset>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <unistd.h>

namespace mbd::log {
namespace {

const std::vector<std::string_view> known = {
    "config", "db", "gpg", "deb822", "cmd", "lock", "archive", "publish",
    "incoming", "build", "chroot", "remote", "fault", "repo", "wake",
};

struct State {
    std::string program = "mbd";
    std::bitset<64> on;
    bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    std::string file_path; // opened on the first line, so a home made by then can take it
    std::FILE* file = nullptr;
    std::mutex mutex;
};

State& state()
{
    static State s;
    return s;
}

int index_of(std::string_view category)
{
    auto it = std::find(known.begin(), known.end(), category);
    return it == known.end() ? -1 : int(it - known.begin());
}

char letter(Level level)
{
    switch (level) {
    case Level::error: return 'E';
    case Level::warning: return 'W';
    case Level::notice: return 'N';
    case Level::info: return 'I';
    case Level::debug: return 'D';
    }
    return '?';
}

} // namespace

const std::vector<std::string_view>& categories() { return known; }

void set_program(std::string name) { state().program = std::move(name); }
const std::string& program() { return state().program; }

void enable(std::string_view list)
{
    auto& s = state();
    s.on.reset();
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ')
            item.remove_suffix(1);
        if (item.empty())
            continue;
        if (item == "all") {
            for (size_t i = 0; i < known.size(); ++i)
                s.on.set(i);
            continue;
        }
        int i = index_of(item);
        if (i < 0)
            throw fail(Exit::config, "unknown log category '{}' (known: all, {})", item,
                       fmt::join(known, ", "));
        s.on.set(size_t(i));
    }
}

bool enabled(std::string_view category) noexcept
{
    int i = index_of(category);
    return i >= 0 && state().on.test(size_t(i));
}

void set_file(const std::string& path)
{
    auto& s = state();
    std::lock_guard lock(s.mutex);
    if (s.file)
        std::fclose(s.file);
    s.file = nullptr;
    s.file_path = path;
}

void write(Level level, std::string_view category, std::string_view message)
{
    auto& s = state();
    std::string line;
    if (category.empty())
        line = fmt::format("{}: {}: {}\n", s.program, letter(level), message);
    else
        line = fmt::format("{}: {}: [{}] {}\n", s.program, letter(level), category, message);
    std::lock_guard lock(s.mutex);
    if (s.journal)
        std::fprintf(stderr, "<%d>%s", int(level), line.c_str());
    else
        std::fputs(line.c_str(), stderr);
    if (!s.file && !s.file_path.empty()) {
        s.file = std::fopen(s.file_path.c_str(), "ae"); // not writable: stderr/journald only
        if (!s.file)
            s.file_path.clear();
    }
    if (s.file) {
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        std::fprintf(s.file, "%s [%d] %s", stamp, int(getpid()), line.c_str());
        std::fflush(s.file);
    }
}

} // namespace mbd::log
