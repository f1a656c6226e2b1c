// archive/index: chunked indices. An incremental build must give the same bytes and
// state (sizes, hashes resumed from hash marks, the marks) as a full build of the same
// entries, whatever the changes; compressed forms decompress
// to the uncompressed one; states round-trip.
#include "archive/compress.hpp"
#include "archive/index.hpp"
#include "core/fs.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace mbd;
using namespace mbd::archive;

namespace {

std::string stanza(const std::string& name, const std::string& version, int size)
{
    std::string s = "Package: " + name + "\nVersion: " + version + "\nArchitecture: amd64\nDescription: test\n";
    for (int i = 0; i < size; ++i)
        s += " line " + std::to_string(i) + " of " + name + "\n";
    return s;
}

// Entries in key order, from stanzas by key.
std::vector<Entry> entries_of(const std::map<std::string, std::string>& by_key)
{
    std::vector<Entry> v;
    for (const auto& [k, t] : by_key)
        v.push_back({k, t});
    return v;
}

struct Built {
    IndexState state;
    std::string raw, gz, xz;
};

Built read_built(const BuiltIndex& b, const std::filesystem::path& dir, const std::string& tag)
{
    Built out{b.state, read_file(b.raw_tmp), read_file(b.gz_tmp), read_file(b.xz_tmp)};
    // keep them where build_incremental can find them (as by-hash would)
    std::filesystem::rename(b.raw_tmp, dir / (tag + ".raw"));
    std::filesystem::rename(b.gz_tmp, dir / (tag + ".gz"));
    std::filesystem::rename(b.xz_tmp, dir / (tag + ".xz"));
    return out;
}

class IndexTest : public ::testing::Test {
protected:
    TempDir tmp;
    BuildOptions options{6, 1, 2};
};

// From an empty index (a distribution's first publish), as from any other: the last change
// of a key stands. A version added, then taken out again (moved on to a rollback by a newer
// one) before the publish is not in the index.
TEST_F(IndexTest, FromEmptyTheLastChangeStands)
{
    auto empty = build_full(IndexKind::packages, {}, tmp.path(), "Packages", options);
    Built prev = read_built(empty, tmp.path(), "empty");
    std::string a = stanza("hello", "1.0", 1), b = stanza("hello", "1.1", 1), c = stanza("other", "2.0", 1);
    std::vector<Change> changes{{stanza_key(IndexKind::packages, a), a},
                                {stanza_key(IndexKind::packages, c), c},
                                {stanza_key(IndexKind::packages, a), std::nullopt},
                                {stanza_key(IndexKind::packages, b), b}};
    auto inc = build_incremental(IndexKind::packages, prev.state, tmp.path() / "empty.raw", tmp.path() / "empty.gz",
                                 tmp.path() / "empty.xz", changes, tmp.path(), "Packages", options);
    ASSERT_TRUE(inc.has_value());
    Built got = read_built(*inc, tmp.path(), "after");
    auto ref = build_full(IndexKind::packages,
                          {{stanza_key(IndexKind::packages, b), b}, {stanza_key(IndexKind::packages, c), c}}, tmp.path(),
                          "Packages", options);
    EXPECT_EQ(got.raw, read_built(ref, tmp.path(), "ref").raw);
    EXPECT_EQ(got.raw.find("Version: 1.0\n"), std::string::npos);
}

TEST_F(IndexTest, IncrementalEqualsFull)
{
    std::mt19937 rng(42);
    std::map<std::string, std::string> entries; // key -> stanza
    for (int i = 0; i < 3000; ++i) {
        std::string name = "pkg" + std::to_string(i);
        std::string text = stanza(name, "1.0", int(rng() % 20));
        entries[stanza_key(IndexKind::packages, text)] = text;
    }
    auto all = [&] { return entries_of(entries); };
    options.hash_mark_bytes = 16 * 1024; // updates resume hashing from marks
    auto full = build_full(IndexKind::packages, all(), tmp.path(), "Packages", options);
    EXPECT_GT(full.state.chunks.size(), 5u);
    EXPECT_GT(full.state.marks.size(), 5u);
    Built prev = read_built(full, tmp.path(), "gen0");
    EXPECT_EQ(gunzip(prev.gz), prev.raw);
    EXPECT_EQ(unxz(prev.xz), prev.raw);
    EXPECT_EQ(sha256_hex(prev.raw), prev.state.raw.sha256);

    for (int round = 1; round <= 30; ++round) {
        std::vector<Change> changes;
        int n = 1 + int(rng() % (round % 5 == 0 ? 400 : 5));
        for (int c = 0; c < n; ++c) {
            int op = int(rng() % 3);
            if (op == 0 && !entries.empty()) { // remove
                auto it = entries.begin();
                std::advance(it, long(rng() % entries.size()));
                changes.push_back({it->first, std::nullopt});
                entries.erase(it);
            } else { // add or replace
                std::string name = "pkg" + std::to_string(rng() % 4000) + (op == 2 ? "x" : "");
                std::string text = stanza(name, std::to_string(round) + ".0", int(rng() % 30));
                auto key = stanza_key(IndexKind::packages, text);
                changes.push_back({key, text});
                entries[key] = text;
            }
        }
        std::string tag = "gen" + std::to_string(round);
        std::string old = "gen" + std::to_string(round - 1);
        auto inc = build_incremental(IndexKind::packages, prev.state, tmp.path() / (old + ".raw"),
                                     tmp.path() / (old + ".gz"), tmp.path() / (old + ".xz"), changes, tmp.path(),
                                     "Packages", options);
        ASSERT_TRUE(inc.has_value());
        Built got = read_built(*inc, tmp.path(), tag);
        auto ref = build_full(IndexKind::packages, all(), tmp.path(), "Packages", options);
        Built want = read_built(ref, tmp.path(), tag + "ref");
        ASSERT_EQ(got.raw, want.raw) << "round " << round;
        ASSERT_EQ(got.gz, want.gz) << "round " << round;
        ASSERT_EQ(got.xz, want.xz) << "round " << round;
        ASSERT_EQ(got.state.encode(), want.state.encode());
        EXPECT_EQ(unxz(got.xz), got.raw);
        EXPECT_EQ(gunzip(got.gz), got.raw);
        if (n < 5) {
            EXPECT_LT(inc->chunks_built, inc->state.chunks.size() / 2) << "a small change rebuilt most chunks";
        }
        prev = got;
    }
}

// A form the options turn off is no file and no state; updates of such an index equal a
// full build; a state with other forms than the options is not updated (built in full).
TEST_F(IndexTest, FormsNotWrittenAreNoFiles)
{
    for (auto [gz, xz] : {std::pair{true, false}, std::pair{false, true}, std::pair{false, false}}) {
        BuildOptions o = options;
        o.gz = gz;
        o.xz = xz;
        std::vector<Entry> entries;
        for (int i = 0; i < 800; ++i) {
            std::string text = stanza("pkg" + std::to_string(1000 + i), "1.0", i % 7);
            entries.push_back({stanza_key(IndexKind::packages, text), text});
        }
        auto full = build_full(IndexKind::packages, entries, tmp.path(), "Packages", o);
        EXPECT_EQ(full.gz_tmp.empty(), !gz);
        EXPECT_EQ(full.xz_tmp.empty(), !xz);
        EXPECT_EQ(full.state.gz.sha256.empty(), !gz);
        EXPECT_EQ(full.state.xz.sha256.empty(), !xz);
        std::string tag = std::string(gz ? "gz" : "") + (xz ? "xz" : "") + "-";
        auto keep = [&](const BuiltIndex& b, const std::string& name) {
            for (auto [from, ext] : {std::pair{&b.raw_tmp, ".raw"}, std::pair{&b.gz_tmp, ".gz"}, std::pair{&b.xz_tmp, ".xz"}})
                if (!from->empty())
                    std::filesystem::rename(*from, tmp.path() / (tag + name + ext));
            return b.state;
        };
        auto file = [&](const std::string& name, const char* ext) { return tmp.path() / (tag + name + ext); };
        IndexState before = keep(full, "a");
        std::string raw = read_file(file("a", ".raw"));
        if (gz) {
            EXPECT_EQ(gunzip(read_file(file("a", ".gz"))), raw);
        }
        if (xz) {
            EXPECT_EQ(unxz(read_file(file("a", ".xz"))), raw);
        }
        std::string added = stanza("pkg1400x", "2.0", 3);
        std::vector<Change> changes{{entries[10].key, std::nullopt}, {stanza_key(IndexKind::packages, added), added}};
        auto inc = build_incremental(IndexKind::packages, before, file("a", ".raw"), file("a", ".gz"),
                                     file("a", ".xz"), changes, tmp.path(), "Packages", o);
        ASSERT_TRUE(inc.has_value()) << tag;
        IndexState after = keep(*inc, "b");
        entries.erase(entries.begin() + 10);
        entries.push_back({stanza_key(IndexKind::packages, added), added});
        IndexState want = keep(build_full(IndexKind::packages, entries, tmp.path(), "Packages", o), "c");
        EXPECT_EQ(after.encode(), want.encode()) << tag;
        EXPECT_EQ(read_file(file("b", ".raw")), read_file(file("c", ".raw")));
        if (gz) {
            EXPECT_EQ(read_file(file("b", ".gz")), read_file(file("c", ".gz")));
        }
        if (xz) {
            EXPECT_EQ(read_file(file("b", ".xz")), read_file(file("c", ".xz")));
        }
        // Other forms wanted now: no update from this state.
        BuildOptions other = o;
        other.gz = !gz;
        EXPECT_FALSE(build_incremental(IndexKind::packages, after, file("b", ".raw"), file("b", ".gz"),
                                       file("b", ".xz"), {}, tmp.path(), "Packages", other)
                         .has_value());
    }
}

// Without the uncompressed file (Debian's set): its size and hashes are still in the state
// (Release lists them), equal to those of the text the compressed forms decompress to;
// updates read the copied chunks' text from the .gz (or, without one, the .xz) and give
// the bytes and state of a full build; the state says so through encode/decode, and a
// state of before (v2) had the file written.
TEST_F(IndexTest, UncompressedNotWrittenIsHashedAndUpdatedFromCompressed)
{
    for (auto [gz, xz] : {std::pair{true, true}, std::pair{true, false}, std::pair{false, true}}) {
        BuildOptions o = options;
        o.raw = false;
        o.gz = gz;
        o.xz = xz;
        o.hash_mark_bytes = 16 * 1024;
        BuildOptions with_raw = o;
        with_raw.raw = true;
        std::string tag = std::string(gz ? "gz" : "") + (xz ? "xz" : "") + "-noraw-";
        std::map<std::string, std::string> entries;
        for (int i = 0; i < 1500; ++i) {
            std::string text = stanza("pkg" + std::to_string(1000 + i), "1.0", i % 11);
            entries[stanza_key(IndexKind::packages, text)] = text;
        }
        auto all = [&] { return entries_of(entries); };
        auto keep = [&](const BuiltIndex& b, const std::string& name) {
            EXPECT_TRUE(b.raw_tmp.empty()) << tag << name;
            for (auto [from, ext] : {std::pair{&b.gz_tmp, ".gz"}, std::pair{&b.xz_tmp, ".xz"}})
                if (!from->empty())
                    std::filesystem::rename(*from, tmp.path() / (tag + name + ext));
            return b.state;
        };
        auto file = [&](const std::string& name, const char* ext) { return tmp.path() / (tag + name + ext); };
        auto text_of = [&](const std::string& name) {
            return gz ? gunzip(read_file(file(name, ".gz"))) : unxz(read_file(file(name, ".xz")));
        };
        IndexState prev = keep(build_full(IndexKind::packages, all(), tmp.path(), "Packages", o), "0");
        EXPECT_FALSE(prev.raw_written);
        EXPECT_GT(prev.marks.size(), 3u);
        EXPECT_EQ(prev.raw.sha256, sha256_hex(text_of("0"))) << tag;
        EXPECT_EQ(prev.raw.size, text_of("0").size());
        auto decoded = IndexState::decode(prev.encode());
        ASSERT_TRUE(decoded.has_value());
        EXPECT_FALSE(decoded->raw_written);
        EXPECT_TRUE(same_forms(*decoded, o));
        EXPECT_FALSE(same_forms(*decoded, with_raw));
        std::mt19937 rng(7);
        for (int round = 1; round <= 6; ++round) {
            std::vector<Change> changes;
            for (int c = 0; c < 3; ++c) {
                std::string text = stanza("pkg" + std::to_string(1000 + rng() % 1600), std::to_string(round) + ".0", 4);
                auto key = stanza_key(IndexKind::packages, text);
                changes.push_back({key, text});
                entries[key] = text;
            }
            auto gone = entries.begin();
            std::advance(gone, long(rng() % entries.size()));
            changes.push_back({gone->first, std::nullopt});
            entries.erase(gone);
            std::string name = std::to_string(round), before = std::to_string(round - 1);
            auto inc = build_incremental(IndexKind::packages, prev, file(before, ".raw"), file(before, ".gz"),
                                         file(before, ".xz"), changes, tmp.path(), "Packages", o);
            ASSERT_TRUE(inc.has_value()) << tag << round;
            EXPECT_LT(inc->chunks_built, inc->state.chunks.size() / 2);
            IndexState got = keep(*inc, name);
            IndexState want = keep(build_full(IndexKind::packages, all(), tmp.path(), "Packages", o), name + "ref");
            ASSERT_EQ(got.encode(), want.encode()) << tag << round;
            if (gz) {
                EXPECT_EQ(read_file(file(name, ".gz")), read_file(file(name + "ref", ".gz")));
            }
            if (xz) {
                EXPECT_EQ(read_file(file(name, ".xz")), read_file(file(name + "ref", ".xz")));
            }
            EXPECT_EQ(got.raw.sha256, sha256_hex(text_of(name)));
            // the same hashes as when the uncompressed file is written
            auto written = build_full(IndexKind::packages, all(), tmp.path(), "Packages", with_raw);
            EXPECT_EQ(written.state.raw, got.raw);
            EXPECT_TRUE(written.state.raw_written);
            EXPECT_EQ(read_file(written.raw_tmp), text_of(name));
            prev = got;
        }
        // a state of before: magic v2, no flags; its uncompressed file was written
        std::string v3 = prev.encode();
        ASSERT_EQ(v3.substr(0, 8), std::string("mbdidx3") + '\0');
        auto v2 = IndexState::decode("mbdidx2" + v3.substr(8));
        ASSERT_TRUE(v2.has_value());
        EXPECT_TRUE(v2->raw_written);
        EXPECT_EQ(v2->raw, prev.raw);
    }
}

TEST_F(IndexTest, ContentsGroupsPathsAcrossPackages)
{
    std::vector<Entry> entries;
    std::map<std::string, bool> keys;
    for (int p = 0; p < 500; ++p)
        for (int f = 0; f < 20; ++f) {
            std::string path = "usr/share/pkg" + std::to_string(p % 50) + "/file" + std::to_string(f);
            auto key = contents_key(path, "misc/pkg" + std::to_string(p));
            entries.push_back({key, {}});
            keys[key] = true;
        }
    auto full = build_full(IndexKind::contents, entries, tmp.path(), "Contents-amd64", options);
    Built prev = read_built(full, tmp.path(), "c0");
    // one line per path, packages joined with commas
    EXPECT_NE(prev.raw.find("usr/share/pkg0/file0"), std::string::npos);
    auto line_end = prev.raw.find('\n');
    EXPECT_NE(prev.raw.substr(0, line_end).find(",misc/pkg"), std::string::npos);

    std::vector<Change> changes;
    for (int f = 0; f < 20; ++f) {
        std::string path = "usr/share/pkg7/file" + std::to_string(f);
        changes.push_back({contents_key(path, "misc/pkg7"), std::nullopt});
        changes.push_back({contents_key(path, "misc/zzz"), std::string()});
        keys.erase(contents_key(path, "misc/pkg7"));
        keys[contents_key(path, "misc/zzz")] = true;
    }
    auto inc = build_incremental(IndexKind::contents, prev.state, tmp.path() / "c0.raw", tmp.path() / "c0.gz",
                                 tmp.path() / "c0.xz", changes, tmp.path(), "Contents-amd64", options);
    ASSERT_TRUE(inc.has_value());
    Built got = read_built(*inc, tmp.path(), "c1");
    std::vector<Entry> now;
    for (const auto& [k, _] : keys)
        now.push_back({k, {}});
    EXPECT_EQ(got.raw, render_full(IndexKind::contents, now));
    EXPECT_EQ(unxz(got.xz), got.raw);
}

// A full build from the database streams its entries in key order: a key repeated is taken
// once, and an entry out of order gives up (the caller sorts in memory) without leaving a file.
TEST_F(IndexTest, StreamedInKeyOrder)
{
    std::vector<Entry> sorted;
    for (int i = 0; i < 6000; ++i) {
        std::string text = stanza("pkg" + std::to_string(100000 + i), "1.0", i % 40);
        sorted.push_back({stanza_key(IndexKind::packages, text), text});
    }
    auto stream = [](std::vector<Entry> v) {
        return [v = std::move(v), i = size_t(0)](Entry& e) mutable {
            if (i == v.size())
                return false;
            e = v[i++];
            return true;
        };
    };
    auto with_repeats = sorted;
    with_repeats.insert(with_repeats.begin() + 500, sorted[499]);
    auto built = build_streamed(IndexKind::packages, stream(with_repeats), tmp.path(), "Packages", options);
    ASSERT_TRUE(built.has_value());
    EXPECT_GT(built->state.chunks.size(), 64u); // more than one batch of chunks
    Built got = read_built(*built, tmp.path(), "s");
    EXPECT_EQ(got.raw, render_full(IndexKind::packages, sorted));
    EXPECT_EQ(unxz(got.xz), got.raw);
    EXPECT_EQ(gunzip(got.gz), got.raw);
    EXPECT_EQ(sha256_hex(got.raw), got.state.raw.sha256);

    std::filesystem::path dir = tmp.path() / "out-of-order";
    std::filesystem::create_directory(dir);
    auto swapped = sorted;
    std::swap(swapped[5000], swapped[5001]); // (after more than a batch is written)
    EXPECT_FALSE(build_streamed(IndexKind::packages, stream(swapped), dir, "Packages", options).has_value());
    EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST_F(IndexTest, EmptyIndexIsValidCompressed)
{
    auto b = build_full(IndexKind::sources, {}, tmp.path(), "Sources", options);
    Built e = read_built(b, tmp.path(), "e");
    EXPECT_EQ(e.raw, "");
    EXPECT_EQ(gunzip(e.gz), "");
    EXPECT_EQ(unxz(e.xz), "");
    auto st = IndexState::decode(e.state.encode());
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->encode(), e.state.encode());
    EXPECT_FALSE(IndexState::decode("garbage").has_value());
}

TEST_F(IndexTest, MissingPreviousFilesMeanFullBuild)
{
    auto b = build_full(IndexKind::sources, {{"a\x1f" "1", "Package: a\nVersion: 1\n"}}, tmp.path(), "Sources", options);
    Built e = read_built(b, tmp.path(), "m");
    auto inc = build_incremental(IndexKind::sources, e.state, tmp.path() / "nope", tmp.path() / "m.gz",
                                 tmp.path() / "m.xz", {}, tmp.path(), "Sources", options);
    EXPECT_FALSE(inc.has_value());
}

} // namespace
