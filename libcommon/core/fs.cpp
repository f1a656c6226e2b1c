#include "core/fs.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <memory>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mbd {
namespace {

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};


std::string read_fd(int fd, const fs::path& path, std::uintmax_t max_size)
{
    std::string out;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw sys_error(fmt::format("cannot read '{}'", path.string()));
        }
        if (n == 0)
            break;
        out.append(buf, size_t(n));
        if (out.size() > max_size)
            throw fail(Exit::rejected, "'{}' is larger than {} bytes", path.string(), max_size);
    }
    return out;
}

// Fetched once: OpenSSL 3 looks an implicitly fetched digest (EVP_sha256()...) up again at
// every init, under a lock (an import inits four per file).
const EVP_MD* md_of(Hasher::Algo algo)
{
    static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    static EVP_MD* const sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
    switch (algo) {
    case Hasher::Algo::md5: return md5 ? md5 : EVP_md5();
    case Hasher::Algo::sha1: return sha1 ? sha1 : EVP_sha1();
    case Hasher::Algo::sha256: return sha256 ? sha256 : EVP_sha256();
    case Hasher::Algo::sha512: return sha512 ? sha512 : EVP_sha512();
    }
    return EVP_sha256();
}

std::string digest_hex(Hasher::Algo algo, std::string_view data)
{
    Hasher h(algo);
    h.update(data);
    return h.hex();
}

} // namespace

std::string read_file(const fs::path& path)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0)
        throw sys_error(fmt::format("cannot open '{}'", path.string()));
    return read_fd(fd.fd, path, UINTMAX_MAX);
}

std::string read_input(const std::string& file)
{
    return file == "-" ? read_fd(STDIN_FILENO, "standard input", UINTMAX_MAX) : read_file(file);
}

std::string read_file_nofollow(const fs::path& path, std::uintmax_t max_size)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (fd.fd < 0) {
        if (errno == ELOOP)
            throw fail(Exit::rejected, "'{}' is a symbolic link", path.filename().string());
        throw sys_error(fmt::format("cannot open '{}'", path.string()));
    }
    struct stat st{};
    if (::fstat(fd.fd, &st) != 0)
        throw sys_error(fmt::format("cannot stat '{}'", path.string()));
    if (!S_ISREG(st.st_mode))
        throw fail(Exit::rejected, "'{}' is not a regular file", path.filename().string());
    return read_fd(fd.fd, path, max_size);
}

void fsync_dir(const fs::path& dir)
{
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.fd < 0 || ::fsync(fd.fd) != 0)
        throw sys_error(fmt::format("cannot sync directory '{}'", dir.string()));
}

namespace {

// Replace path with what write(fd) puts into a temporary file beside it: mode set, fsynced,
// renamed over path, the directory fsynced (the temporary removed if any step fails).
template <typename Write>
void replace_atomic(const fs::path& path, mode_t mode, Write&& write, Durable durable = Durable::yes)
{
    fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    std::string tmpl = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
    int raw = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (raw < 0)
        throw sys_error(fmt::format("cannot create a temporary file in '{}'", dir.string()));
    Fd fd(raw);
    try {
        write(fd.fd);
        if (::fchmod(fd.fd, mode) != 0 || (durable == Durable::yes && ::fsync(fd.fd) != 0))
            throw sys_error(fmt::format("cannot write '{}'", path.string()));
        if (::rename(tmpl.c_str(), path.c_str()) != 0)
            throw sys_error(fmt::format("cannot rename into '{}'", path.string()));
    } catch (...) {
        ::unlink(tmpl.c_str());
        throw;
    }
    if (durable == Durable::yes)
        fsync_dir(dir);
}


} // namespace

void write_all(int fd, std::string_view data, const fs::path& path)
{
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw sys_error(fmt::format("cannot write '{}'", path.string()));
        }
        data.remove_prefix(size_t(n));
    }
}

void copy_fd(int in, int out, const fs::path& src, const fs::path& dst)
{
    char buf[1 << 16];
    while (true) {
        ssize_t n = ::read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw sys_error(fmt::format("cannot read '{}'", src.string()));
        if (n == 0)
            break;
        write_all(out, std::string_view(buf, size_t(n)), dst);
    }
}

void write_atomic(const fs::path& path, std::string_view content, mode_t mode, Durable durable)
{
    replace_atomic(path, mode, [&](int fd) { write_all(fd, content, path); }, durable);
}

void sync_filesystem(const fs::path& path)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0 || ::syncfs(fd.fd) != 0)
        throw sys_error(fmt::format("cannot sync the file system of '{}'", path.string()));
}

void copy_atomic(const fs::path& src, const fs::path& dst, mode_t mode)
{
    Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0)
        throw sys_error(fmt::format("cannot open '{}'", src.string()));
    replace_atomic(dst, mode, [&](int out) { copy_fd(in.fd, out, src, dst); });
}

void make_dirs(const fs::path& dir, mode_t mode) { make_new_dirs(dir, mode); }

std::vector<fs::path> make_new_dirs(const fs::path& dir, mode_t mode)
{
    // mkdir first: one call where the parent is there (a new pool directory, say)
    if (::mkdir(dir.c_str(), mode) == 0)
        return {dir};
    int err = errno;
    std::error_code ec;
    if (err == EEXIST && fs::is_directory(dir, ec))
        return {};
    if (err != ENOENT || dir.parent_path().empty() || dir.parent_path() == dir)
        throw sys_error(err, fmt::format("cannot create directory '{}'", dir.string()));
    auto made = make_new_dirs(dir.parent_path(), mode == 0700 ? 0755 : mode);
    if (::mkdir(dir.c_str(), mode) == 0)
        made.push_back(dir);
    else if (err = errno; err != EEXIST || !fs::is_directory(dir, ec)) // (made meanwhile by another)
        throw sys_error(err, fmt::format("cannot create directory '{}'", dir.string()));
    return made;
}

