#include "archive/durable.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mbd::archive {
namespace {

namespace fs = std::filesystem;

void sync_one(const fs::path& p, bool dir)
{
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    if (fd < 0 || (dir ? ::fsync(fd) : ::fdatasync(fd)) != 0) {
        int err = errno;
        if (fd >= 0)
            ::close(fd);
        throw sys_error(err, fmt::format("cannot sync '{}'", p.string()));
    }
    ::close(fd);
}

// A temporary file next to path, renamed over it by commit(), removed otherwise.
class Temporary {
public:
    explicit Temporary(const fs::path& path) : target_(path)
    {
        std::string tmpl = (path.parent_path() / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
        fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
        if (fd_ < 0)
            throw sys_error(fmt::format("cannot create a temporary file for '{}'", path.string()));
        tmp_ = tmpl;
        ::fchmod(fd_, 0644);
    }
    ~Temporary()
    {
        if (fd_ >= 0)
            ::close(fd_);
        if (!tmp_.empty())
            ::unlink(tmp_.c_str());
    }
    Temporary(const Temporary&) = delete;
    Temporary& operator=(const Temporary&) = delete;
    int fd() const { return fd_; }
    void commit()
    {
        int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0)
            throw sys_error(fmt::format("cannot write '{}'", target_.string()));
        if (::rename(tmp_.c_str(), target_.c_str()) != 0)
            throw sys_error(fmt::format("cannot rename into '{}'", target_.string()));
        tmp_.clear();
    }

private:
    fs::path target_, tmp_;
    int fd_ = -1;
};

} // namespace

void start_writeback(const std::vector<fs::path>& files)
{
    for (const auto& f : files) {
        int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        ::close(fd);
    }
}

void Durable::flush(const fs::path& any_dir)
{
    if (files_.size() + dirs_.size() > 64) {
        int fd = ::open(any_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || ::syncfs(fd) != 0) {
            int err = errno;
            if (fd >= 0)
                ::close(fd);
            throw sys_error(err, fmt::format("cannot sync '{}'", any_dir.string()));
        }
        ::close(fd);
    } else {
        for (const auto& f : files_)
            sync_one(f, false);
        for (const auto& d : dirs_)
            sync_one(d, true);
    }
    files_.clear();
    dirs_.clear();
}

void write_unsynced(const fs::path& path, std::string_view content)
{
    Temporary t(path);
    write_all(t.fd(), content, path);
    t.commit();
}

void copy_unsynced(const fs::path& from, const fs::path& to)
{
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0)
        throw sys_error(fmt::format("cannot open '{}'", from.string()));
    try {
        Temporary t(to);
        copy_fd(in, t.fd(), from, to);
        t.commit();
    } catch (...) {
        ::close(in);
        throw;
    }
    ::close(in);
}

bool place_unsynced(const fs::path& from, const fs::path& to, bool link)
{
    static const uid_t euid = ::geteuid(); // (a system call per file otherwise)
    struct stat st{};
    if (link && ::stat(from.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == euid &&
        (st.st_mode & 0022) == 0 && (st.st_mode & 0444) == 0444) {
        if (::link(from.c_str(), to.c_str()) == 0)
            return true;
        if (errno == EEXIST && ::unlink(to.c_str()) == 0 && ::link(from.c_str(), to.c_str()) == 0)
            return true; // (a file left by an install that did not commit)
    }
    copy_unsynced(from, to);
    return false;
}

} // namespace mbd::archive
