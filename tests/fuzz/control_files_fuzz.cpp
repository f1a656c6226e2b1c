// .changes and .dsc models and upload options: reject cleanly, never crash.
#include "core/error.hpp"
#include "debian/control_files.hpp"
#include "upload/options.hpp"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto c = mbd::debian::Changes::parse(text, "fuzz.changes");
        (void)c.dsc();
        mbd::upload::Options::parse(c.changes_text);
    } catch (const mbd::Error&) {
    }
    try {
        mbd::debian::Dsc::parse(text, "fuzz.dsc");
    } catch (const mbd::Error&) {
    }
    try {
        auto o = mbd::upload::Options::parse(text);
        (void)o.lines();
        (void)o.auto_ports();
    } catch (const mbd::Error&) {
    }
    return 0;
}
