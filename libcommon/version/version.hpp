// version: Debian version numbers, parsed and ordered exactly as dpkg does
// (deb-version(7), Debian Policy 5.6.12): [epoch:]upstream[-revision], with
// '~' sorting before everything, letters before non-letters, digit runs
// compared numerically. A test checks the ordering against dpkg --compare-versions.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace mbd {

class Version {
public:
    // Throws Error(Exit::rejected) naming what is wrong ("invalid character in revision").
    static Version parse(std::string_view text);
    // The reason text is invalid, or nullopt when it is valid.
    static std::optional<std::string> invalid_reason(std::string_view text);

    unsigned long epoch() const { return epoch_; }
    const std::string& upstream() const { return upstream_; }
    const std::string& revision() const { return revision_; }
    bool native() const { return !has_revision_; }
    // The version as given (canonical enough for file names: without epoch).
    const std::string& str() const { return text_; }
    std::string without_epoch() const;

    friend int compare(const Version& a, const Version& b);
    friend bool operator==(const Version& a, const Version& b) { return compare(a, b) == 0; }
    friend std::strong_ordering operator<=>(const Version& a, const Version& b)
    {
        return compare(a, b) <=> 0;
    }

private:
    std::string text_, upstream_, revision_;
    unsigned long epoch_ = 0;
    bool has_revision_ = false;
};

// dpkg's verrevcmp on one part (upstream or revision): <0, 0, >0.
int compare_part(std::string_view a, std::string_view b);

// Convenience for text versions (throws on invalid input).
int compare_versions(std::string_view a, std::string_view b);

} // namespace mbd
