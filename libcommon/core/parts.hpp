// core/parts: files that arrive from elsewhere (a peer's put stream, an ssh upload).
//
// Such a file is written under a part name in the directory it goes to,
// ".NAME.mbd-part", and renamed to NAME only once complete, so whoever reads the
// directory (mbd-incoming skips dot names) never takes a part for a file. A writer
// that dies leaves its part behind: remove_stale() clears those.
//
// A Part is a part with one owner: created O_EXCL and flock()ed for as long as it is
// open, so a second writer of the same name is told so while the first lives, and
// the part of a dead writer is taken over. It is removed unless published, and
// published without replacing anything.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace mbd::parts {

inline constexpr std::string_view suffix = ".mbd-part";

// ".NAME.mbd-part"
std::string part_name(std::string_view name);

// Remove the parts in dir that a killed writer left: ours and copy_atomic's
// (".NAME.tmp.XXXXXX"), older than a day and not locked by a live writer.
void remove_stale(const std::filesystem::path& dir);

class Part {
public:
    // Start writing NAME into dir (NAME: a checked file name). nullopt when a live
    // writer holds that part; Error for anything else.
    static std::optional<Part> create(const std::filesystem::path& dir, std::string_view name);

    Part(Part&& other) noexcept;
    Part& operator=(Part&& other) noexcept;
    Part(const Part&) = delete;
    ~Part(); // discard() unless published

    int fd() const { return fd_; }
    const std::string& name() const { return name_; }
    // fsync, rename to NAME only if no NAME exists (Error(Exit::exists) otherwise, and
    // the part is discarded), fsync the directory.
    void publish();
    // Remove the part (best effort, never throws).
    void discard() noexcept;

private:
    Part(std::filesystem::path dir, std::string name, int fd);
    std::filesystem::path dir_;
    std::string name_;
    int fd_ = -1;
};

} // namespace mbd::parts
