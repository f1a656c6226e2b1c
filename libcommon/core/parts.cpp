#include "core/parts.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mbd::parts {
namespace {

// True when nobody holds fd's flock (a writer that holds its part locks it for life).
bool unlocked(int fd)
{
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
        return false;
    ::flock(fd, LOCK_UN);
    return true;
}

bool same_file(const struct stat& a, const struct stat& b)
{
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

} // namespace

std::string part_name(std::string_view name)
{
    return "." + std::string(name) + std::string(suffix);
}

void remove_stale(const std::filesystem::path& dir)
{
    std::error_code ec;
    long long now = now_seconds();
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        auto n = e.path().filename().string();
        auto tmp = n.rfind(".tmp.");
        bool part = n.ends_with(suffix) || (tmp != std::string::npos && tmp + 11 == n.size());
        struct stat st{};
        if (!n.starts_with(".") || !part || ::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
            now - st.st_mtim.tv_sec <= 86400)
            continue;
        int fd = ::open(e.path().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (unlocked(fd))
            std::filesystem::remove(e.path(), ec);
        ::close(fd);
    }
}

Part::Part(std::filesystem::path dir, std::string name, int fd) : dir_(std::move(dir)), name_(std::move(name)), fd_(fd)
{
}

Part::Part(Part&& other) noexcept : dir_(std::move(other.dir_)), name_(std::move(other.name_)), fd_(other.fd_)
{
    other.fd_ = -1;
}

Part& Part::operator=(Part&& other) noexcept
{
    if (this != &other) {
        discard();
        dir_ = std::move(other.dir_);
        name_ = std::move(other.name_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

Part::~Part()
{
    discard();
}

std::optional<Part> Part::create(const std::filesystem::path& dir, std::string_view name)
{
    auto path = dir / part_name(name);
    // Twice at most: a dead writer's part is removed once, then ours is made.
    for (int attempt = 0; attempt < 2; ++attempt) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) {
            if (::flock(fd, LOCK_EX | LOCK_NB) != 0) { // nobody else can have it yet
                int err = errno;
                ::close(fd);
                ::unlink(path.c_str());
                throw sys_error(err, fmt::format("cannot lock '{}'", path.string()));
            }
            return Part(dir, std::string(name), fd);
        }
        if (errno != EEXIST)
            throw sys_error(fmt::format("cannot create '{}'", path.string()));
        int old = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (old < 0) {
            if (errno == ENOENT) // its writer just finished or gave up
                continue;
            throw sys_error(fmt::format("cannot open '{}'", path.string()));
        }
        struct stat held{}, there{};
        bool stale = ::fstat(old, &held) == 0 && S_ISREG(held.st_mode) && ::flock(old, LOCK_EX | LOCK_NB) == 0;
        // Still the file we locked (not a new writer's part made since we opened it)?
        if (stale && ::lstat(path.c_str(), &there) == 0 && same_file(held, there))
            ::unlink(path.c_str());
        ::close(old);
        if (!stale)
            return std::nullopt;
    }
    return std::nullopt;
}

void Part::publish()
{
    auto part = dir_ / part_name(name_);
    auto target = dir_ / name_;
    if (::fsync(fd_) != 0)
        throw sys_error(fmt::format("cannot write '{}'", part.string()));
    // Never replace: someone else's complete upload of that name wins.
    if (::renameat2(AT_FDCWD, part.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
        int err = errno;
        if (err == EINVAL || err == ENOSYS) { // a file system without RENAME_NOREPLACE
            if (::link(part.c_str(), target.c_str()) == 0)
                err = 0, ::unlink(part.c_str());
            else
                err = errno;
        }
        if (err) {
            discard();
            if (err == EEXIST)
                throw fail(Exit::exists, "'{}' is already in '{}'", name_, dir_.string());
            throw sys_error(err, fmt::format("cannot rename '{}'", part.string()));
        }
    }
    ::close(fd_); // the lock goes with it, once the part is no more
    fd_ = -1;
    fsync_dir(dir_);
}

void Part::discard() noexcept
{
    if (fd_ < 0)
        return;
    ::unlink((dir_ / part_name(name_)).c_str());
    ::close(fd_);
    fd_ = -1;
}

} // namespace mbd::parts
