// Reading a binary package (debian/debfile: ar, control.tar.*, data.tar.* through
// libarchive), as install does with an uploaded .deb: reject cleanly, never crash.
#include "core/error.hpp"
#include "debian/debfile.hpp"

#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static int fd = memfd_create("fuzz.deb", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size))
        std::abort();
    try {
        auto info = mbd::debian::read_deb("/proc/self/fd/" + std::to_string(fd));
        (void)info.control.get("Package");
    } catch (const mbd::Error&) {
    }
    return 0;
}
