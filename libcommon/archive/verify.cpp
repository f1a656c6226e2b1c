#include "archive/verify.hpp"

#include "archive/compress.hpp"
#include "archive/dists.hpp"
#include "archive/publish.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "deb822/deb822.hpp"
#include "keys/instance.hpp"

#include <ctime>
#include <map>
#include <set>
#include <sys/stat.h>

namespace mbd::archive {
namespace {

namespace fs = std::filesystem;

// "Wed, 25 Nov 2026 14:09:55 +0000" (or UTC) -> unix seconds; -1 when unreadable.
long long parse_rfc2822(const std::string& text)
{
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
    if (!end)
        return -1;
    std::string_view zone = trim(end);
    if (zone != "+0000" && zone != "UTC" && zone != "GMT" && zone != "Z")
        return -1;
    return ::timegm(&tm);
}

struct Listed {
    std::uint64_t size = 0;
    std::string sha256, sha512;
};

} // namespace

std::vector<std::string> verify_published(Context& ctx, std::string_view repository)
{
    std::vector<std::string> problems;
    auto& db = ctx.db();
    fs::path root = repository_dir(ctx, repository);
    auto key = keys::require_instance_key(ctx);
    auto ring = keys::instance_keyring(ctx.home());
    long long now = now_seconds();

    for (const auto& plan : plan_dists(db, repository)) {
        const auto& d = plan.dist;
        fs::path dir = root / "dists" / d.name;
        auto problem = [&](std::string text) { problems.push_back(fmt::format("'{}': {}", d.name, text)); };

        auto published_seq = db.scalar_int("SELECT seq FROM published_dists WHERE dist_id = ?", d.id);
        auto journal_seq = db.scalar_int("SELECT MAX(seq) FROM dist_journal WHERE dist_id = ?", d.id);
        if (!published_seq)
            problem("never published (run 'mbd-repo publish')");
        else if (journal_seq && *journal_seq > *published_seq)
            problem("has changes that are not published yet (run 'mbd-repo publish')");

        std::string release, inrelease, signature;
        try {
            release = read_file(dir / "Release");
            inrelease = read_file(dir / "InRelease");
            signature = read_file(dir / "Release.gpg");
        } catch (const Error& e) {
            problem(e.what());
            continue;
        }
        try {
            auto v = ring.verify_clearsigned(inrelease);
            if (v.fingerprint != key.info.fingerprint)
                problem(fmt::format("InRelease is signed by {}, not by the instance key", v.fingerprint));
            if (trim_right(v.content) != trim_right(release))
                problem("InRelease and Release differ");
        } catch (const Error& e) {
            problem(fmt::format("InRelease: {}", e.what()));
        }
        try {
            if (ring.verify_detached(release, signature) != key.info.fingerprint)
                problem("Release.gpg is not made by the instance key");
        } catch (const Error& e) {
            problem(fmt::format("Release.gpg: {}", e.what()));
        }

        deb822::Paragraph rel;
        try {
            rel = deb822::parse_one(release, "Release", {.allow_comments = false});
        } catch (const Error& e) {
            problem(e.what());
            continue;
        }
        for (auto line : split(plan.header, '\n', false)) {
            auto colon = line.find(':');
            if (colon == std::string_view::npos)
                continue;
            std::string field(line.substr(0, colon));
            if (rel.get(field) != trim(line.substr(colon + 1)))
                problem(fmt::format("Release has {}: '{}', expected '{}'", field, rel.get(field),
                                    trim(line.substr(colon + 1))));
        }
        long long date = parse_rfc2822(rel.get("Date"));
        if (date < 0)
            problem(fmt::format("Release has an unreadable Date '{}'", rel.get("Date")));
        else if (date > now + 60)
            problem(fmt::format("Release Date '{}' is in the future", rel.get("Date")));
        if (rel.has("Valid-Until")) {
            long long until = parse_rfc2822(rel.get("Valid-Until"));
            if (until < 0 || until <= now)
                problem(fmt::format("Release is valid until '{}' only", rel.get("Valid-Until")));
        }

        std::map<std::string, Listed> listed;
        for (auto [field, member] : {std::pair{"SHA256", &Listed::sha256}, std::pair{"SHA512", &Listed::sha512}}) {
            if (!rel.has(field))
                problem(fmt::format("Release has no {} list", field));
            for (const auto& line : rel.lines(field)) {
                auto w = split_ws(line);
                auto size = w.size() == 3 ? parse_uint(w[1]) : std::nullopt;
                if (!size) {
                    problem(fmt::format("malformed {} line '{}'", field, line));
                    continue;
                }
                auto& l = listed[std::string(w[2])];
                if (!(l.*member).empty() || (l.size && l.size != *size))
                    problem(fmt::format("'{}' is listed inconsistently", w[2]));
                l.size = *size;
                l.*member = std::string(w[0]);
            }
        }
        std::set<std::string> expected;
        for (const auto& spec : plan.indices)
            for (auto suffix : {"", ".gz", ".xz"})
                expected.insert(spec.path + suffix);
        for (const auto& [path, l] : listed)
            if (!expected.count(path))
                problem(fmt::format("Release lists '{}', which is not an index of it", path));
        for (const auto& path : expected)
            if (!listed.count(path))
                problem(fmt::format("Release does not list '{}'", path));

        for (const auto& spec : plan.indices) {
            for (auto suffix : {"", ".gz", ".xz"}) {
                std::string path = spec.path + suffix;
                auto it = listed.find(path);
                if (it == listed.end())
                    continue;
                const Listed& l = it->second;
                fs::path file = dir / path;
                try {
                    auto dg = digest_file(file);
                    if (dg.size != l.size || dg.sha256 != l.sha256 || dg.sha512 != l.sha512)
                        problem(fmt::format("'{}' does not match its size and checksums in Release", path));
                } catch (const Error& e) {
                    problem(e.what());
                    continue;
                }
                for (auto [algo, hash] : {std::pair{"SHA256", &l.sha256}, std::pair{"SHA512", &l.sha512}}) {
                    struct stat st{};
                    fs::path bh = file.parent_path() / "by-hash" / algo / *hash;
                    if (::stat(bh.c_str(), &st) != 0 || std::uint64_t(st.st_size) != l.size)
                        problem(fmt::format("'{}' has no by-hash/{} copy", path, algo));
                }
            }
            // The content is what the database says; the compressed forms hold the same.
            auto raw = listed.find(spec.path);
            if (raw == listed.end())
                continue;
            std::string text = render_full(spec.kind, all_entries(db, d.id, spec));
            if (sha256_hex(text) != raw->second.sha256)
                problem(fmt::format("'{}' is not what the state database holds", spec.path));
            try {
                if (sha256_hex(gunzip(read_file(dir / (spec.path + ".gz")))) != raw->second.sha256)
                    problem(fmt::format("'{}.gz' does not decompress to '{}'", spec.path, spec.path));
                if (sha256_hex(unxz(read_file(dir / (spec.path + ".xz")))) != raw->second.sha256)
                    problem(fmt::format("'{}.xz' does not decompress to '{}'", spec.path, spec.path));
            } catch (const Error& e) {
                problem(fmt::format("'{}': {}", spec.path, e.what()));
            }
        }
    }
    return problems;
}

} // namespace mbd::archive
