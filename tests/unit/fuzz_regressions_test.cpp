// Every input a fuzzer once crashed on (tests/fuzz/regressions/) stays handled.
#include "core/error.hpp"
#include "core/fs.hpp"
#include "deb822/deb822.hpp"
#include "debian/control_files.hpp"
#include "gpg/gpg.hpp"
#include "upload/options.hpp"
#include "version/version.hpp"

#include <gtest/gtest.h>

using namespace mbd;

TEST(FuzzRegressions, AllInputsAreHandled)
{
    auto dir = fs::path(MBD_SOURCE_DIR) / "tests/fuzz/regressions";
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        ++n;
        std::string text = read_file(e.path());
        bool envelope_ok = true;
        try {
            gpg::check_clearsign_envelope(text);
        } catch (const Error&) {
            envelope_ok = false;
        }
        try {
            debian::unwrap_clearsigned_unverified(text, "x");
        } catch (const Error&) {
            EXPECT_FALSE(envelope_ok) << e.path() << ": the envelope check accepts what unwrapping refuses";
        }
        for (auto f : {+[](std::string_view t) { deb822::parse(t); },
                       +[](std::string_view t) { debian::Changes::parse(t); },
                       +[](std::string_view t) { debian::Dsc::parse(t); },
                       +[](std::string_view t) { upload::Options::parse(t); },
                       +[](std::string_view t) { Version::parse(t); }}) {
            try {
                f(text);
            } catch (const Error&) {
            }
        }
    }
    EXPECT_GT(n, 0);
}
