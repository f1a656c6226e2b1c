#include "core/error.hpp"
#include "deb822/deb822.hpp"

#include <gtest/gtest.h>

using namespace mbd;

namespace {

std::string rejection(std::string_view text, deb822::ParseOptions options = {})
{
    try {
        deb822::parse(text, "t", options);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Exit::rejected);
        return e.what();
    }
    return "accepted";
}

const char* sample = "# leading comment\n"
                     "\n"
                     "Source: hello\n"
                     "Section: devel\n"
                     "Build-Depends: debhelper-compat (= 13),\n"
                     "   libfoo-dev,\n"
                     "# a comment inside a field\n"
                     "   libbar-dev\n"
                     "\n"
                     "\n"
                     "Package: hello\n"
                     "architecture: any\n"
                     "Description: say hello\n"
                     " The classic greeting.\n"
                     " .\n"
                     "  A verbatim line.\n"
                     "Empty:\n"
                     "\n"
                     "# trailing\n";

} // namespace

TEST(Deb822, ByteExactRoundTrip)
{
    auto doc = deb822::parse(sample);
    ASSERT_EQ(doc.paragraphs.size(), 2u);
    EXPECT_EQ(doc.to_string(), sample);
    // also without a final newline, with tabs and odd spacing
    std::string odd = "A:x\nB:\t y \n\tcontinued\t\nC:   z";
    EXPECT_EQ(deb822::parse(odd).to_string(), odd);
}

TEST(Deb822, ValuesFoldedAndMultiline)
{
    auto doc = deb822::parse(sample);
    const auto& src = doc.paragraphs[0];
    const auto& bin = doc.paragraphs[1];
    EXPECT_EQ(src.get("Source"), "hello");
    EXPECT_EQ(src.get("source"), "hello"); // case-insensitive
    EXPECT_EQ(src.folded("Build-Depends"), "debhelper-compat (= 13), libfoo-dev, libbar-dev");
    EXPECT_EQ(bin.get("Architecture"), "any");
    EXPECT_EQ(bin.first_line("Description"), "say hello");
    auto lines = bin.lines("Description");
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], "The classic greeting.");
    EXPECT_EQ(lines[1], "");
    EXPECT_EQ(lines[2], " A verbatim line.");
    EXPECT_EQ(bin.get("Empty"), "");
    EXPECT_TRUE(bin.has("EMPTY"));
    EXPECT_FALSE(bin.has("Missing"));
    EXPECT_EQ(bin.line_of("Package"), 11u);
    EXPECT_EQ(src.line(), 3u);
}

TEST(Deb822, SetReplacesInPlaceAndAppends)
{
    auto doc = deb822::parse("A: 1\nB: 2\nC: 3\n");
    auto& p = doc.paragraphs[0];
    p.set("b", "two");
    p.set("D", "first\nsecond\n\n indented");
    EXPECT_EQ(doc.to_string(), "A: 1\nB: two\nC: 3\nD: first\n second\n .\n indented\n");
    EXPECT_TRUE(p.remove("A"));
    EXPECT_EQ(p.to_string(), "B: two\nC: 3\nD: first\n second\n .\n indented\n");
    // what we write reads back to the same values
    auto again = deb822::parse_one(p.to_string());
    EXPECT_EQ(again.lines("D"), (std::vector<std::string>{"second", "", "indented"}));
    p.set("E", "x\n  two spaces");
    EXPECT_EQ(deb822::parse_one(p.to_string()).lines("E"), std::vector<std::string>{" two spaces"});
    // set on a last field without final newline keeps the file shape
    auto doc2 = deb822::parse("A: 1\nB: 2");
    doc2.paragraphs[0].set("B", "3");
    EXPECT_EQ(doc2.to_string(), "A: 1\nB: 3");
    doc2.paragraphs[0].set("C", "4");
    EXPECT_EQ(doc2.to_string(), "A: 1\nB: 3\nC: 4\n");
}

TEST(Deb822, MalformedInputIsRejectedWithLineNumbers)
{
    EXPECT_EQ(rejection("A: 1\nA: 2\n"), "t:2: duplicate field 'A' (first at line 1)");
    EXPECT_EQ(rejection("A: 1\na: 2\n"), "t:2: duplicate field 'a' (first at line 1)");
    EXPECT_EQ(rejection(" continued\n"), "t:1: continuation line outside a field: 'continued'");
    EXPECT_EQ(rejection("A: 1\n\n continued\n"), "t:3: continuation line outside a field: 'continued'");
    EXPECT_EQ(rejection("A: 1\nno colon here\n"), "t:2: expected 'Field: value', got 'no colon here'");
    EXPECT_EQ(rejection("A: 1\r\nB: 2\r\n"), "t:1: carriage return in line (CRLF line endings are not allowed)");
    EXPECT_EQ(rejection(std::string("A: 1\nB: x\0y\n", 12)), "t:2: NUL byte in input");
    EXPECT_EQ(rejection("A: 1\nB: \xff\xfe\n"), "t:2: invalid UTF-8");
    EXPECT_EQ(rejection("A: 1\nB: \xc0\xaf\n"), "t:2: invalid UTF-8"); // overlong
    EXPECT_EQ(rejection(": empty name\n"), "t:1: invalid field name ''");
    EXPECT_EQ(rejection("-A: x\n"), "t:1: invalid field name '-A'");
    EXPECT_EQ(rejection("A: 1\n# c\n", {.allow_comments = false}), "t:2: comment lines are not allowed here");
    EXPECT_EQ(rejection("A: " + std::string(2000, 'x') + "\n", {.max_line_length = 1024}),
              "t:1: line is longer than 1024 bytes");
    EXPECT_EQ(rejection("Bad Name: x\n"), "t:1: invalid field name 'Bad Name'");
}

TEST(Deb822, ParseOneWantsExactlyOneParagraph)
{
    EXPECT_THROW(deb822::parse_one(""), Error);
    EXPECT_THROW(deb822::parse_one("\n\n# only a comment\n"), Error);
    EXPECT_THROW(deb822::parse_one("A: 1\n\nB: 2\n"), Error);
    EXPECT_EQ(deb822::parse_one("\nA: 1\n\n").get("A"), "1");
}

TEST(Deb822, ValidUtf8IsAccepted)
{
    auto p = deb822::parse_one("Maintainer: Jörg Müller <j@example.org>\nX: 日本 😀\n");
    EXPECT_EQ(p.get("Maintainer"), "Jörg Müller <j@example.org>");
}

TEST(Deb822, NeverCrashesOnTruncations)
{
    // Every prefix of a valid document either parses or is rejected cleanly.
    std::string text = sample;
    for (size_t n = 0; n <= text.size(); ++n) {
        try {
            auto doc = deb822::parse(text.substr(0, n));
            EXPECT_EQ(doc.to_string(), text.substr(0, n));
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Exit::rejected);
        }
    }
}
