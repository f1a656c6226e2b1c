// core/fs: files the crash-safe way, hashes, and advisory locks.
//
// write_atomic() writes a temporary file in the target's directory, fsyncs it,
// renames it over the target and fsyncs the directory: a reader sees the old
// or the new content, never a mix, whatever happens to the writer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path);
// read_file, or all of standard input for "-" (a command's FILE argument).
std::string read_input(const std::string& file);
// Like read_file but refuses symlinks and non-regular files (O_NOFOLLOW) and
// files larger than max_size (Error(Exit::rejected)).
std::string read_file_nofollow(const fs::path& path, std::uintmax_t max_size);
// Durable::no leaves out the fsyncs: readers still see the old or the new content, but a
// power cut may lose the new one (for files made again from the state database; call
// sync_filesystem once after a batch of them before recording them as done).
enum class Durable { yes, no };
void write_atomic(const fs::path& path, std::string_view content, mode_t mode = 0644, Durable durable = Durable::yes);
// syncfs(2) of the file system path lies on: everything written to it is on disk.
void sync_filesystem(const fs::path& path);
// All of data to fd, retrying short writes and EINTR (path: for messages).
void write_all(int fd, std::string_view data, const fs::path& path);
// What is left to read of in (the file src) to out (the file dst).
void copy_fd(int in, int out, const fs::path& src, const fs::path& dst);
void fsync_dir(const fs::path& dir);
void make_dirs(const fs::path& dir, mode_t mode = 0755);
// make_dirs that returns the directories it created, outermost first (each must be
// fsynced into its parent before what lies in it counts as durable).
std::vector<fs::path> make_new_dirs(const fs::path& dir, mode_t mode = 0755);
// Copy src to dst via a temporary and rename; preserves nothing but content.
void copy_atomic(const fs::path& src, const fs::path& dst, mode_t mode = 0644);

// Hex digests.
std::string sha256_hex(std::string_view data);
std::string sha512_hex(std::string_view data);
std::string md5_hex(std::string_view data);

struct FileDigest {
    std::uintmax_t size = 0;
    std::string md5, sha1, sha256, sha512;
};
// Streams the file once and computes all four digests.
FileDigest digest_file(const fs::path& path);
// The same for an open file, read from where it is to its end (path: for messages).
FileDigest digest_fd(int fd, const fs::path& path);
// digest_file of a regular file (nullopt: path is missing or names no regular file, a
// FIFO included: never waited on) that also hands back the bytes it hashed when there are
// at most keep_max of them: a small file that is hashed and then parsed is read once, and
// what is parsed is what was hashed.
std::optional<FileDigest> digest_regular_file(const fs::path& path, std::uintmax_t keep_max,
                                              std::optional<std::string>& bytes);
// Streams the file once for its SHA256 only.
std::string sha256_file(const fs::path& path);

// Incremental hashing: feed bytes, then take the hex digest once.
class Hasher {
public:
    enum class Algo { md5, sha1, sha256, sha512 };
    explicit Hasher(Algo algo);
    ~Hasher();
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;
    void update(std::string_view data);
    std::string hex();
    // Start again (after hex(), or to drop what was fed): cheaper than a new Hasher.
    void restart();

private:
    void* ctx_;
    Algo algo_;
};

// An exclusive flock() on a lock file, released on destruction.
class FileLock {
public:
    // Blocks until the lock is free (wait) or throws Error(Exit::locked) at once.
    FileLock(const fs::path& path, bool wait);
    ~FileLock();
    FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    static std::optional<FileLock> try_lock(const fs::path& path);

private:
    explicit FileLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

// A directory removed (recursively) on destruction unless keep() was called.
class TempDir {
public:
    explicit TempDir(const fs::path& parent = fs::temp_directory_path(), std::string_view prefix = "mbd");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }
    void keep() { keep_ = true; }

private:
    fs::path path_;
    bool keep_ = false;
};

} // namespace mbd