Hasher::Hasher(Algo algo) : ctx_(EVP_MD_CTX_new()), algo_(algo)
{
    if (!ctx_)
        throw Error("cannot initialise a message digest");
    restart();
}

void Hasher::restart()
{
    if (EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), md_of(algo_), nullptr) != 1)
        throw Error("cannot initialise a message digest");
}

Hasher::~Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Hasher::update(std::string_view data)
{
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Hasher::hex()
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
    return hex_encode(md, len);
}

std::string sha256_hex(std::string_view data) { return digest_hex(Hasher::Algo::sha256, data); }
std::string sha512_hex(std::string_view data) { return digest_hex(Hasher::Algo::sha512, data); }
std::string md5_hex(std::string_view data) { return digest_hex(Hasher::Algo::md5, data); }

FileDigest digest_file(const fs::path& path)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0)
        throw sys_error(fmt::format("cannot open '{}'", path.string()));
    return digest_fd(fd.fd, path);
}

namespace {

// The four digests of a file, fed in chunks. One per thread, restarted for each file
// (an import digests 125,000 files: four digest contexts made and freed for each cost more
// than hashing the small ones).
class FourDigests {
public:
    static FourDigests& restarted()
    {
        thread_local FourDigests d;
        d.md5_.restart();
        d.sha1_.restart();
        d.s256_.restart();
        d.s512_.restart();
        d.size_ = 0;
        return d;
    }
    void update(std::string_view chunk)
    {
        md5_.update(chunk);
        sha1_.update(chunk);
        s256_.update(chunk);
        s512_.update(chunk);
        size_ += chunk.size();
    }
    FileDigest done() { return {size_, md5_.hex(), sha1_.hex(), s256_.hex(), s512_.hex()}; }

private:
    Hasher md5_{Hasher::Algo::md5}, sha1_{Hasher::Algo::sha1}, s256_{Hasher::Algo::sha256},
        s512_{Hasher::Algo::sha512};
    std::uintmax_t size_ = 0;
};

// read(2) into buf, retried on EINTR; 0 at the end.
size_t read_some(int fd, char* buf, size_t size, const fs::path& path)
{
    for (;;) {
        ssize_t n = ::read(fd, buf, size);
        if (n >= 0)
            return size_t(n);
        if (errno != EINTR)
            throw sys_error(fmt::format("cannot read '{}'", path.string()));
    }
}

} // namespace

FileDigest digest_fd(int fd, const fs::path& path)
{
    FourDigests& d = FourDigests::restarted();
    auto buf = std::make_unique_for_overwrite<char[]>(1 << 16); // (not zeroed: one per file)
    while (size_t n = read_some(fd, buf.get(), 1 << 16, path))
        d.update({buf.get(), n});
    return d.done();
}

std::optional<FileDigest> digest_regular_file(const fs::path& path, std::uintmax_t keep_max,
                                              std::optional<std::string>& bytes)
{
    bytes.reset();
    // (O_NONBLOCK: opening a FIFO waits for no writer; a regular file's reads ignore it)
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ENXIO))
        return std::nullopt;
    struct stat st {};
    if (fd.fd < 0 || ::fstat(fd.fd, &st) != 0)
        throw sys_error(fmt::format("cannot open '{}'", path.string()));
    if (!S_ISREG(st.st_mode))
        return std::nullopt;
    if (std::uintmax_t(st.st_size) > keep_max)
        return digest_fd(fd.fd, path);
    // (one byte more than its size: a file that grew since fstat is read to its end all the
    // same; a read that stops short at the size fstat gave is taken as the end, with no read
    // for the 0: a file still being written then is hashed as it was, and fails its checksum)
    std::string all(size_t(st.st_size) + 1, '\0');
    size_t got = 0;
    while (size_t n = read_some(fd.fd, all.data() + got, all.size() - got, path)) {
        got += n;
        if (got == all.size())
            all.resize(all.size() * 2);
        else if (got == size_t(st.st_size))
            break;
    }
    all.resize(got);
    FourDigests& d = FourDigests::restarted();
    d.update(all);
    if (got <= keep_max)
        bytes = std::move(all);
    return d.done();
}

std::string sha256_file(const fs::path& path)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0)
        throw sys_error(fmt::format("cannot open '{}'", path.string()));
    Hasher h(Hasher::Algo::sha256);
    auto buf = std::make_unique_for_overwrite<char[]>(1 << 16);
    while (size_t n = read_some(fd.fd, buf.get(), 1 << 16, path))
        h.update({buf.get(), n});
    return h.hex();
}

FileLock::FileLock(const fs::path& path, bool wait)
{
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw sys_error(fmt::format("cannot open lock file '{}'", path.string()));
    if (::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK)
            throw fail(Exit::locked, "'{}' is locked by another process", path.string());
        throw sys_error(err, fmt::format("cannot lock '{}'", path.string()));
    }
    log::debug("lock", "locked '{}'", path.string());
}

std::optional<FileLock> FileLock::try_lock(const fs::path& path)
{
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw sys_error(fmt::format("cannot open lock file '{}'", path.string()));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    return FileLock(fd);
}

FileLock::~FileLock()
{
    if (fd_ >= 0)
        ::close(fd_);
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix)
{
    std::string tmpl = (parent / (std::string(prefix) + ".XXXXXX")).string();
    if (!::mkdtemp(tmpl.data()))
        throw sys_error(fmt::format("cannot create a temporary directory in '{}'", parent.string()));
    path_ = tmpl;
}

TempDir::~TempDir()
{
    if (!keep_) {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
}

} // namespace mbd
