// versions: parsing never crashes; ordering is a total order (antisymmetric, reflexive equality).
#include "core/error.hpp"
#include "version/version.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto bar = text.find('|');
    std::string_view a = text.substr(0, bar);
    std::string_view b = bar == std::string_view::npos ? std::string_view("1.0") : text.substr(bar + 1);
    bool va = !mbd::Version::invalid_reason(a), vb = !mbd::Version::invalid_reason(b);
    try {
        auto x = mbd::Version::parse(a);
        auto y = mbd::Version::parse(b);
        if (!va || !vb)
            std::abort(); // invalid_reason and parse disagree
        int c1 = compare(x, y), c2 = compare(y, x);
        if ((c1 < 0) != (c2 > 0) || (c1 == 0) != (c2 == 0) || compare(x, x) != 0)
            std::abort();
    } catch (const mbd::Error&) {
        if (va && vb)
            std::abort();
    }
    (void)mbd::compare_part(a, b);
    return 0;
}
