// archive/compress: the compressed forms of index files, made of independent pieces
// so that unchanged pieces can be reused byte for byte:
//  - .gz: concatenated gzip members (one per chunk); gzip, zlib and apt read them as one file;
//  - .xz: one xz stream holding many independently compressed blocks (what `xz -T`
//    writes). apt refuses concatenated xz *streams*, so blocks are re-assembled under
//    a fresh stream header, index and footer.
// Output is deterministic (gzip mtime 0, fixed options): equal input, equal bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::archive {

// One complete gzip member holding data.
std::string gzip_member(std::string_view data, int level);

struct XzBlock {
    std::string bytes;          // block header + compressed data + padding + check
    std::uint64_t unpadded = 0; // lzma_block_unpadded_size (for the stream index)
    std::uint64_t uncompressed = 0;
};
XzBlock xz_block(std::string_view data, int preset);

struct XzBlockSize {
    std::uint64_t unpadded = 0, uncompressed = 0;
};
// The 12-byte stream header, and the index + footer that close a stream of these blocks.
std::string xz_stream_header();
std::string xz_stream_tail(const std::vector<XzBlockSize>& blocks);

// Whole-file decompression (for `check`): every member / block.
std::string gunzip(std::string_view data);
std::string unxz(std::string_view data);

} // namespace mbd::archive
