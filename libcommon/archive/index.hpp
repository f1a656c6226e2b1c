// archive/index: one index file (Packages, Sources or Contents-ARCH) in its three
// forms (uncompressed, .gz, .xz; the uncompressed one hashed for Release whether or not
// it is written), built from chunks so that republishing costs what
// changed, not the size of the archive.
//
// Entries are kept sorted by key. They are cut into chunks at content-defined
// boundaries (after an entry group whose key hashes to a boundary value, once the
// chunk holds a minimum of bytes, or at a maximum size), so a boundary depends only on
// the entries since the previous boundary. Each chunk is one gzip member and one xz
// block. An update re-reads only the chunks its changes fall into (from the previous
// files, by-hash, which are immutable: the uncompressed one, or else each chunk's own gzip
// member or xz block decompressed), rebuilds them, and carries on into the next
// chunks until its boundaries fall where the old ones were; every other chunk is
// copied compressed. An incremental build therefore gives the same bytes as a full one.
// The files are hashed again only from the last hash mark before the first change.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::archive {

enum class IndexKind {
    packages, // Packages stanzas, key Package\x1fArchitecture\x1fVersion
    sources,  // Sources stanzas, key Package\x1fVersion
    contents, // Contents-ARCH lines; one entry per (path, section/package), key path\x1fsection/package
};

// The key of a Packages/Sources stanza (text ends with one newline, no empty line).
std::string stanza_key(IndexKind kind, std::string_view stanza);
// The key of a Contents entry.
std::string contents_key(std::string_view path, std::string_view qualified_package);

struct Entry {
    std::string key;
    std::string text; // the stanza (Packages/Sources); empty for Contents
};

// A change to an index: text set = add or replace, unset = remove.
struct Change {
    std::string key;
    std::optional<std::string> text;
};

struct FileInfo {
    std::uint64_t size = 0;
    std::string sha256, sha512;
    bool operator==(const FileInfo&) const = default;
};

struct ChunkInfo {
    std::string first_key;
    std::uint64_t entries = 0, raw_size = 0, gz_size = 0, xz_size = 0, xz_unpadded = 0;
};

// The SHA-256 and SHA-512 states of the three forms after a number of chunks (about one
// per BuildOptions::hash_mark_bytes of uncompressed text), opaque: an update hashes again
// only from the last mark before its first change.
struct HashMark {
    std::uint64_t chunks = 0;
    std::string state;
};

// What the database remembers of a published index.
struct IndexState {
    std::vector<ChunkInfo> chunks;
    std::vector<HashMark> marks;
    FileInfo raw, gz, xz;     // raw: always hashed; gz, xz: empty when not written
    bool raw_written = true; // whether the uncompressed file was written

    std::string encode() const;
    static std::optional<IndexState> decode(std::string_view blob); // nullopt: unreadable (rebuild)
};

struct BuildOptions {
    int gzip_level = 6;
    int xz_preset = 6;
    unsigned threads = 0; // 0: one per core
    std::uint64_t hash_mark_bytes = 2 << 20; // uncompressed bytes between hash marks
    bool gz = true, xz = true; // the compressed forms written (a form not written: its FileInfo is empty)
    bool raw = true;           // the uncompressed file written (else only hashed: Release lists it)
    // (an index set has at least one of raw, gz and xz: repo::parse_index_set)
};

// Whether a state has exactly the forms options write (else it is built in full).
bool same_forms(const IndexState& state, const BuildOptions& options);

// The files of a built index, written as temporary files next to their target (the path
// of a form not written is empty).
struct BuiltIndex {
    IndexState state;
    std::filesystem::path raw_tmp, gz_tmp, xz_tmp;
    std::uint64_t chunks_built = 0; // chunks compressed (the rest was copied)
};

// The next entry of a stream into e; false at the end.
using EntryStream = std::function<bool(Entry& e)>;

// Build from entries streamed in key order (a key repeated is taken once): only the chunks
// of a batch are held. nullopt when an entry comes out of order (no file is left behind).
std::optional<BuiltIndex> build_streamed(IndexKind kind, const EntryStream& next, const std::filesystem::path& dir,
                                         const std::string& basename, const BuildOptions& options);

// Build from all entries (any order; a key repeated is taken once).
BuiltIndex build_full(IndexKind kind, std::vector<Entry> entries, const std::filesystem::path& dir,
                      const std::string& basename, const BuildOptions& options);

// Build from the previous state and files (raw, gz, xz: the by-hash copies of those written)
// plus changes. nullopt (build in full) when the previous files are missing or their sizes
// do not match the state, when a chunk of the previous .gz or .xz does not decompress to its
// size (warned of), or when the state has other forms than options.
std::optional<BuiltIndex> build_incremental(IndexKind kind, const IndexState& old,
                                            const std::filesystem::path& old_raw,
                                            const std::filesystem::path& old_gz,
                                            const std::filesystem::path& old_xz, std::vector<Change> changes,
                                            const std::filesystem::path& dir, const std::string& basename,
                                            const BuildOptions& options);

// The uncompressed text of a whole index built from entries (for `check`).
std::string render_full(IndexKind kind, std::vector<Entry> entries);

} // namespace mbd::archive
