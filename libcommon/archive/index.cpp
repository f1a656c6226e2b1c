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
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#define OPENSSL_SUPPRESS_DEPRECATED // SHA256_CTX, SHA512_CTX: see StreamHash
#include <openssl/crypto.h>
#include <openssl/sha.h>

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

// Content-defined chunk boundaries. A chunk is the unit an update recompresses: about
// 30 KB (16 KB, then a boundary every 16 stanzas or 128 Contents paths on average) keeps
// one change at a few ms of xz -6 per index; larger chunks compress a few per cent
// better and cost proportionally more per change (bench/README.md).
struct Cutter {
    size_t min_bytes, max_bytes;
    uint64_t divisor;
    size_t bytes = 0;

    explicit Cutter(IndexKind kind)
        : min_bytes(16 * 1024), max_bytes(256 * 1024), divisor(kind == IndexKind::contents ? 128 : 16)
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

// v2: hash marks; v3: whether the uncompressed file was written (before: always)
constexpr std::string_view state_magic_v1 = "mbdidx1", state_magic_v2 = "mbdidx2", state_magic = "mbdidx3";

// ---- hashes ---------------------------------------------------------------------

// SHA-256 and SHA-512 of one file as it is written, with a state that can be saved and
// resumed (EVP digests cannot export theirs). OpenSSL's low-level contexts are plain
// structs of its public header, saved byte for byte under a tag naming the OpenSSL release
// and their sizes; a state saved under another tag is not used (hashing starts over).
class StreamHash {
public:
    StreamHash()
    {
        SHA256_Init(&s256_);
        SHA512_Init(&s512_);
    }
    void update(std::string_view d)
    {
        SHA256_Update(&s256_, d.data(), d.size());
        SHA512_Update(&s512_, d.data(), d.size());
        size_ += d.size();
    }
    FileInfo finish() const
    {
        SHA256_CTX a = s256_;
        SHA512_CTX b = s512_;
        unsigned char m256[SHA256_DIGEST_LENGTH], m512[SHA512_DIGEST_LENGTH];
        SHA256_Final(m256, &a);
        SHA512_Final(m512, &b);
        return FileInfo{size_, hex(m256, sizeof m256), hex(m512, sizeof m512)};
    }
    void save(std::string& out) const
    {
        // the block buffers past their fill are left-overs of earlier blocks: zeroed, so
        // that equal hashed data saves equal bytes
        SHA256_CTX a = s256_;
        SHA512_CTX b = s512_;
        std::memset(reinterpret_cast<unsigned char*>(a.data) + a.num, 0, sizeof a.data - a.num);
        std::memset(b.u.p + b.num, 0, sizeof b.u.p - b.num);
        put_u64(out, size_);
        out.append(reinterpret_cast<const char*>(&a), sizeof a);
        out.append(reinterpret_cast<const char*>(&b), sizeof b);
    }
    bool load(std::string_view& in)
    {
        if (!get_u64(in, size_) || in.size() < sizeof s256_ + sizeof s512_)
            return false;
        std::memcpy(&s256_, in.data(), sizeof s256_);
        std::memcpy(&s512_, in.data() + sizeof s256_, sizeof s512_);
        in.remove_prefix(sizeof s256_ + sizeof s512_);
        return true;
    }
    uint64_t size() const { return size_; }
    static std::string tag()
    {
        return fmt::format("openssl {:x} {} {}", OpenSSL_version_num() >> 20, sizeof(SHA256_CTX), sizeof(SHA512_CTX));
    }

private:
    static std::string hex(const unsigned char* p, size_t n) { return hex_encode(p, n); }
    SHA256_CTX s256_;
    SHA512_CTX s512_;
    uint64_t size_ = 0;
};

// ---- files --------------------------------------------------------------------

// How a form of an index is made: not at all, hashed only (the uncompressed form of a set
// without it: Release lists it all the same), or written and hashed.
enum class Out { none, hashed, written };

// One form of an index being made; one not written is no file.
class OutFile {
public:
    OutFile(const std::filesystem::path& dir, const std::string& name, Out out = Out::written) : out_(out)
    {
        if (out != Out::written)
            return;
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
        if (out_ == Out::none)
            return;
        hash.update(data);
        if (out_ != Out::written)
            return;
        buf_.append(data);
        if (buf_.size() >= (1 << 20))
            flush();
    }
    // The first `length` bytes of `from`, not hashed (the caller sets `hash` to their
    // saved state); copied by the kernel where it can.
    void copy_unhashed(const class OldFile& from, uint64_t length);
    // Closes the file (kept on disk) and returns its size and hashes.
    FileInfo finish(std::filesystem::path& path)
    {
        if (out_ != Out::written)
            return out_ == Out::none ? FileInfo{} : hash.finish();
        flush();
        if (::close(fd_) != 0)
            throw sys_error(fmt::format("cannot write '{}'", path_.string()));
        fd_ = -1;
        path = path_;
        return hash.finish();
    }
    StreamHash hash;

private:
    void flush()
    {
        put(buf_);
        buf_.clear();
    }
    void put(std::string_view d)
    {
        while (!d.empty()) {
            ssize_t n = ::write(fd_, d.data(), d.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw sys_error(fmt::format("cannot write '{}'", path_.string()));
            d.remove_prefix(size_t(n));
        }
    }
    Out out_;
    int fd_ = -1;
    std::filesystem::path path_;
    std::string buf_;
};

// A previous file of an index, read where needed (not mapped: only what is being copied
// or parsed is in memory, and a read costs no page faults).
class OldFile {
public:
    // Opens the file when it exists with the expected size.
    bool open(const std::filesystem::path& path, uint64_t expected)
    {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st{};
        return fd_ >= 0 && ::fstat(fd_, &st) == 0 && uint64_t(st.st_size) == expected;
    }
    ~OldFile()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    OldFile() = default;
    OldFile(const OldFile&) = delete;
    OldFile& operator=(const OldFile&) = delete;
    int fd() const { return fd_; }
    bool is_open() const { return fd_ >= 0; }
    // Bytes [offset, offset + length), valid until the next read (empty: a form not written).
    std::string_view read(uint64_t offset, uint64_t length) const
    {
        read_into(offset, length, buf_);
        return buf_;
    }
    // The same into buf (callers on other threads bring their own).
    void read_into(uint64_t offset, uint64_t length, std::string& buf) const
    {
        buf.clear();
        if (fd_ < 0)
            return;
        buf.resize(length);
        for (uint64_t done = 0; done < length;) {
            ssize_t n = ::pread(fd_, buf.data() + done, length - done, off_t(offset + done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw sys_error("cannot read a previous index file");
            done += uint64_t(n);
        }
    }

private:
    int fd_ = -1;
    mutable std::string buf_;
};

void OutFile::copy_unhashed(const OldFile& from, uint64_t length)
{
    if (out_ != Out::written)
        return;
    flush();
    loff_t off = 0;
    while (uint64_t(off) < length) {
        ssize_t n = ::copy_file_range(from.fd(), &off, fd_, nullptr, size_t(length - uint64_t(off)), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { // not here (another file system, an old kernel): copy it ourselves
            for (; uint64_t(off) < length; off += 1 << 20)
                put(from.read(uint64_t(off), std::min<uint64_t>(1 << 20, length - uint64_t(off))));
            return;
        }
    }
}

// A chunk of the new index: copied from the old files, or built from entries.
struct OutChunk {
    long old = -1; // index into the old chunks when copied
    ChunkInfo info;
    std::string raw, gz;
    XzBlock xz;
};

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
        c.info.raw_size = c.raw.size();
        out.push_back(std::move(c));
        for (size_t i = start; i < end; ++i) // rendered: only one copy of the text stays in memory
            std::string().swap(open[i].text);
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

// Where each chunk of an index starts in its three files, and (last) where the chunks end.
struct Offsets {
    std::vector<uint64_t> raw, gz, xz;
};

// The offsets of chunks in the three files (the xz file starts with its stream header).
Offsets chunk_offsets(const std::vector<ChunkInfo>& chunks)
{
    Offsets at{{0}, {0}, {xz_stream_header().size()}};
    for (const auto& c : chunks) {
        at.raw.push_back(at.raw.back() + c.raw_size);
        at.gz.push_back(at.gz.back() + c.gz_size);
        at.xz.push_back(at.xz.back() + c.xz_size);
    }
    return at;
}

// A previous file of an index is damaged: a chunk of it does not decompress, or not to its
// size. The update gives up; the index is built in full (build_incremental's nullopt).
class DamagedOld : public Error {
public:
    using Error::Error;
};

// The previous files of an index being updated (those it wrote), and its state.
struct OldIndex {
    const IndexState& state;
    const OldFile &raw, &gz, &xz;
    Offsets at; // where its chunks start in them

    // The uncompressed text of chunk i: from the uncompressed file, or else its gzip member
    // or its xz block (each decompresses on its own). Safe on any thread.
    std::string text(size_t i) const
    {
        const ChunkInfo& c = state.chunks[i];
        std::string buf;
        if (raw.is_open()) {
            raw.read_into(at.raw[i], c.raw_size, buf);
            return buf;
        }
        std::string out;
        const char* form = gz.is_open() ? "gz" : "xz";
        try {
            if (gz.is_open()) {
                gz.read_into(at.gz[i], c.gz_size, buf);
                out = gunzip(buf);
            } else {
                xz.read_into(at.xz[i], c.xz_size, buf);
                out = unxz(xz_stream_header() + buf + xz_stream_tail({{c.xz_unpadded, c.raw_size}}));
            }
        } catch (const Error& e) {
            throw DamagedOld(Exit::state, fmt::format("chunk {} of the previous .{}: {}", i, form, e.what()));
        }
        if (out.size() != c.raw_size)
            throw DamagedOld(Exit::state, fmt::format("chunk {} of the previous .{} is {} bytes, its state says {}", i,
                                                      form, out.size(), c.raw_size));
        return out;
    }
};

// Compress the new chunks among chunks [begin, end), in parallel; and, when the old
// index has no uncompressed file, decompress the text of the old ones (for hashing).
void compress_all(std::vector<OutChunk>& chunks, size_t begin, size_t end, const BuildOptions& options,
                  const OldIndex* old)
{
    std::vector<size_t> jobs;
    bool old_text = old && !old->raw.is_open();
    for (size_t i = begin; i < end; ++i)
        if (chunks[i].old < 0 || old_text)
            jobs.push_back(i);
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t j; (j = next++) < jobs.size();) {
            OutChunk& c = chunks[jobs[j]];
            if (c.old >= 0) {
                c.raw = old->text(size_t(c.old));
                continue;
            }
            if (options.gz)
                c.gz = gzip_member(c.raw, options.gzip_level);
            if (options.xz)
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

// Does a hash mark follow a chunk starting at raw offset `start`? (Where the marks fall
// depends only on the chunks: equal indices have equal marks.)
bool mark_after(uint64_t start, uint64_t size, uint64_t spacing)
{
    return (start + size) / spacing > start / spacing;
}

// Writes the three forms of an index and hashes them (SHA-256 and SHA-512 of every byte
// is most of an update's work on a large index). An update resumes the hashes from the
// last mark before its first change: the bytes before it are copied unhashed. The
// uncompressed text (the largest) is hashed, and written if the set has it, by a task of
// its own; when it is not written, an update reads its copied chunks' text from their
// compressed forms.
class IndexWriter {
public:
    IndexWriter(const OldIndex* old, const std::filesystem::path& dir, const std::string& basename,
                const BuildOptions& options)
        : old_(old), basename_(basename), options_(options),
          raw_(dir, basename, options.raw ? Out::written : Out::hashed),
          gz_(dir, basename + ".gz", options.gz ? Out::written : Out::none),
          xz_(dir, basename + ".xz", options.xz ? Out::written : Out::none), raw_start_{0}
    {
        put_str(tag_, StreamHash::tag());
    }

    // Write the files of all the chunks, in batches: compressed, written, released (only a
    // batch is held compressed). An update copies what comes before its first change.
    BuiltIndex write(std::vector<OutChunk> chunks)
    {
        for (auto& c : chunks) {
            raw_start_.push_back(raw_start_.back() + c.info.raw_size);
            chunks_.push_back(std::move(c));
        }
        size_t from = 0;
        if (old_) {
            from = resume_hashes();
            log::debug("publish", "{}: hashing from chunk {} of {}", basename_, from, chunks_.size());
        }
        begin(from);
        written_ = from;
        return finish();
    }

    // Or (a full build) start, the chunks one by one (a batch is written once it is
    // complete), finish.
    void start() { begin(0); }
    void add(OutChunk chunk)
    {
        raw_start_.push_back(raw_start_.back() + chunk.info.raw_size);
        chunks_.push_back(std::move(chunk));
        if (chunks_.size() - written_ >= batch)
            write_batch(written_, chunks_.size());
    }

    // The chunks not written yet, then the ends of the files (the xz stream tail; an empty
    // index's gzip member), closed.
    BuiltIndex finish()
    {
        for (size_t b = written_; b < chunks_.size(); b += batch)
            write_batch(b, std::min(chunks_.size(), b + batch));
        std::vector<XzBlockSize> blocks;
        for (const auto& c : chunks_) {
            blocks.push_back({c.info.xz_unpadded, c.info.raw_size});
            out_.state.chunks.push_back(c.info);
        }
        if (chunks_.empty() && options_.gz)
            gz_.write(gzip_member("", options_.gzip_level)); // an empty file is not valid gzip
        if (options_.xz)
            xz_.write(xz_stream_tail(blocks));
        out_.state.gz = gz_.finish(out_.gz_tmp);
        out_.state.xz = xz_.finish(out_.xz_tmp);
        out_.state.raw = raw_.finish(out_.raw_tmp);
        out_.state.raw_written = options_.raw;
        return std::move(out_);
    }

private:
    static constexpr size_t batch = 64;

    // The chunk to resume from: the last usable mark in the chunks kept in place (loaded, and kept with those before).
    size_t resume_hashes()
    {
        size_t same = 0;
        while (same < chunks_.size() && chunks_[same].old == long(same))
            ++same;
        const auto& marks = old_->state.marks;
        std::string tag = StreamHash::tag();
        for (auto m = marks.rbegin(); m != marks.rend(); ++m) {
            std::string_view in = m->state;
            std::string have;
            if (m->chunks > same || m->chunks == 0 || !get_str(in, have) || have != tag || !raw_.hash.load(in) ||
                !gz_.hash.load(in) || !xz_.hash.load(in)) {
                raw_.hash = gz_.hash = xz_.hash = StreamHash();
                continue;
            }
            size_t from = size_t(m->chunks);
            for (const auto& keep : marks)
                if (keep.chunks <= from)
                    out_.state.marks.push_back(keep);
            return from;
        }
        return 0;
    }

    // The files up to chunk `from`: copied from the old ones, or (from 0) the xz stream header.
    void begin(size_t from)
    {
        if (from > 0) {
            raw_.copy_unhashed(old_->raw, old_->at.raw[from]);
            gz_.copy_unhashed(old_->gz, old_->at.gz[from]);
            xz_.copy_unhashed(old_->xz, old_->at.xz[from]);
        } else {
            xz_.write(xz_stream_header());
        }
    }

    // Does a hash mark follow chunk j?
    bool mark_after_chunk(size_t j) const
    {
        return mark_after(raw_start_[j], chunks_[j].info.raw_size, options_.hash_mark_bytes);
    }

    // Chunks [b, e) compressed, written (the uncompressed file by a task of its own), marked, released.
    void write_batch(size_t b, size_t e)
    {
        written_ = e;
        compress_all(chunks_, b, e, options_, old_);
        auto raw_task = std::async(std::launch::async, [&] { return write_raw(b, e); });
        std::vector<std::string> marks;
        try {
            marks = write_compressed(b, e);
        } catch (...) {
            raw_task.wait();
            throw;
        }
        auto raw_marks = raw_task.get();
        size_t k = 0;
        for (size_t j = b; j < e; ++j) {
            if (mark_after_chunk(j)) {
                out_.state.marks.push_back({j + 1, tag_ + raw_marks[k] + marks[k]});
                ++k;
            }
            // (swapped out: a string moved-assigned an empty one keeps its buffer)
            std::string().swap(chunks_[j].raw);
            std::string().swap(chunks_[j].gz);
            std::string().swap(chunks_[j].xz.bytes);
        }
    }

    // Chunks [b, e) written to the uncompressed file; its hash states at the marks.
    std::vector<std::string> write_raw(size_t b, size_t e)
    {
        std::vector<std::string> marks;
        for (size_t j = b; j < e; ++j) {
            const auto& c = chunks_[j];
            // (an old chunk's text: from the old uncompressed file, else decompressed by compress_all)
            if (c.old >= 0 && old_->raw.is_open())
                raw_.write(old_->raw.read(old_->at.raw[size_t(c.old)], c.info.raw_size));
            else
                raw_.write(c.raw);
            if (mark_after_chunk(j))
                raw_.hash.save(marks.emplace_back());
        }
        return marks;
    }

    // Chunks [b, e) written to the .gz and .xz files; their hash states at the marks.
    std::vector<std::string> write_compressed(size_t b, size_t e)
    {
        std::vector<std::string> marks;
        for (size_t j = b; j < e; ++j) {
            const auto& c = chunks_[j];
            if (c.old >= 0) {
                auto i = size_t(c.old);
                gz_.write(old_->gz.read(old_->at.gz[i], c.info.gz_size));
                xz_.write(old_->xz.read(old_->at.xz[i], c.info.xz_size));
            } else {
                gz_.write(c.gz);
                xz_.write(c.xz.bytes);
                ++out_.chunks_built;
            }
            if (mark_after_chunk(j)) {
                auto& m = marks.emplace_back();
                gz_.hash.save(m);
                xz_.hash.save(m);
            }
        }
        return marks;
    }

    std::vector<OutChunk> chunks_; // those written hold only their info
    size_t written_ = 0;           // chunks [0, written_) are in the files
    const OldIndex* old_;
    const std::string& basename_;
    const BuildOptions& options_;
    OutFile raw_, gz_, xz_;
    std::vector<uint64_t> raw_start_; // where each chunk starts in the uncompressed file (and where the last ends)
    std::string tag_;                 // what each mark's state starts with
    BuiltIndex out_;
};

void sort_unique(std::vector<Entry>& entries)
{
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
    entries.erase(std::unique(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key == b.key; }),
                  entries.end());
}

// Do the chunks of the old state add up to the sizes of its files (those it has)?
bool adds_up(const OldIndex& old, const BuildOptions& options)
{
    const IndexState& s = old.state;
    return old.at.raw.back() == s.raw.size && (!options.gz || old.at.gz.back() == s.gz.size || s.chunks.empty()) &&
           (!options.xz || old.at.xz.back() <= s.xz.size);
}

// Changes by key, per old chunk.
using ChunkChanges = std::map<size_t, std::map<std::string, std::optional<std::string>>>;

// Each change goes to the last old chunk whose first key is <= the change's key.
ChunkChanges changes_per_chunk(IndexKind kind, const std::vector<ChunkInfo>& chunks, std::vector<Change> changes)
{
    ChunkChanges per_chunk;
    for (auto& c : changes) {
        // by group, so that the entries of one Contents path stay in one chunk
        std::string_view group = group_of(kind, c.key);
        auto it = std::upper_bound(chunks.begin(), chunks.end(), group, [&](std::string_view g, const ChunkInfo& ci) {
            return g < group_of(kind, ci.first_key);
        });
        size_t i = it == chunks.begin() ? 0 : size_t(it - chunks.begin()) - 1;
        per_chunk[i][c.key] = std::move(c.text);
    }
    return per_chunk;
}

// The entries of old chunk i, its changes applied.
std::vector<Entry> chunk_entries(IndexKind kind, const OldIndex& old, size_t i, const ChunkChanges& per_chunk)
{
    std::vector<Entry> e;
    parse_chunk(kind, old.text(i), e);
    auto pc = per_chunk.find(i);
    if (pc == per_chunk.end())
        return e;
    const std::map<std::string, std::optional<std::string>>& ch = pc->second;
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
}

// The chunks of the updated index: an old chunk without changes copied, the others cut again.
std::vector<OutChunk> rechunk(IndexKind kind, const OldIndex& old, const ChunkChanges& per_chunk)
{
    std::vector<OutChunk> chunks;
    size_t n = old.state.chunks.size();
    for (size_t i = 0; i < n;) {
        if (!per_chunk.count(i)) {
            OutChunk c;
            c.old = long(i);
            c.info = old.state.chunks[i];
            chunks.push_back(std::move(c));
            ++i;
            continue;
        }
        // Rebuild from chunk i (its start is a boundary) until a boundary falls on an old one.
        Cutter cutter(kind);
        std::vector<Entry> open;
        size_t j = i;
        do {
            auto more = chunk_entries(kind, old, j++, per_chunk);
            size_t from = open.size();
            std::move(more.begin(), more.end(), std::back_inserter(open));
            cut(kind, open, from, cutter, chunks, j == n);
        } while (!open.empty());
        i = j;
    }
    return chunks;
}

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
    put_u64(out, raw_written ? 1 : 0);
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
    put_u64(out, marks.size());
    for (const auto& m : marks) {
        put_u64(out, m.chunks);
        put_str(out, m.state);
    }
    return out;
}

std::optional<IndexState> IndexState::decode(std::string_view in)
{
    bool v1 = starts_with(in, state_magic_v1), v2 = starts_with(in, state_magic_v2);
    if (!v1 && !v2 && !starts_with(in, state_magic))
        return std::nullopt;
    in.remove_prefix(state_magic.size());
    IndexState s;
    if (!v1 && !v2) {
        uint64_t flags;
        if (!get_u64(in, flags) || flags > 1)
            return std::nullopt;
        s.raw_written = flags == 1;
    }
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
    if (!v1) {
        if (!get_u64(in, n) || n > in.size())
            return std::nullopt;
        s.marks.resize(n);
        for (auto& m : s.marks)
            if (!get_u64(in, m.chunks) || !get_str(in, m.state) || m.chunks > s.chunks.size())
                return std::nullopt;
    }
    if (!in.empty())
        return std::nullopt;
    return s;
}

bool same_forms(const IndexState& state, const BuildOptions& options)
{
    return state.raw_written == options.raw && state.gz.sha256.empty() != options.gz &&
           state.xz.sha256.empty() != options.xz;
}

std::string render_full(IndexKind kind, std::vector<Entry> entries)
{
    sort_unique(entries);
    return render(kind, entries, 0, entries.size());
}

std::optional<BuiltIndex> build_streamed(IndexKind kind, const EntryStream& next, const std::filesystem::path& dir,
                                         const std::string& basename, const BuildOptions& options)
{
    IndexWriter writer(nullptr, dir, basename, options);
    writer.start();
    Cutter cutter(kind);
    std::vector<Entry> open; // entries not in a chunk yet; those before `counted` seen by the cutter
    std::vector<OutChunk> chunks;
    size_t counted = 0;
    auto cut_open = [&](bool final) {
        cut(kind, open, counted, cutter, chunks, final);
        counted = open.size();
        for (auto& c : chunks)
            writer.add(std::move(c));
        chunks.clear();
    };
    std::optional<std::string> last;
    for (Entry e; next(e);) {
        if (last && e.key <= *last) {
            if (e.key == *last)
                continue;
            return std::nullopt;
        }
        // (cut only between groups: a Contents path's entries stay together)
        if (open.size() - counted >= 256 && group_of(kind, e.key) != group_of(kind, open.back().key))
            cut_open(false);
        last = e.key;
        open.push_back(std::move(e));
    }
    cut_open(true);
    return writer.finish();
}

BuiltIndex build_full(IndexKind kind, std::vector<Entry> entries, const std::filesystem::path& dir,
                      const std::string& basename, const BuildOptions& options)
{
    sort_unique(entries);
    size_t i = 0;
    return *build_streamed(
        kind,
        [&](Entry& e) {
            if (i == entries.size())
                return false;
            e = std::move(entries[i++]);
            return true;
        },
        dir, basename, options);
}

std::optional<BuiltIndex> build_incremental(IndexKind kind, const IndexState& old, const std::filesystem::path& old_raw,
                                            const std::filesystem::path& old_gz, const std::filesystem::path& old_xz,
                                            std::vector<Change> changes, const std::filesystem::path& dir,
                                            const std::string& basename, const BuildOptions& options)
{
    // (forms published now and not before, or the other way round: built in full)
    if (!same_forms(old, options))
        return std::nullopt;
    OldFile raw, gz, xz;
    if ((options.raw && !raw.open(old_raw, old.raw.size)) || (options.gz && !gz.open(old_gz, old.gz.size)) ||
        (options.xz && !xz.open(old_xz, old.xz.size)))
        return std::nullopt;
    OldIndex prev{old, raw, gz, xz, chunk_offsets(old.chunks)};
    if (!adds_up(prev, options))
        return std::nullopt;
    if (old.chunks.empty()) {
        // The last change of each key stands, as below: a version added and taken out
        // again since the last publish (one moved on to a rollback) is not in the index.
        std::map<std::string, std::optional<std::string>> last;
        for (auto& c : changes)
            last[std::move(c.key)] = std::move(c.text);
        std::vector<Entry> entries;
        for (auto& [key, text] : last)
            if (text)
                entries.push_back({key, std::move(*text)});
        return build_full(kind, std::move(entries), dir, basename, options);
    }
    try {
        auto chunks = rechunk(kind, prev, changes_per_chunk(kind, old.chunks, std::move(changes)));
        log::debug("publish", "{}: {} chunks, {} rebuilt", basename, chunks.size(),
                   std::count_if(chunks.begin(), chunks.end(), [](const OutChunk& c) { return c.old < 0; }));
        return IndexWriter(&prev, dir, basename, options).write(std::move(chunks));
    } catch (const DamagedOld& e) {
        log::warning("{}: {}: built in full", (dir / basename).string(), e.what());
        return std::nullopt;
    }
}

} // namespace mbd::archive
