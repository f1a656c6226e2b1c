#include "core/home.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"

#include <sys/stat.h>

namespace mbd {

void Home::ensure() const
{
    make_dirs(root, 0755);
    for (const auto& dir : {etc(), incoming(), spool_build(), spool_outgoing(), spool_claimed(), wake(), builds(), chroots(), rejected(),
                            log(), locks(), tmp(), repositories()})
        make_dirs(dir, 0755);
    make_dirs(gnupg(), 0700);
    ::chmod(gnupg().c_str(), 0700);
}

} // namespace mbd
