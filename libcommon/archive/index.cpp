#include "archive/index.hpp"

#include "archive/compress.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <iterator>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace mbd::archive {
namespace {

constexpr char sep = '\x1f';

// ---- entries ------------------------------------------------------------------

std::string_view field_value(std::string_view stanza, std::string_view name)
{
    size_t pos = 0;
    while (pos < stanza.size()) {
        size_t eol = stanza.find('\n', pos);
        if (eol == std::string_view::npos)
            eol = stanza.size();
        std::string_view line = stanza.substr(pos, eol - pos);
        if (line.size() > name.size() && line[name.size()] == ':' && line.substr(0, name.size()) == name)
            return trim(line.substr(name.size() + 1));
        pos = eol + 1;
    }
    return {};
}

std::string_view group_of(IndexKind kind, std::string_view key)
{
    if (kind != IndexKind::contents)
        return key;
    return key.substr(0, key.find(sep));
}

size_t entry_bytes(IndexKind kind, const Entry& e)
{
    return kind == IndexKind::contents ? e.key.size() + 2 : e.text.size() + 1;
}

// Content-defined chunk boundaries.
struct Cutter {
    size_t min_bytes, max_bytes;
    uint64_t divisor;
    size_t bytes = 0;

    explicit Cutter(IndexKind kind)
        : min_bytes(32 * 1024), max_bytes(1024 * 1024), divisor(kind == IndexKind::contents ? 512 : 32)
    {
    }
    static uint64_t hash(std::string_view s)
    {
        uint64_t h = 1469598103934665603ULL; // FNV-1a, then a final mix
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ULL;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
    }
    // Called after each complete group; true: the chunk ends here.
    bool after_group(std::string_view group, size_t group_bytes)
    {
        bytes += group_bytes;
        bool cut = bytes >= max_bytes || (bytes >= min_bytes && hash(group) % divisor == 0);
        if (cut)
            bytes = 0;
        return cut;
    }
};

std::string render(IndexKind kind, const std::vector<Entry>& entries, size_t begin, size_t end)
{
    std::string out;
    if (kind != IndexKind::contents) {
        for (size_t i = begin; i < end; ++i) {
            out += entries[i].text;
            out += '\n';
        }
        return out;
    }
    for (size_t i = begin; i < end;) {
        std::string_view path = group_of(kind, entries[i].key);
        out += path;
        out.append(path.size() < 55 ? 56 - path.size() : 1, ' ');
        bool first = true;
        for (; i < end && group_of(kind, entries[i].key) == path; ++i) {
            if (!first)
                out += ',';
            first = false;
            out += std::string_view(entries[i].key).substr(path.size() + 1);
        }
        out += '\n';
    }
    return out;
}

void parse_chunk(IndexKind kind, std::string_view raw, std::vector<Entry>& out)
{
    if (kind != IndexKind::contents) {
        size_t pos = 0;
        while (pos < raw.size()) {
            size_t end = raw.find("\n\n", pos);
            if (end == std::string_view::npos)
                throw fail(Exit::state, "corrupt index chunk (no paragraph end)");
            std::string text(raw.substr(pos, end + 1 - pos));
            out.push_back({stanza_key(kind, text), std::move(text)});
            pos = end + 2;
        }
        return;
    }
    size_t pos = 0;
    while (pos < raw.size()) {
        size_t eol = raw.find('\n', pos);
        if (eol == std::string_view::npos)
            throw fail(Exit::state, "corrupt index chunk (no line end)");
        std::string_view line = raw.substr(pos, eol - pos);
        size_t ws = line.find_last_of(' ');
        if (ws == std::string_view::npos)
            throw fail(Exit::state, "corrupt Contents line");
        std::string_view list = line.substr(ws + 1);
        std::string_view path = trim_right(line.substr(0, ws));
        for (auto q : split(list, ',', false))
            out.push_back({contents_key(path, q), {}});
        pos = eol + 1;
    }
}

// ---- files --------------------------------------------------------------------

class OutFile {
public:
    OutFile(const std::filesystem::path& dir, const std::string& name)
    {
        std::string tmpl = (dir / ("." + name + ".tmp.XXXXXX")).string();
        fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
        if (fd_ < 0)
            throw sys_error(fmt::format("cannot create a temporary file in '{}'", dir.string()));
        path_ = tmpl;
        ::fchmod(fd_, 0644);
    }
    ~OutFile()
    {
        if (fd_ >= 0) {
            ::close(fd_);
            ::unlink(path_.c_str());
        }
    }
    OutFile(const OutFile&) = delete;
    OutFile& operator=(const OutFile&) = delete;

