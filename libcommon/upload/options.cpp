#include "upload/options.hpp"

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"

#include <algorithm>
#include <set>

namespace mbd::upload {
namespace {

constexpr std::string_view marker = "MINI_BUILDD_OPTION:";

const std::set<std::string, std::less<>> qa_keys = {"lintian-mode", "piuparts-mode", "autopkgtest-mode"};
const std::set<std::string, std::less<>> text_keys = {"deb-build-options", "deb-build-profiles", "add-depends"};

bool header_line(std::string_view line)
{
    // "name (version) dist...; urgency=..." starts at column 0 with a package name
    if (line.empty() || line.front() == ' ' || line.front() == '\t')
        return false;
    auto paren = line.find(" (");
    return paren != std::string_view::npos && line.find(')', paren) != std::string_view::npos;
}

} // namespace

std::string_view to_string(QaMode m)
{
    switch (m) {
    case QaMode::disabled: return "disabled";
    case QaMode::ignore: return "ignore";
    case QaMode::errfail: return "errfail";
    case QaMode::warnfail: return "warnfail";
    }
    return "?";
}

std::optional<QaMode> parse_qa_mode(std::string_view s)
{
    for (auto m : {QaMode::disabled, QaMode::ignore, QaMode::errfail, QaMode::warnfail})
        if (to_string(m) == s)
            return m;
    return std::nullopt;
}

std::vector<std::string> top_changelog_entry(std::string_view changes_text)
{
    std::vector<std::string> out;
    bool in_entry = false;
    for (auto line : split(changes_text, '\n', false)) {
        if (header_line(line)) {
            if (in_entry)
                break;
            in_entry = true;
        }
        if (in_entry)
            out.emplace_back(line);
    }
    return out;
}

Options Options::parse(std::string_view changes_text)
{
    Options o;
    for (const auto& raw : top_changelog_entry(changes_text)) {
        std::string_view line = trim(raw);
        if (!starts_with(line, "*"))
            continue;
        line = trim(line.substr(1));
        if (!starts_with(line, marker))
            continue;
        std::string_view spec = trim(line.substr(marker.size()));
        auto eq = spec.find('=');
        if (eq == std::string_view::npos)
            throw fail(Exit::rejected, "upload option '{}' is not of the form key=value", spec);
        std::string_view key = trim(spec.substr(0, eq));
        std::string value(trim(spec.substr(eq + 1)));
        std::string arch;
        if (auto open = key.find('['); open != std::string_view::npos) {
            if (!key.ends_with(']'))
                throw fail(Exit::rejected, "upload option '{}': malformed [arch] suffix", key);
            arch = std::string(key.substr(open + 1, key.size() - open - 2));
            key = key.substr(0, open);
            if (auto why = names::problem(names::architecture, arch))
                throw fail(Exit::rejected, "upload option '{}': {}", key, *why);
        }
        std::string name(key);
        // the old boolean forms map onto lintian-mode
        if (name == "ignore-lintian" || name == "run-lintian") {
            auto b = parse_bool(value);
            if (!b)
                throw fail(Exit::rejected, "upload option '{}' wants true or false, not '{}'", name, value);
            if (name == "ignore-lintian")
                value = *b ? "ignore" : "errfail";
            else
                value = *b ? "errfail" : "disabled";
            name = "lintian-mode";
        }
        if (qa_keys.count(name)) {
            if (!parse_qa_mode(value))
                throw fail(Exit::rejected, "upload option '{}' wants disabled, ignore, errfail or warnfail, not '{}'",
                           name, value);
        } else if (name == "internal-apt-priority") {
            auto v = parse_int(value);
            if (!v || *v < -32768 || *v > 32767)
                throw fail(Exit::rejected, "upload option 'internal-apt-priority' wants an integer, not '{}'", value);
        } else if (name == "auto-ports") {
            if (!arch.empty())
                throw fail(Exit::rejected, "upload option 'auto-ports' takes no [arch] suffix");
            for (auto d : split(value, ','))
                if (auto why = names::problem(names::distribution, d))
                    throw fail(Exit::rejected, "upload option 'auto-ports': {}", *why);
        } else if (!text_keys.count(name)) {
            throw fail(Exit::rejected, "unknown upload option '{}'", name);
        }
        auto& slot = o.values_[name];
        if (slot.count(arch))
            throw fail(Exit::rejected, "upload option '{}{}' given twice", name, arch.empty() ? "" : "[" + arch + "]");
        slot[arch] = value;
    }
    return o;
}

std::optional<std::string> Options::get(std::string_view key, std::string_view arch) const
{
    auto it = values_.find(std::string(key));
    if (it == values_.end())
        return std::nullopt;
    if (!arch.empty())
        if (auto a = it->second.find(std::string(arch)); a != it->second.end())
            return a->second;
    if (auto d = it->second.find(""); d != it->second.end())
        return d->second;
    return std::nullopt;
}

std::optional<QaMode> Options::lintian_mode(std::string_view arch) const
{
    auto v = get("lintian-mode", arch);
    return v ? parse_qa_mode(*v) : std::nullopt;
}

std::optional<QaMode> Options::piuparts_mode(std::string_view arch) const
{
    auto v = get("piuparts-mode", arch);
    return v ? parse_qa_mode(*v) : std::nullopt;
}

std::optional<QaMode> Options::autopkgtest_mode(std::string_view arch) const
{
    auto v = get("autopkgtest-mode", arch);
    return v ? parse_qa_mode(*v) : std::nullopt;
}

std::optional<int> Options::internal_apt_priority(std::string_view arch) const
{
    auto v = get("internal-apt-priority", arch);
    return v ? std::optional<int>(int(*parse_int(*v))) : std::nullopt;
}

std::vector<std::string> Options::auto_ports() const
{
    std::vector<std::string> out;
    if (auto v = get("auto-ports"))
        for (auto d : split(*v, ','))
            out.emplace_back(d);
    return out;
}

std::vector<std::string> Options::lines() const
{
    std::vector<std::string> out;
    for (const auto& [key, per_arch] : values_)
        for (const auto& [arch, value] : per_arch)
            out.push_back(key + (arch.empty() ? "" : "[" + arch + "]") + "=" + value);
    return out;
}

} // namespace mbd::upload
