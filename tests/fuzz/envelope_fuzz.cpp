// The signed-document envelope: the strict check and the unverified unwrap never crash,
// and anything the strict check accepts the unwrap accepts too.
#include "core/error.hpp"
#include "debian/control_files.hpp"
#include "gpg/gpg.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    bool envelope_ok = true;
    try {
        mbd::gpg::check_clearsign_envelope(text);
    } catch (const mbd::Error&) {
        envelope_ok = false;
    }
    try {
        (void)mbd::debian::unwrap_clearsigned_unverified(text, "fuzz");
    } catch (const mbd::Error&) {
        if (envelope_ok)
            std::abort();
    }
    return 0;
}