    void write(std::string_view data)
    {
        s256_.update(data);
        s512_.update(data);
        size_ += data.size();
        buf_.append(data);
        if (buf_.size() >= (1 << 20))
            flush();
    }
    // Closes the file (kept on disk) and returns its size and hashes.
    FileInfo finish(std::filesystem::path& path)
    {
        flush();
        if (::close(fd_) != 0)
            throw sys_error(fmt::format("cannot write '{}'", path_.string()));
        fd_ = -1;
        path = path_;
        return FileInfo{size_, s256_.hex(), s512_.hex()};
    }

private:
    void flush()
    {
        std::string_view d = buf_;
        while (!d.empty()) {
            ssize_t n = ::write(fd_, d.data(), d.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw sys_error(fmt::format("cannot write '{}'", path_.string()));
            d.remove_prefix(size_t(n));
        }
        buf_.clear();
    }
    int fd_ = -1;
    std::filesystem::path path_;
    Hasher s256_{Hasher::Algo::sha256}, s512_{Hasher::Algo::sha512};
    uint64_t size_ = 0;
    std::string buf_;
};

class Mapped {
public:
    // Maps the file when it exists with the expected size.
    bool open(const std::filesystem::path& path, uint64_t expected)
    {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return false;
        struct stat st{};
        bool ok = ::fstat(fd, &st) == 0 && uint64_t(st.st_size) == expected;
        if (ok && expected > 0) {
            void* p = ::mmap(nullptr, expected, PROT_READ, MAP_PRIVATE, fd, 0);
            ok = p != MAP_FAILED;
            if (ok) {
                data_ = static_cast<const char*>(p);
                size_ = expected;
            }
        }
        ::close(fd);
        return ok;
    }
    ~Mapped()
    {
        if (data_)
            ::munmap(const_cast<char*>(data_), size_);
    }
    std::string_view view(uint64_t offset, uint64_t length) const { return {data_ + offset, length}; }

private:
    const char* data_ = nullptr;
    size_t size_ = 0;
};

// A chunk of the new index: copied from the old files, or built from entries.
struct OutChunk {
    long old = -1; // index into the old chunks when copied
    ChunkInfo info;
    std::string raw, gz;
    XzBlock xz;
};

void compress_all(std::vector<OutChunk>& chunks, const BuildOptions& options)
{
    std::vector<size_t> jobs;
    for (size_t i = 0; i < chunks.size(); ++i)
        if (chunks[i].old < 0)
            jobs.push_back(i);
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t j; (j = next++) < jobs.size();) {
            OutChunk& c = chunks[jobs[j]];
            c.gz = gzip_member(c.raw, options.gzip_level);
            c.xz = xz_block(c.raw, options.xz_preset);
            c.info.raw_size = c.raw.size();
            c.info.gz_size = c.gz.size();
            c.info.xz_size = c.xz.bytes.size();
            c.info.xz_unpadded = c.xz.unpadded;
        }
    };
    unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = unsigned(std::min<size_t>(threads, jobs.size()));
    std::vector<std::thread> pool;
    std::exception_ptr error;
    std::mutex m;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back([&] {
            try {
                work();
            } catch (...) {
                std::lock_guard l(m);
                error = std::current_exception();
            }
        });
    try {
        work();
    } catch (...) {
        std::lock_guard l(m);
        error = std::current_exception();
    }
    for (auto& t : pool)
        t.join();
    if (error)
        std::rethrow_exception(error);
}

// Cut the sorted entries of `open` into chunks, appending them to out. Entries before
// `from` were counted by the cutter already. What follows the last boundary stays in
// `open` unless final.
void cut(IndexKind kind, std::vector<Entry>& open, size_t from, Cutter& cutter, std::vector<OutChunk>& out, bool final)
{
    size_t start = 0;
    auto emit = [&](size_t end) {
        OutChunk c;
        c.info.first_key = open[start].key;
        c.info.entries = end - start;
        c.raw = render(kind, open, start, end);
        out.push_back(std::move(c));
        start = end;
    };
    for (size_t i = from; i < open.size();) {
        std::string_view group = group_of(kind, open[i].key);
        size_t bytes = 0;
        size_t j = i;
        for (; j < open.size() && group_of(kind, open[j].key) == group; ++j)
            bytes += entry_bytes(kind, open[j]);
        i = j;
        if (cutter.after_group(group, bytes))
            emit(i);
    }
    if (final && start < open.size())
        emit(open.size());
    open.erase(open.begin(), open.begin() + long(start));
}

