// Reading what an archive publishes, the way mbd reads it (model/model.cpp fetching a
// source's Release, archive/verify.cpp checking ours, remote/status.cpp a peer's status):
// a Release with its checksum lists and dates, a Packages/Sources document with
// versions and relations, a peer's status document. Reject cleanly, never crash.
#include "core/error.hpp"
#include "core/strings.hpp"
#include "deb822/deb822.hpp"
#include "remote/status.hpp"
#include "version/version.hpp"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto rel = mbd::deb822::parse_one(text, "Release", {.allow_comments = false, .require_utf8 = false});
        (void)mbd::parse_rfc2822_time(rel.get("Date"));
        (void)mbd::parse_rfc2822_time(rel.get("Valid-Until"));
        (void)rel.folded("Architectures");
        for (auto field : {"MD5Sum", "SHA1", "SHA256", "SHA512"})
            for (const auto& line : rel.lines(field)) {
                auto w = mbd::split_ws(line);
                if (w.size() == 3)
                    (void)mbd::parse_uint(w[1]);
            }
    } catch (const mbd::Error&) {
    }
    try {
        auto doc = mbd::deb822::parse(text, "Packages", {.allow_comments = false});
        for (const auto& p : doc.paragraphs) {
            try {
                auto v = mbd::Version::parse(p.get("Version"));
                (void)v.without_epoch();
            } catch (const mbd::Error&) {
            }
            (void)p.folded("Depends");
            (void)p.folded("Build-Depends");
            (void)p.lines("Checksums-Sha256");
            (void)mbd::parse_uint(p.get("Size"));
        }
    } catch (const mbd::Error&) {
    }
    try {
        (void)mbd::remote::StatusDocument::parse(text);
    } catch (const mbd::Error&) {
    }
    return 0;
}
