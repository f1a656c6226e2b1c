// upload/options: per-upload options from the top changelog entry, in
// mini-buildd's own syntax so existing packages keep working:
//
//     * MINI_BUILDD_OPTION: key[arch]=value
//
// Keys: lintian-mode, piuparts-mode, autopkgtest-mode (disabled|ignore|errfail|
// warnfail), internal-apt-priority (integer), auto-ports (comma-separated
// distributions), deb-build-options, deb-build-profiles, add-depends; each may
// carry an [arch] suffix, which overrides the plain key for that architecture.
// The old forms ignore-lintian=BOOL and run-lintian=BOOL are understood.
// Unknown keys, duplicate keys and bad values are Error(Exit::rejected).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::upload {

enum class QaMode { disabled, ignore, errfail, warnfail };
std::string_view to_string(QaMode m);
std::optional<QaMode> parse_qa_mode(std::string_view s);

class Options {
public:
    // changes_text: the .changes "Changes:" field as lines (debian::Changes::changes_text).
    static Options parse(std::string_view changes_text);

    // The value for an architecture: key[arch] if given, else key, else nullopt.
    std::optional<std::string> get(std::string_view key, std::string_view arch = {}) const;

    std::optional<QaMode> lintian_mode(std::string_view arch) const;
    std::optional<QaMode> piuparts_mode(std::string_view arch) const;
    std::optional<QaMode> autopkgtest_mode(std::string_view arch) const;
    std::optional<int> internal_apt_priority(std::string_view arch) const;
    std::vector<std::string> auto_ports() const;

    bool empty() const { return values_.empty(); }
    // "key[arch]=value" lines, sorted, for records and messages.
    std::vector<std::string> lines() const;

private:
    std::map<std::string, std::map<std::string, std::string>> values_; // key -> arch ("" = all) -> value
};

// The lines of the newest changelog entry in a Changes: text (from its header
// "source (version) dist; urgency=..." up to the next header).
std::vector<std::string> top_changelog_entry(std::string_view changes_text);

} // namespace mbd::upload
