#include "archive/verify.hpp"

#include "archive/compress.hpp"
#include "archive/dists.hpp"
#include "archive/publish.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "deb822/deb822.hpp"
#include "gpg/gpg.hpp"
#include "keys/instance.hpp"

#include <atomic>
#include <algorithm>
#include <functional>
#include <thread>
#include <map>
#include <set>
#include <sys/stat.h>

namespace mbd::archive {
namespace {

namespace fs = std::filesystem;

struct Listed {
    std::uint64_t size = 0;
    std::string sha256, sha512;
};

// A distribution's Release as read, with the problems of its signatures.
struct Signed {
    std::string release;
    std::vector<std::string> problems;
    bool readable = false;
};

// Reports a problem of one distribution, prefixed with its name.
struct Problems {
    std::vector<std::string>& out;
    const std::string& dist;
    void operator()(const std::string& text) const { out.push_back(fmt::format("'{}': {}", dist, text)); }
};

// Read a distribution's Release, InRelease and Release.gpg and check the two signatures.
void check_signatures(const gpg::Keyring& ring, const std::vector<std::string>& signers, const fs::path& dir,
                      Signed& out)
{
    std::string inrelease, signature;
    try {
        out.release = read_file(dir / "Release");
        inrelease = read_file(dir / "InRelease");
        signature = read_file(dir / "Release.gpg");
        out.readable = true;
    } catch (const Error& e) {
        out.problems.push_back(e.what());
        return;
    }
    auto expected = signers;
    std::sort(expected.begin(), expected.end());
    auto by = [&](std::vector<std::string> have) {
        std::sort(have.begin(), have.end());
        return have == expected;
    };
    std::string keys = join(signers, " and ");
    try {
        auto v = ring.verify_clearsigned_all(inrelease);
        if (!by(v.fingerprints))
            out.problems.push_back(fmt::format("InRelease is signed by {}, not by {}", join(v.fingerprints, " and "),
                                               keys));
        if (trim_right(v.content) != trim_right(out.release))
            out.problems.push_back("InRelease and Release differ");
    } catch (const Error& e) {
        out.problems.push_back(fmt::format("InRelease: {}", e.what()));
    }
    try {
        if (auto have = ring.verify_detached_all(out.release, signature); !by(have))
            out.problems.push_back(fmt::format("Release.gpg is made by {}, not by {}", join(have, " and "), keys));
    } catch (const Error& e) {
        out.problems.push_back(fmt::format("Release.gpg: {}", e.what()));
    }
}

// The signatures of every distribution, several at once (each is a gpg process that mostly waits).
std::vector<Signed> check_all_signatures(Context& ctx, const fs::path& root, const std::vector<DistPlan>& plans,
                                         const std::vector<std::string>& signers)
{
    std::vector<Signed> out(plans.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
        auto ring = keys::instance_keyring(ctx.home());
        for (size_t i; (i = next++) < plans.size();)
            check_signatures(ring, signers, root / "dists" / plans[i].dist.name, out[i]);
    };
    std::vector<std::thread> threads;
    for (size_t t = 1; t < std::min<size_t>(plans.size(), 4); ++t)
        threads.emplace_back([&] {
            try {
                work();
            } catch (...) { // the other threads carry on; what is left unverified is reported later
            }
        });
    work();
    for (auto& t : threads)
        t.join();
    return out;
}

// Check that the distribution was published and has no changes since.
void check_published_state(db::Db& db, long long dist_id, const Problems& problem)
{
    auto published_seq = db.scalar_int("SELECT seq FROM published_dists WHERE dist_id = ?", dist_id);
    auto journal_seq = db.scalar_int("SELECT MAX(seq) FROM dist_journal WHERE dist_id = ?", dist_id);
    if (!published_seq)
        problem("never published (run 'mbd-repo publish')");
    else if (journal_seq && *journal_seq > *published_seq)
        problem("has changes that are not published yet (run 'mbd-repo publish')");
}

// Check the Release fields against the expected ones, its Date and its Valid-Until.
void check_release_fields(const deb822::Paragraph& rel, const std::string& header, long long now,
                          const Problems& problem)
{
    for (auto line : split(header, '\n', false)) {
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        std::string field(line.substr(0, colon));
        if (rel.get(field) != trim(line.substr(colon + 1)))
            problem(fmt::format("Release has {}: '{}', expected '{}'", field, rel.get(field),
                                trim(line.substr(colon + 1))));
    }
    auto date = parse_rfc2822_time(rel.get("Date"));
    if (!date)
        problem(fmt::format("Release has an unreadable Date '{}'", rel.get("Date")));
    else if (*date > now + 60)
        problem(fmt::format("Release Date '{}' is in the future", rel.get("Date")));
    if (rel.has("Valid-Until")) {
        auto until = parse_rfc2822_time(rel.get("Valid-Until"));
        if (!until || *until <= now)
            problem(fmt::format("Release is valid until '{}' only", rel.get("Valid-Until")));
    }
}

// The files the Release's SHA256 and SHA512 lists name, by path.
std::map<std::string, Listed> listed_files(const deb822::Paragraph& rel, const Problems& problem)
{
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
    return listed;
}

// Check that the Release lists the distribution's index files in the forms of its index set, and nothing else.
void check_listing(const std::map<std::string, Listed>& listed, const std::vector<IndexSpec>& specs,
                   const repo::IndexSet& set, const Problems& problem)
{
    std::set<std::string> expected;
    for (const auto& spec : specs) {
        expected.insert(spec.path); // (written or not)
        for (const auto& suffix : index_forms(set))
            expected.insert(spec.path + suffix);
    }
    for (const auto& [path, l] : listed)
        if (!expected.count(path))
            problem(fmt::format("Release lists '{}', which is not an index of it", path));
    for (const auto& path : expected)
        if (!listed.count(path))
            problem(fmt::format("Release does not list '{}'", path));
}

// Check that an index file has the size and checksums the Release lists, and its by-hash copies.
void check_index_file(const fs::path& file, const std::string& path, const Listed& l, const Problems& problem)
{
    try {
        auto dg = digest_file(file);
        if (dg.size != l.size || dg.sha256 != l.sha256 || dg.sha512 != l.sha512)
            problem(fmt::format("'{}' does not match its size and checksums in Release", path));
    } catch (const Error& e) {
        problem(e.what());
        return;
    }
    for (auto [algo, hash] : {std::pair{"SHA256", &l.sha256}, std::pair{"SHA512", &l.sha512}}) {
        struct stat st{};
        fs::path bh = file.parent_path() / "by-hash" / algo / *hash;
        if (::stat(bh.c_str(), &st) != 0 || std::uint64_t(st.st_size) != l.size)
            problem(fmt::format("'{}' has no by-hash/{} copy", path, algo));
    }
}

// What an index holds according to the state database.
using EntriesOf = std::function<std::vector<Entry>(const IndexSpec&)>;

// Check that an index is what the database holds (the size and both checksums Release lists
// for it, written or not) and that its .gz and .xz (those of set) decompress to it.
void check_index_content(const EntriesOf& entries, const fs::path& dir, const IndexSpec& spec,
                         const repo::IndexSet& set, const Listed& raw, const Problems& problem)
{
    std::string text = render_full(spec.kind, entries(spec));
    std::string sha256 = sha256_hex(text);
    if (sha256 != raw.sha256 || text.size() != raw.size || sha512_hex(text) != raw.sha512)
        problem(fmt::format("'{}' is not what the state database holds", spec.path));
    try {
        if (set.gz && sha256_hex(gunzip(read_file(dir / (spec.path + ".gz")))) != sha256)
            problem(fmt::format("'{}.gz' does not decompress to '{}'", spec.path, spec.path));
        if (set.xz && sha256_hex(unxz(read_file(dir / (spec.path + ".xz")))) != sha256)
            problem(fmt::format("'{}.xz' does not decompress to '{}'", spec.path, spec.path));
    } catch (const Error& e) {
        problem(fmt::format("'{}': {}", spec.path, e.what()));
    }
}

// Check each listed index file of a distribution against the Release, and its content against the database.
void check_indices(const std::vector<IndexSpec>& specs, const repo::IndexSet& set, const EntriesOf& entries,
                   const fs::path& dir, const std::map<std::string, Listed>& listed, const Problems& problem)
{
    for (const auto& spec : specs) {
        for (const auto& suffix : index_forms(set)) {
            std::string path = spec.path + suffix;
            if (auto it = listed.find(path); it != listed.end())
                check_index_file(dir / path, path, it->second, problem);
        }
        // The content is what the database says; the compressed forms hold the same.
        if (auto raw = listed.find(spec.path); raw != listed.end())
            check_index_content(entries, dir, spec, set, raw->second, problem);
    }
}

// A file of a form a distribution does not publish, at an index's name (left by a publish
// killed before removing what it dropped; the next publish of the distribution removes it).
void check_unpublished_forms(const std::vector<IndexSpec>& specs, const repo::IndexSet& set, const fs::path& dir,
                             const Problems& problem)
{
    auto forms = index_forms(set);
    for (const auto& spec : specs)
        for (auto ext : all_index_forms) {
            std::string path = spec.path + std::string(ext);
            std::error_code ec;
            if (std::find(forms.begin(), forms.end(), ext) == forms.end() &&
                fs::is_regular_file(fs::symlink_status(dir / path, ec)))
                problem(fmt::format("'{}' is there, but the distribution does not publish it (run 'mbd-repo publish "
                                    "--rebuild')",
                                    path));
        }
}

// Check one distribution: its publish state, its signatures, its Release and its index files.
void verify_dist(db::Db& db, const DistPlan& plan, const Signed& sig, const fs::path& dir, long long now,
                 const Problems& problem)
{
    check_published_state(db, plan.dist.id, problem);
    for (const auto& p : sig.problems)
        problem(p);
    if (!sig.readable) {
        if (sig.problems.empty())
            problem("its Release could not be verified");
        return;
    }
    deb822::Paragraph rel;
    try {
        rel = deb822::parse_one(sig.release, "Release", {.allow_comments = false});
    } catch (const Error& e) {
        problem(e.what());
        return;
    }
    check_release_fields(rel, plan.header, now, problem);
    auto listed = listed_files(rel, problem);
    check_listing(listed, plan.indices, plan.set, problem);
    check_indices(plan.indices, plan.set, [&](const IndexSpec& spec) { return all_entries(db, plan.dist.id, spec); },
                  dir, listed, problem);
    check_unpublished_forms(plan.indices, plan.set, dir, problem);
}

// Check one snapshot: its signatures, its Release (no Valid-Until: never signed again) and
// its index files against its frozen membership.
void verify_snapshot(db::Db& db, const gpg::Keyring& ring, const std::vector<std::string>& signers, long long id,
                     const std::string& header, const fs::path& dir, long long now, const Problems& problem)
{
    Signed sig;
    check_signatures(ring, signers, dir, sig);
    for (const auto& p : sig.problems)
        problem(p);
    if (!sig.readable)
        return;
    deb822::Paragraph rel;
    try {
        rel = deb822::parse_one(sig.release, "Release", {.allow_comments = false});
    } catch (const Error& e) {
        problem(e.what());
        return;
    }
    check_release_fields(rel, header, now, problem);
    if (rel.has("Valid-Until"))
        problem("a snapshot's Release has a Valid-Until");
    auto listed = listed_files(rel, problem);
    // (its forms are those of its distribution when it was made: as its Sources has them)
    repo::IndexSet set{false, false, false, header.find("\nAcquire-By-Hash: yes\n") != std::string::npos};
    for (const auto& [path, l] : listed) {
        set.contents = set.contents || path.find("/Contents-") != std::string::npos;
        set.uncompressed = set.uncompressed || (path.ends_with("/Sources") && fs::exists(dir / path));
        set.gz = set.gz || path.ends_with("/Sources.gz");
        set.xz = set.xz || path.ends_with("/Sources.xz");
    }
    auto specs = header_index_specs(header, set.contents);
    check_listing(listed, specs, set, problem);
    check_indices(specs, set, [&](const IndexSpec& spec) { return snapshot_entries(db, id, spec); }, dir, listed,
                  problem);
}

} // namespace

std::vector<std::string> verify_published(Context& ctx, std::string_view repository)
{
    std::vector<std::string> problems;
    auto& db = ctx.db();
    fs::path root = repository_dir(ctx, repository);
    auto signers = keys::archive_signers(ctx);
    long long now = now_seconds();

    auto plans = plan_dists(db, repository, default_index_set(ctx));
    auto signatures = check_all_signatures(ctx, root, plans, signers);
    for (size_t i = 0; i < plans.size(); ++i)
        verify_dist(db, plans[i], signatures[i], root / "dists" / plans[i].dist.name, now,
                    Problems{problems, plans[i].dist.name});
    return problems;
}

std::vector<std::string> verify_snapshots(Context& ctx, std::string_view repository)
{
    std::vector<std::string> problems;
    auto& db = ctx.db();
    fs::path dists = repository_dir(ctx, repository) / "dists";
    auto signers = keys::archive_signers(ctx);
    auto ring = keys::instance_keyring(ctx.home());
    long long now = now_seconds();
    struct Row {
        long long id;
        std::string name, header;
    };
    std::vector<Row> rows;
    {
        auto r = db.query("SELECT id, dist || '@' || name, header FROM snapshots WHERE repository = ? ORDER BY 2",
                          repository);
        while (r.step())
            rows.push_back({r.int64(0), r.text(1), r.text(2)});
    }
    for (const auto& s : rows)
        verify_snapshot(db, ring, signers, s.id, s.header, dists / s.name, now,
                        Problems{problems, s.name});
    return problems;
}

} // namespace mbd::archive
