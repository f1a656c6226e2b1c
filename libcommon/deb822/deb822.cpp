#include "deb822/deb822.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mbd::deb822 {
namespace {

bool blank(std::string_view line)
{
    for (char c : line)
        if (c != ' ' && c != '\t' && c != '\n')
            return false;
    return true;
}

bool valid_name(std::string_view name)
{
    if (name.empty() || name.front() == '-' || name.front() == '#')
        return false;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || c == ':')
            return false;
    }
    return true;
}

std::string excerpt(std::string_view line)
{
    line = trim(line);
    if (line.size() > 40)
        return std::string(line.substr(0, 40)) + "...";
    return std::string(line);
}

} // namespace

std::string value_of_raw(std::string_view raw)
{
    auto colon = raw.find(':');
    std::string_view rest = colon == std::string_view::npos ? raw : raw.substr(colon + 1);
    auto nl = rest.find('\n');
    std::string first(trim(rest.substr(0, nl)));
    std::string out = first;
    if (nl == std::string_view::npos)
        return out;
    rest.remove_prefix(nl + 1);
    while (!rest.empty()) {
        nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (!line.empty() && line.front() == '#')
            continue; // comment inside a field (debian/control)
        out += '\n';
        out += trim_right(line);
    }
    return out;
}

std::string format_field(std::string_view name, std::string_view value)
{
    std::string out(name);
    out += ':';
    auto lines = split(value, '\n', false);
    if (!lines.front().empty()) {
        out += ' ';
        out += lines.front();
    }
    out += '\n';
    for (size_t i = 1; i < lines.size(); ++i) {
        auto l = trim_right(lines[i]);
        if (l.empty())
            out += " .\n";
        else if (l.front() == ' ' || l.front() == '\t')
            out += std::string(l) + "\n";
        else
            out += " " + std::string(l) + "\n";
    }
    return out;
}

const Paragraph::Field* Paragraph::find_field(std::string_view name) const
{
    for (const auto& f : fields_)
        if (iequals(f.name, name))
            return &f;
    return nullptr;
}

std::optional<std::string> Paragraph::find(std::string_view name) const
{
    const Field* f = find_field(name);
    if (!f)
        return std::nullopt;
    return value_of_raw(f->raw);
}

std::string Paragraph::get(std::string_view name) const { return find(name).value_or(""); }

std::string Paragraph::first_line(std::string_view name) const
{
    auto v = get(name);
    return v.substr(0, v.find('\n'));
}

std::string Paragraph::folded(std::string_view name) const
{
    std::string value = get(name), out;
    for (auto w : split_ws(value)) {
        if (!out.empty())
            out += ' ';
        out += w;
    }
    return out;
}

std::vector<std::string> Paragraph::lines(std::string_view name) const
{
    std::vector<std::string> out;
    auto v = get(name);
    auto parts = split(v, '\n', false);
    for (size_t i = 1; i < parts.size(); ++i) {
        std::string_view l = parts[i];
        if (!l.empty() && (l.front() == ' ' || l.front() == '\t'))
            l.remove_prefix(1);
        out.emplace_back(l == "." ? std::string_view{} : l);
    }
    return out;
}

size_t Paragraph::line_of(std::string_view name) const
{
    const Field* f = find_field(name);
    return f ? f->line : 0;
}

void Paragraph::set(std::string_view name, std::string_view value)
{
    for (auto& f : fields_) {
        if (iequals(f.name, name)) {
            bool had_newline = !f.raw.empty() && f.raw.back() == '\n';
            f.raw = format_field(f.name, value);
            if (!had_newline && &f == &fields_.back())
                f.raw.pop_back();
            return;
        }
    }
    if (!fields_.empty() && !fields_.back().raw.ends_with('\n'))
        fields_.back().raw += '\n';
    fields_.push_back(Field{std::string(name), format_field(name, value), 0});
}

bool Paragraph::remove(std::string_view name)
{
    for (auto it = fields_.begin(); it != fields_.end(); ++it) {
        if (iequals(it->name, name)) {
            fields_.erase(it);
            return true;
        }
    }
    return false;
}

