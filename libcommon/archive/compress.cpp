#include "archive/compress.hpp"

#include "core/error.hpp"

#include <lzma.h>
#include <zlib.h>

#include <algorithm>

namespace mbd::archive {
namespace {

constexpr lzma_check xz_check = LZMA_CHECK_CRC64;

} // namespace

std::string gzip_member(std::string_view data, int level)
{
    z_stream z{};
    // windowBits 15 + 16: a gzip wrapper with mtime 0 and no name (deterministic)
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw Error("cannot initialise zlib");
    std::string out(deflateBound(&z, uLong(data.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = uInt(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    int r = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (r != Z_STREAM_END)
        throw Error("gzip compression failed");
    return out;
}

XzBlock xz_block(std::string_view data, int preset)
{
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, uint32_t(preset)))
        throw Error("invalid xz preset");
    // A dictionary larger than the block only costs memory and set-up time.
    uint32_t dict = LZMA_DICT_SIZE_MIN;
    while (dict < data.size() && dict < opt.dict_size)
        dict *= 2;
    opt.dict_size = std::min(dict, opt.dict_size);
    lzma_filter filters[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
    lzma_block block{};
    block.version = 0;
    block.check = xz_check;
    block.filters = filters;
    XzBlock out;
    out.bytes.resize(lzma_block_buffer_bound(data.size()));
    size_t pos = 0;
    auto r = lzma_block_buffer_encode(&block, nullptr, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                                      reinterpret_cast<uint8_t*>(out.bytes.data()), &pos, out.bytes.size());
    if (r != LZMA_OK)
        throw Error("xz compression failed");
    out.bytes.resize(pos);
    out.unpadded = lzma_block_unpadded_size(&block);
    out.uncompressed = data.size();
    return out;
}

std::string xz_stream_header()
{
    lzma_stream_flags flags{};
    flags.version = 0;
    flags.check = xz_check;
    std::string out(LZMA_STREAM_HEADER_SIZE, '\0');
    if (lzma_stream_header_encode(&flags, reinterpret_cast<uint8_t*>(out.data())) != LZMA_OK)
        throw Error("cannot encode an xz stream header");
    return out;
}

std::string xz_stream_tail(const std::vector<XzBlockSize>& blocks)
{
    lzma_index* idx = lzma_index_init(nullptr);
    if (!idx)
        throw Error("out of memory (xz index)");
    for (const auto& b : blocks)
        if (lzma_index_append(idx, nullptr, b.unpadded, b.uncompressed) != LZMA_OK) {
            lzma_index_end(idx, nullptr);
            throw Error("cannot build the xz index");
        }
    lzma_vli index_size = lzma_index_size(idx);
    std::string out(size_t(index_size) + LZMA_STREAM_HEADER_SIZE, '\0');
    size_t pos = 0;
    auto r = lzma_index_buffer_encode(idx, reinterpret_cast<uint8_t*>(out.data()), &pos, out.size());
    lzma_index_end(idx, nullptr);
    if (r != LZMA_OK || pos != index_size)
        throw Error("cannot encode the xz index");
    lzma_stream_flags flags{};
    flags.version = 0;
    flags.check = xz_check;
    flags.backward_size = index_size;
    if (lzma_stream_footer_encode(&flags, reinterpret_cast<uint8_t*>(out.data()) + pos) != LZMA_OK)
        throw Error("cannot encode the xz stream footer");
    return out;
}

std::string gunzip(std::string_view data)
{
    std::string out;
    z_stream z{};
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        throw Error("cannot initialise zlib");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = uInt(data.size());
    char buf[1 << 16];
    while (true) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        int r = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
        if (r == Z_STREAM_END) {
            if (z.avail_in == 0)
                break;
            inflateReset(&z); // the next member
            continue;
        }
        if (r != Z_OK) {
            inflateEnd(&z);
            throw fail(Exit::check_failed, "corrupt gzip data");
        }
    }
    inflateEnd(&z);
    return out;
}

std::string unxz(std::string_view data)
{
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
        throw Error("cannot initialise the xz decoder");
    s.next_in = reinterpret_cast<const uint8_t*>(data.data());
    s.avail_in = data.size();
    std::string out;
    uint8_t buf[1 << 16];
    lzma_ret r;
    do {
        s.next_out = buf;
        s.avail_out = sizeof buf;
        r = lzma_code(&s, LZMA_FINISH);
        out.append(reinterpret_cast<char*>(buf), sizeof buf - s.avail_out);
    } while (r == LZMA_OK);
    lzma_end(&s);
    if (r != LZMA_STREAM_END || s.avail_in != 0)
        throw fail(Exit::check_failed, "corrupt xz data");
    return out;
}

} // namespace mbd::archive
