#include "build/failure.hpp"

#include "core/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

namespace mbd::build {
namespace {

constexpr size_t max_items = 5;   // lintian tags, dependency lines
constexpr size_t tail_lines = 3;  // of a failed build's output
constexpr size_t max_length = 400;

struct Log {
    std::map<std::string, std::string, std::less<>> summary;      // "Fail-Stage" -> "build"
    std::map<std::string, std::vector<std::string_view>, std::less<>> sections; // "Build" -> its lines
    std::vector<std::string_view> lintian;                         // the lintian run's output
    std::vector<std::string_view> errors;                          // every "E: " line, in order
};

// sbuild's sections: "+---+" / "| Title   |" / "+---+", then its lines; a subsubsection is
// a title line followed by a line of dashes.
Log parse(std::string_view text)
{
    Log log;
    auto lines = split(text, '\n', false);
    std::string section;
    bool in_lintian = false;
    for (size_t i = 0; i < lines.size(); ++i) {
        auto line = lines[i];
        if (line.starts_with("+---") && i + 2 < lines.size() && lines[i + 1].starts_with("| ") &&
            lines[i + 2].starts_with("+---")) {
            auto title = trim(lines[i + 1]); // "| Build      |"
            section = std::string(trim(title.substr(1, title.size() - 2)));
            in_lintian = false;
            i += 2;
            continue;
        }
        if (line == "lintian" && i + 1 < lines.size() && lines[i + 1].starts_with("-------")) {
            in_lintian = true;
            ++i;
            continue;
        }
        if (in_lintian)
            log.lintian.push_back(line);
        if (section == "Summary") {
            auto colon = line.find(": ");
            if (colon != std::string_view::npos)
                log.summary[std::string(line.substr(0, colon))] = std::string(trim(line.substr(colon + 2)));
        } else {
            log.sections[section].push_back(line);
        }
        if (line.starts_with("E: "))
            log.errors.push_back(line);
    }
    return log;
}

// The first `most` items joined, and how many there are when that is not all.
std::string join(const std::vector<std::string>& items, std::string_view sep, size_t most)
{
    if (items.size() <= most)
        return mbd::join(items, sep);
    return mbd::join({items.begin(), items.begin() + long(most)}, sep) +
           fmt::format("{}… ({} in all)", sep, items.size());
}

void add_once(std::vector<std::string>& items, std::string item)
{
    if (std::find(items.begin(), items.end(), item) == items.end())
        items.push_back(std::move(item));
}

// "E: hello: no-copyright-file" / "E: hello source: tag extra" -> the tags of lines of this
// severity ("E"), each once, in order; prefix goes before each.
std::vector<std::string> tags_of(const Log& log, std::string_view severity, std::string_view prefix)
{
    std::vector<std::string> tags;
    for (auto line : log.lintian) {
        if (!line.starts_with(severity) || !line.substr(severity.size()).starts_with(": "))
            continue;
        auto colon = line.find(": ", severity.size() + 2);
        if (colon == std::string_view::npos)
            continue;
        if (auto words = split_ws(line.substr(colon + 2)); !words.empty())
            add_once(tags, std::string(prefix) + std::string(words.front()));
    }
    return tags;
}

std::string lintian_reason(const Log& log)
{
    auto tags = tags_of(log, "E", "");
    if (tags.empty()) // failed on warnings (warnfail), or lintian itself failed
        tags = tags_of(log, "W", "W: ");
    if (tags.empty())
        return "lintian failed";
    std::string severity = tags.front().starts_with("W: ") ? "" : "E: ";
    return "lintian: " + severity + join(tags, ", ", max_items);
}

// Whether the setup commands installed the build dependencies (build/sbuild.hpp, own_deps).
bool own_deps(const Log& log)
{
    auto it = log.sections.find("Chroot Setup Commands");
    return it != log.sections.end() && std::any_of(it->second.begin(), it->second.end(), [](std::string_view l) {
               return l.starts_with(own_deps_marker);
           });
}

// What apt said was unmet, from the section that installed the build dependencies: sbuild's
// resolver's, or our setup command's (apt-get satisfy names the relations "satisfy:command-line").
std::string dependency_reason(const Log& log, std::string_view section)
{
    constexpr std::string_view satisfy = "satisfy:command-line : ";
    std::vector<std::string> why;
    auto it = log.sections.find(section);
    if (it != log.sections.end()) {
        for (auto line : it->second)
            if (line.find("Depends:") != std::string_view::npos || line.find("Conflicts:") != std::string_view::npos ||
                line.find("Breaks:") != std::string_view::npos || line.starts_with("E: Unable to locate")) {
                auto t = trim(line);
                if (t.starts_with(satisfy))
                    t.remove_prefix(satisfy.size());
                add_once(why, std::string(t));
            }
        if (why.empty())
            for (auto line : it->second)
                if (line.starts_with("E: "))
                    add_once(why, std::string(trim(line)));
    }
    return "dependency installation failed" + (why.empty() ? "" : ": " + join(why, "; ", max_items));
}

// autopkgtest's summary: "command1             FAIL non-zero exit status 1"
std::string autopkgtest_reason(const Log& log)
{
    std::vector<std::string> failed;
    for (const auto& [name, lines] : log.sections)
        for (auto line : lines)
            if (auto words = split_ws(line); words.size() >= 2 && (words[1] == "FAIL" || words[1] == "ERROR"))
                add_once(failed, std::string(trim(line)));
    return "autopkgtest failed" + (failed.empty() ? "" : ": " + join(failed, "; ", max_items));
}

bool sbuild_line(std::string_view line)
{
    return line.empty() || line.starts_with("-----") || line.starts_with("Build finished at") ||
           line.starts_with("E: Build failure") || line.starts_with("dpkg-buildpackage: info:") ||
           line.starts_with("I: ");
}

std::string build_reason(const Log& log)
{
    std::vector<std::string> tail;
    auto it = log.sections.find("Build");
    if (it == log.sections.end())
        return "build failed";
    // the build's own output ends where sbuild writes "Build finished at"
    const auto& lines = it->second;
    auto end = std::find_if(lines.rbegin(), lines.rend(),
                            [](std::string_view l) { return l.starts_with("Build finished at"); });
    for (auto l = end == lines.rend() ? lines.rbegin() : end; l != lines.rend() && tail.size() < tail_lines; ++l)
        if (auto t = trim(*l); !sbuild_line(t))
            tail.insert(tail.begin(), std::string(t));
    return "build failed" + (tail.empty() ? "" : ": " + join(tail, " | ", tail_lines));
}

std::string shorten(std::string s)
{
    if (s.size() <= max_length)
        return s;
    size_t cut = max_length;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) // not inside a UTF-8 character
        --cut;
    return s.substr(0, cut) + "…";
}

} // namespace