std::vector<std::string> Paragraph::names() const
{
    std::vector<std::string> out;
    for (const auto& f : fields_)
        out.push_back(f.name);
    return out;
}

std::string Paragraph::to_string() const
{
    std::string out;
    for (const auto& f : fields_)
        out += f.raw;
    return out;
}

std::string Document::to_string() const
{
    std::string out;
    for (const auto& p : paragraphs) {
        out += p.leading_;
        out += p.to_string();
    }
    out += trailing;
    return out;
}

Document parse(std::string_view text, std::string_view name, const ParseOptions& options)
{
    Document doc;
    std::string pending;        // separators/comments not yet attached to a paragraph
    Paragraph* para = nullptr;  // open paragraph
    Paragraph::Field* field = nullptr; // open field (for continuation lines)
    size_t lineno = 0;
    auto error = [&](std::string msg) { return Error(Exit::rejected, fmt::format("{}:{}: {}", name, lineno, msg)); };

    if (text.find('\0') != std::string_view::npos) {
        lineno = 1 + size_t(std::count(text.begin(), text.begin() + long(text.find('\0')), '\n'));
        throw error("NUL byte in input");
    }
    if (options.require_utf8 && !valid_utf8(text)) {
        // find the line for the message
        size_t start = 0;
        lineno = 0;
        while (start <= text.size()) {
            ++lineno;
            auto nl = text.find('\n', start);
            auto line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
            if (!valid_utf8(line))
                break;
            if (nl == std::string_view::npos)
                break;
            start = nl + 1;
        }
        throw error("invalid UTF-8");
    }

    size_t pos = 0;
    while (pos < text.size()) {
        ++lineno;
        auto nl = text.find('\n', pos);
        size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
        std::string_view raw = text.substr(pos, end - pos);
        pos = end;
        std::string_view line = raw.ends_with('\n') ? raw.substr(0, raw.size() - 1) : raw;

        if (line.find('\r') != std::string_view::npos)
            throw error("carriage return in line (CRLF line endings are not allowed)");
        if (options.max_line_length && line.size() > options.max_line_length)
            throw error(fmt::format("line is longer than {} bytes", options.max_line_length));

        if (blank(line)) {
            para = nullptr;
            field = nullptr;
            pending += raw;
            continue;
        }
        if (line.front() == '#') {
            if (!options.allow_comments)
                throw error("comment lines are not allowed here");
            if (field)
                field->raw += raw;
            else
                pending += raw;
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            if (!field)
                throw error(fmt::format("continuation line outside a field: '{}'", excerpt(line)));
            field->raw += raw;
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
            throw error(fmt::format("expected 'Field: value', got '{}'", excerpt(line)));
        std::string_view fname = line.substr(0, colon);
        if (!valid_name(fname))
            throw error(fmt::format("invalid field name '{}'", excerpt(fname)));
        if (!para) {
            doc.paragraphs.emplace_back();
            para = &doc.paragraphs.back();
            para->leading_ = std::move(pending);
            pending.clear();
            para->line_ = lineno;
        }
        if (const auto* first = para->find_field(fname))
            throw error(fmt::format("duplicate field '{}' (first at line {})", fname, first->line));
        para->fields_.push_back(Paragraph::Field{std::string(fname), std::string(raw), lineno});
        field = &para->fields_.back();
    }
    doc.trailing = std::move(pending);
    return doc;
}

Paragraph parse_one(std::string_view text, std::string_view name, const ParseOptions& options)
{
    Document doc = parse(text, name, options);
    if (doc.paragraphs.empty())
        throw fail(Exit::rejected, "{}: no fields (empty document)", name);
    if (doc.paragraphs.size() > 1)
        throw fail(Exit::rejected, "{}:{}: expected one paragraph, found {}", name, doc.paragraphs[1].line(),
                   doc.paragraphs.size());
    return std::move(doc.paragraphs.front());
}

} // namespace mbd::deb822
