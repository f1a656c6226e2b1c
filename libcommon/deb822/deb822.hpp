// deb822: the one parser/writer for Debian control paragraphs (.dsc, .changes,
// Packages, Sources, Release, debian/control, our own signed documents).
//
// What it reads round-trips byte for byte (to_string() of an unmodified
// Document is the input). Field names compare case-insensitively. Malformed
// input is an Error(Exit::rejected) whose message starts with "NAME:LINE: ".
// Values come in three views (deb822(5)): value() as written (continuation
// lines keep their leading space), folded() for folded fields (Depends,
// Binary, Uploaders), lines() for multiline fields (Files, Checksums-*,
// Description, Changes), where " ." stands for an empty line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::deb822 {

class Document;

struct ParseOptions {
    bool allow_comments = true;   // '#' lines (debian/control style)
    bool require_utf8 = true;     // reject invalid UTF-8
    size_t max_line_length = 0;   // 0: unlimited
};

class Paragraph {
public:
    struct Field {
        std::string name;  // as written
        std::string raw;   // "Name:" through the end of its last continuation line
        size_t line = 0;   // 1-based line of "Name:" in the input (0 if set programmatically)
    };

    bool has(std::string_view name) const { return find_field(name) != nullptr; }
    std::optional<std::string> find(std::string_view name) const;
    std::string get(std::string_view name) const; // "" when absent
    std::string folded(std::string_view name) const;
    std::vector<std::string> lines(std::string_view name) const; // continuation lines only
    std::string first_line(std::string_view name) const;
    size_t line_of(std::string_view name) const;

    // Replace the field's value in place, or append it. Multi-line values:
    // lines after the first become continuation lines (" ." for empty ones).
    void set(std::string_view name, std::string_view value);
    bool remove(std::string_view name);

    const std::vector<Field>& fields() const { return fields_; }
    std::vector<std::string> names() const;
    size_t line() const { return line_; }
    bool empty() const { return fields_.empty(); }

    // The paragraph's text (fields only; no separators).
    std::string to_string() const;

private:
    friend class Document;
    friend Document parse(std::string_view, std::string_view, const ParseOptions&);
    const Field* find_field(std::string_view name) const;
    std::vector<Field> fields_;
    std::string leading_; // blank/comment lines before the first field
    size_t line_ = 0;
};

class Document {
public:
    std::vector<Paragraph> paragraphs;
    std::string trailing; // blank/comment lines after the last paragraph

    std::string to_string() const;
};

// name is used in messages ("foo.changes:12: duplicate field 'Source'").
Document parse(std::string_view text, std::string_view name = "input", const ParseOptions& options = {});

// Exactly one paragraph (Error(Exit::rejected) otherwise).
Paragraph parse_one(std::string_view text, std::string_view name = "input", const ParseOptions& options = {});

// The value of a field given as written after the colon (helpers for callers
// that hold raw text).
std::string value_of_raw(std::string_view raw);

// Format a paragraph from (name, value) pairs.
std::string format_field(std::string_view name, std::string_view value);

} // namespace mbd::deb822