BuiltIndex write_index(const std::vector<OutChunk>& chunks, const Mapped* old_raw, const Mapped* old_gz,
                       const Mapped* old_xz, const std::vector<ChunkInfo>& old_chunks,
                       const std::filesystem::path& dir, const std::string& basename, const BuildOptions& options)
{
    std::vector<uint64_t> raw_off, gz_off, xz_off;
    uint64_t r = 0, g = 0, x = 12;
    for (const auto& c : old_chunks) {
        raw_off.push_back(r);
        gz_off.push_back(g);
        xz_off.push_back(x);
        r += c.raw_size;
        g += c.gz_size;
        x += c.xz_size;
    }
    OutFile raw(dir, basename), gz(dir, basename + ".gz"), xz(dir, basename + ".xz");
    BuiltIndex out;
    std::vector<XzBlockSize> blocks;
    xz.write(xz_stream_header());
    for (const auto& c : chunks) {
        if (c.old >= 0) {
            auto i = size_t(c.old);
            raw.write(old_raw->view(raw_off[i], c.info.raw_size));
            gz.write(old_gz->view(gz_off[i], c.info.gz_size));
            xz.write(old_xz->view(xz_off[i], c.info.xz_size));
        } else {
            raw.write(c.raw);
            gz.write(c.gz);
            xz.write(c.xz.bytes);
            ++out.chunks_built;
        }
        blocks.push_back({c.info.xz_unpadded, c.info.raw_size});
        out.state.chunks.push_back(c.info);
    }
    if (chunks.empty())
        gz.write(gzip_member("", options.gzip_level)); // an empty file is not valid gzip
    xz.write(xz_stream_tail(blocks));
    out.state.raw = raw.finish(out.raw_tmp);
    out.state.gz = gz.finish(out.gz_tmp);
    out.state.xz = xz.finish(out.xz_tmp);
    return out;
}

void sort_unique(std::vector<Entry>& entries)
{
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
    entries.erase(std::unique(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key == b.key; }),
                  entries.end());
}

// ---- state encoding -------------------------------------------------------------

void put_u64(std::string& out, uint64_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        out += char(b | (v ? 0x80 : 0));
    } while (v);
}