std::vector<std::string> lintian_tags(std::string_view text)
{
    auto log = parse(text);
    std::vector<std::string> all;
    for (auto severity : {"E", "W", "I", "P", "X"})
        for (auto& tag : tags_of(log, severity, std::string(severity) + ": "))
            all.push_back(std::move(tag));
    return all;
}

std::string failure_reason(std::string_view text)
{
    auto log = parse(text);
    auto get = [&](std::string_view key) {
        auto it = log.summary.find(key);
        return it == log.summary.end() ? std::string() : it->second;
    };
    std::string stage = get("Fail-Stage"), status = get("Status");
    // (lintian exits 1 on a policy violation, 2 when --fail-on found one: "fail", "error")
    bool lintian = get("Lintian") == "fail" || get("Lintian") == "error";
    if ((stage.empty() || stage == "post-build") && lintian)
        return shorten(lintian_reason(log));
    if ((stage.empty() || stage == "post-build") && get("Autopkgtest") == "fail")
        return shorten(autopkgtest_reason(log));
    if (stage == "install-deps" || stage == "explain-bd-uninstallable")
        return shorten(dependency_reason(log, "Install package build dependencies"));
    if (stage == "run-chroot-setup-commands" && own_deps(log))
        return shorten(dependency_reason(log, "Chroot Setup Commands"));
    if (stage == "build")
        return shorten(build_reason(log));
    // sbuild's last "E: " line, as ": what it said"
    std::string last_error = log.errors.empty() ? "" : ": " + std::string(trim(log.errors.back().substr(3)));
    if (!stage.empty())
        return shorten(fmt::format("sbuild stage '{}' failed{}", stage, last_error));
    if (status.empty() || status == "successful")
        return {};
    return shorten(fmt::format("sbuild: {}{}", status, last_error));
}

} // namespace mbd::build
