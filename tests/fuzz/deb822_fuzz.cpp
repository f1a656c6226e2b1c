// deb822: any input parses or is rejected with an mbd::Error; what parses round-trips byte for byte
// and every value view works.
#include "core/error.hpp"
#include "deb822/deb822.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto doc = mbd::deb822::parse(text, "fuzz");
        if (doc.to_string() != text)
            std::abort();
        for (auto& p : doc.paragraphs) {
            for (const auto& name : p.names()) {
                (void)p.folded(name);
                (void)p.lines(name);
                (void)p.first_line(name);
            }
            // what we write reads back
            if (!p.empty()) {
                auto name = p.names().front();
                auto value = p.get(name);
                p.set("X-Fuzz", value);
                auto again = mbd::deb822::parse(p.to_string(), "again");
                if (again.paragraphs.size() != 1 || again.paragraphs[0].get("X-Fuzz") != p.get("X-Fuzz"))
                    std::abort();
            }
        }
    } catch (const mbd::Error&) {
    }
    return 0;
}
