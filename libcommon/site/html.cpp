#include "site/html.hpp"

#include "core/fs.hpp"

#include <fmt/format.h>

namespace mbd::site {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view frame_template = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} - {{identity}}</title>
<link rel="alternate" type="application/atom+xml" title="events" href="{{root}}feed.atom">
<style>
body { font-family: sans-serif; margin: 0 auto; max-width: 72em; padding: 0 1em; color: #222; }
header { border-bottom: 1px solid #ccc; padding: .5em 0; }
header a { margin-right: 1em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; display: block; overflow-x: auto; }
th, td { text-align: left; padding: .2em .6em; border-bottom: 1px solid #eee; vertical-align: top; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; }
p, li { overflow-wrap: anywhere; }
.failed, .rejected { color: #a00; } .installed, .successful, .active { color: #070; }
footer { border-top: 1px solid #ccc; margin-top: 2em; padding: .5em 0; color: #666; font-size: small; }
</style>
</head>
<body>
<header><strong>{{identity}}</strong>
<a href="{{root}}index.html">home</a> <a href="{{root}}repositories.html">repositories</a>
<a href="{{root}}uploads.html">uploads</a> <a href="{{root}}rejected.html">rejected and failed</a>
<a href="{{root}}search.html">search</a> <a href="{{root}}feed.atom">feed</a></header>
<main>
<h1>{{title}}</h1>
{{body}}
</main>
<footer>mbd {{version}} &middot; static pages written by the tools as the state changes</footer>
</body>
</html>
)";

void replace_all(std::string& s, std::string_view what, std::string_view with)
{
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
        s.replace(pos, what.size(), with);
}

} // namespace

std::string escape(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string link(std::string_view href, std::string_view text)
{
    return fmt::format("<a href=\"{}\">{}</a>", escape(href), escape(text));
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  std::string_view empty)
{
    if (rows.empty())
        return fmt::format("<p>{}</p>\n", escape(empty));
    std::string out = "<table>\n<tr>";
    for (const auto& h : header)
        out += "<th>" + escape(h) + "</th>";
    out += "</tr>\n";
    for (const auto& row : rows) {
        out += "<tr>";
        for (const auto& cell : row)
            out += "<td>" + cell + "</td>";
        out += "</tr>\n";
    }
    return out + "</table>\n";
}

std::string duration(long long seconds)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds < 120)
        return fmt::format("{} s", seconds);
    if (seconds < 7200)
        return fmt::format("{} min", seconds / 60);
    if (seconds < 2 * 86400)
        return fmt::format("{} h", seconds / 3600);
    return fmt::format("{} d", seconds / 86400);
}

std::string_view default_template() { return frame_template; }

std::string page(const fs::path& etc, const Frame& frame, std::string_view title, std::string_view body)
{
    fs::path custom = etc / "site" / "page.html";
    std::error_code ec;
    std::string out = fs::exists(custom, ec) ? read_file(custom) : std::string(frame_template);
    // {{body}} last: nothing in it is taken for a placeholder
    replace_all(out, "{{title}}", escape(title));
    replace_all(out, "{{identity}}", escape(frame.identity));
    replace_all(out, "{{version}}", escape(frame.version));
    replace_all(out, "{{root}}", escape(frame.root));
    auto pos = out.find("{{body}}");
    if (pos != std::string::npos)
        out.replace(pos, 8, body);
    return out;
}

} // namespace mbd::site