bool get_u64(std::string_view& in, uint64_t& v)
{
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (in.empty())
            return false;
        uint8_t b = uint8_t(in.front());
        in.remove_prefix(1);
        v |= uint64_t(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

void put_str(std::string& out, std::string_view s)
{
    put_u64(out, s.size());
    out += s;
}

bool get_str(std::string_view& in, std::string& s)
{
    uint64_t n;
    if (!get_u64(in, n) || n > in.size())
        return false;
    s = std::string(in.substr(0, n));
    in.remove_prefix(n);
    return true;
}

constexpr std::string_view state_magic = "mbdidx1";

} // namespace

std::string stanza_key(IndexKind kind, std::string_view stanza)
{
    std::string key(field_value(stanza, "Package"));
    if (kind == IndexKind::packages) {
        key += sep;
        key += field_value(stanza, "Architecture");
    }
    key += sep;
    key += field_value(stanza, "Version");
    return key;
}

std::string contents_key(std::string_view path, std::string_view qualified_package)
{
    std::string key(path);
    key += sep;
    key += qualified_package;
    return key;
}

std::string IndexState::encode() const
{
    std::string out(state_magic);
    for (const FileInfo* f : {&raw, &gz, &xz}) {
        put_u64(out, f->size);
        put_str(out, f->sha256);
        put_str(out, f->sha512);
    }
    put_u64(out, chunks.size());
    for (const auto& c : chunks) {
        put_str(out, c.first_key);
        put_u64(out, c.entries);
        put_u64(out, c.raw_size);
        put_u64(out, c.gz_size);
        put_u64(out, c.xz_size);
        put_u64(out, c.xz_unpadded);
    }
    return out;
}

std::optional<IndexState> IndexState::decode(std::string_view in)
{
    if (!starts_with(in, state_magic))
        return std::nullopt;
    in.remove_prefix(state_magic.size());
    IndexState s;
    for (FileInfo* f : {&s.raw, &s.gz, &s.xz})
        if (!get_u64(in, f->size) || !get_str(in, f->sha256) || !get_str(in, f->sha512))
            return std::nullopt;
    uint64_t n;
    if (!get_u64(in, n) || n > in.size())
        return std::nullopt;
    s.chunks.resize(n);
    for (auto& c : s.chunks)
        if (!get_str(in, c.first_key) || !get_u64(in, c.entries) || !get_u64(in, c.raw_size) ||
            !get_u64(in, c.gz_size) || !get_u64(in, c.xz_size) || !get_u64(in, c.xz_unpadded))
            return std::nullopt;
    if (!in.empty())
        return std::nullopt;
    return s;
}

std::string render_full(IndexKind kind, std::vector<Entry> entries)
{
    sort_unique(entries);
    return render(kind, entries, 0, entries.size());
}

BuiltIndex build_full(IndexKind kind, std::vector<Entry> entries, const std::filesystem::path& dir,
                      const std::string& basename, const BuildOptions& options)
{
    sort_unique(entries);
    std::vector<OutChunk> chunks;
    Cutter cutter(kind);
    cut(kind, entries, 0, cutter, chunks, true);
    compress_all(chunks, options);
    return write_index(chunks, nullptr, nullptr, nullptr, {}, dir, basename, options);
}

std::optional<BuiltIndex> build_incremental(IndexKind kind, const IndexState& old, const std::filesystem::path& old_raw,
                                            const std::filesystem::path& old_gz, const std::filesystem::path& old_xz,
                                            std::vector<Change> changes, const std::filesystem::path& dir,
                                            const std::string& basename, const BuildOptions& options)
{
    Mapped raw, gz, xz;
    if (!raw.open(old_raw, old.raw.size) || !gz.open(old_gz, old.gz.size) || !xz.open(old_xz, old.xz.size))
        return std::nullopt;
    uint64_t raw_sum = 0, gz_sum = 0, xz_sum = 12;
    for (const auto& c : old.chunks) {
        raw_sum += c.raw_size;
        gz_sum += c.gz_size;
        xz_sum += c.xz_size;
    }
    if (raw_sum != old.raw.size || (gz_sum != old.gz.size && !old.chunks.empty()) || xz_sum > old.xz.size)
        return std::nullopt;
    if (old.chunks.empty()) {
        std::vector<Entry> entries;
        for (auto& c : changes)
            if (c.text)
                entries.push_back({std::move(c.key), std::move(*c.text)});
        return build_full(kind, std::move(entries), dir, basename, options);
    }

    // Changes per old chunk: the last chunk whose first key is <= the change's key.
    std::map<size_t, std::map<std::string, std::optional<std::string>>> per_chunk;
    for (auto& c : changes) {
        // by group, so that the entries of one Contents path stay in one chunk
        std::string_view group = group_of(kind, c.key);
        auto it = std::upper_bound(old.chunks.begin(), old.chunks.end(), group, [&](std::string_view g, const ChunkInfo& ci) {
            return g < group_of(kind, ci.first_key);
        });
        size_t i = it == old.chunks.begin() ? 0 : size_t(it - old.chunks.begin()) - 1;
        per_chunk[i][c.key] = std::move(c.text);
    }

    std::vector<uint64_t> raw_off;
    uint64_t off = 0;
    for (const auto& c : old.chunks) {
        raw_off.push_back(off);
        off += c.raw_size;
    }
    auto entries_of = [&](size_t i) {
        std::vector<Entry> e;
        parse_chunk(kind, raw.view(raw_off[i], old.chunks[i].raw_size), e);
        auto pc = per_chunk.find(i);
        if (pc == per_chunk.end())
            return e;
        std::map<std::string, std::optional<std::string>>& ch = pc->second;
        std::vector<Entry> merged;
        merged.reserve(e.size() + ch.size());
        for (auto& x : e) {
            auto c = ch.find(x.key);
            if (c == ch.end())
                merged.push_back(std::move(x));
        }
        for (auto& [k, t] : ch)
            if (t)
                merged.push_back({k, *t});
        sort_unique(merged);
        return merged;
    };

    std::vector<OutChunk> chunks;
    size_t n = old.chunks.size();
    for (size_t i = 0; i < n;) {
        if (!per_chunk.count(i)) {
            OutChunk c;
            c.old = long(i);
            c.info = old.chunks[i];
            chunks.push_back(std::move(c));
            ++i;
            continue;
        }
        // Rebuild from chunk i (its start is a boundary) until a boundary falls on an old one.
        Cutter cutter(kind);
        std::vector<Entry> open;
        size_t j = i;
        do {
            auto more = entries_of(j++);
            size_t from = open.size();
            std::move(more.begin(), more.end(), std::back_inserter(open));
            cut(kind, open, from, cutter, chunks, j == n);
        } while (!open.empty());
        i = j;
    }
    compress_all(chunks, options);
    log::debug("publish", "{}: {} chunks, {} rebuilt", basename, chunks.size(),
               std::count_if(chunks.begin(), chunks.end(), [](const OutChunk& c) { return c.old < 0; }));
    return write_index(chunks, &raw, &gz, &xz, old.chunks, dir, basename, options);
}

} // namespace mbd::archive
