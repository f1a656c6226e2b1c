// site/html: the pieces of the status site's pages: escaping, tables, links, and the page
// frame (a template the admin may override with HOME/etc/site/page.html).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::site {

// Text for HTML element content and attribute values: & < > " ' escaped.
std::string escape(std::string_view text);

// <a href="HREF">TEXT</a>, both escaped.
std::string link(std::string_view href, std::string_view text);

// A table: header cells and rows of cells that are already HTML (escape() them first).
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  std::string_view empty = "none");

// "3 min", "2 h", "5 d": how long ago (or how long) seconds is.
std::string duration(long long seconds);

struct Frame {
    std::string identity; // the instance's identity, shown in every page's header
    std::string version;  // mbd's version, in the footer
    std::string root;     // the site root relative to the page ("", "../")
};

// The whole page: the frame template (the admin's HOME/etc/site/page.html when it exists,
// else the built-in one) with {{title}}, {{identity}}, {{version}}, {{root}} (escaped)
// and {{body}} (HTML) replaced.
std::string page(const std::filesystem::path& etc, const Frame& frame, std::string_view title, std::string_view body);

// The built-in frame template (what `mbd-repo site --template` prints for an admin to start from).
std::string_view default_template();

} // namespace mbd::site
