// Reading a binary package (debian/debfile: ar, control.tar.*, data.tar.* through
// libarchive), as install does with an uploaded .deb: reject cleanly, never crash; and
// read from its bytes (a small upload, read once) or from the file, the same result.
#include "core/error.hpp"
#include "debian/debfile.hpp"

#include <cstdlib>
#include <optional>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace {

// What reading gave: the control paragraph and paths, or the error's exit code.
struct Outcome {
    std::optional<mbd::Exit> error;
    std::string control;
    std::vector<std::string> paths;
    bool operator==(const Outcome&) const = default;
};

template <typename Read>
Outcome outcome(Read read)
{
    try {
        auto info = read();
        return {std::nullopt, info.control.to_string(), info.paths};
    } catch (const mbd::Error& e) {
        return {e.code(), {}, {}};
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static int fd = memfd_create("fuzz.deb", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size))
        std::abort();
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    auto from_file = outcome([&] { return mbd::debian::read_deb(path); });
    auto from_bytes = outcome(
        [&] { return mbd::debian::read_deb(path, {reinterpret_cast<const char*>(data), size}); });
    if (!(from_file == from_bytes))
        std::abort();
    return 0;
}
