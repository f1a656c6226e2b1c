// archive/durable: makes files durable in batches, before what refers to them is
// written (a Release naming index files, a database row naming pool files).
//
//   Durable d;
//   d.file(path); d.dir(parent);   // after writing them without fsync
//   d.flush(any_dir_on_that_fs);   // then write what depends on them
//
// Few paths: one fdatasync per file and fsync per directory. Many: one syncfs, which
// also waits for whatever else is dirty on that filesystem, so it pays only for large
// batches.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::archive {

class Durable {
public:
    void file(const std::filesystem::path& p) { files_.insert(p.native()); }
    void dir(const std::filesystem::path& p) { dirs_.insert(p.native()); }
    void flush(const std::filesystem::path& any_dir);
    bool empty() const { return files_.empty() && dirs_.empty(); }

private:
    // (strings, not paths: a path compares component by component, each a path of its own,
    // and an import adds a pool directory for every file)
    std::set<std::string> files_, dirs_;
};

// Start writing the files to disk, without waiting: their sync later finds them written
// (on ext4 their blocks allocated: a rename over a file allocates them, in the caller).
// Run beside other work (a publish: beside gpg signing). A file that cannot be opened is
// left for the sync.
void start_writeback(const std::vector<std::filesystem::path>& files);

// Write (or copy) to a temporary next to path and rename it there, without fsync:
// a reader sees the old or the new content; make it durable with a Durable.
void write_unsynced(const std::filesystem::path& path, std::string_view content);
void copy_unsynced(const std::filesystem::path& from, const std::filesystem::path& to);

// Place from at to (replacing it), without fsync: a hard link where linking is safe,
// else a copy (copy_unsynced). Safe: asked for, on the same filesystem, a regular file
// of this process's user that only it may write and everyone may read (a file another
// user could still change must not become an archive's). True when linked.
bool place_unsynced(const std::filesystem::path& from, const std::filesystem::path& to, bool link);

} // namespace mbd::archive
