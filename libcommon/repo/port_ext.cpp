#include "repo/port_ext.hpp"

#include "core/error.hpp"
#include "core/fetch.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "debian/control_files.hpp"
#include "events/events.hpp"
#include "repo/port.hpp"
#include "version/version.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace mbd::repo {
namespace {

namespace fs = std::filesystem;

const char* const apt_helper = "/usr/lib/apt/apt-helper";

// SOURCE and VERSION of a .dsc's file name, or the problem with it.
struct DscName {
    std::string source, version;
    std::optional<std::string> problem;
};

DscName split_dsc_name(std::string_view name)
{
    DscName n;
    if (auto p = names::problem(names::file, name)) {
        n.problem = *p;
        return n;
    }
    if (!name.ends_with(".dsc")) {
        n.problem = fmt::format("'{}' is not a .dsc", name);
        return n;
    }
    auto stem = name.substr(0, name.size() - 4);
    auto us = stem.find('_');
    if (us == std::string_view::npos) {
        n.problem = fmt::format("'{}' is not a source file name SOURCE_VERSION.dsc", name);
        return n;
    }
    n.source = std::string(stem.substr(0, us));
    n.version = std::string(stem.substr(us + 1));
    if (auto p = names::problem(names::package, n.source))
        n.problem = fmt::format("'{}': {}", name, *p);
    else if (n.version.find(':') != std::string::npos)
        n.problem = fmt::format("'{}': a file name carries no epoch", name);
    else if (auto r = Version::invalid_reason(n.version))
        n.problem = fmt::format("'{}': invalid version '{}': {}", name, n.version, *r);
    return n;
}

// An armored keyring made binary (gpg's --keyring takes no armor) in dir; others as they are.
fs::path usable_keyring(const fs::path& keyring, const fs::path& dir, int n)
{
    std::string head = read_file(keyring).substr(0, 64);
    if (!head.starts_with("-----BEGIN PGP"))
        return fs::absolute(keyring);
    fs::path out = dir / fmt::format("keyring{}.gpg", n);
    run_checked({"gpg", "--batch", "--yes", "--dearmor", "--output", out.string(), fs::absolute(keyring).string()});
    return out;
}

} // namespace

std::vector<fs::path> default_port_keyrings()
{
    std::vector<fs::path> out;
    for (const char* k : {"/usr/share/keyrings/debian-keyring.gpg", "/usr/share/keyrings/debian-maintainers.gpg",
                          "/usr/share/keyrings/debian-nonupload.gpg"}) {
        std::error_code ec;
        if (fs::is_regular_file(k, ec))
            out.emplace_back(k);
    }
    return out;
}

std::optional<std::string> port_ext_url_problem(std::string_view url)
{
    std::string_view rest;
    for (std::string_view scheme : {"http://", "https://", "file://"})
        if (url.starts_with(scheme))
            rest = url.substr(scheme.size());
    if (rest.empty())
        return fmt::format("'{}' is not an http://, https:// or file:// URL of a .dsc", url);
    for (char c : url)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            return fmt::format("'{}': a URL has no spaces or control characters", url);
    if (rest.find_first_of("?#") != std::string_view::npos)
        return fmt::format("'{}': a .dsc URL has no query or fragment", url);
    auto slash = rest.rfind('/');
    if (slash == std::string_view::npos)
        return fmt::format("'{}' names no file", url);
    if (auto p = split_dsc_name(rest.substr(slash + 1)).problem)
        return fmt::format("'{}': {}", url, *p);
    return std::nullopt;
}

PortExtResult port_ext(Context& ctx, const PortExtRequest& req)
{
    // everything that can be checked before anything is fetched
    if (auto p = port_ext_url_problem(req.url))
        throw Error(Exit::usage, *p);
    std::string base = req.url.substr(0, req.url.rfind('/') + 1);
    std::string name = req.url.substr(base.size());
    auto id = split_dsc_name(name);
    if (req.dists.empty())
        throw fail(Exit::usage, "no distribution to port '{}' to", name);
    std::set<std::string> seen;
    std::vector<std::string> targets;
    for (const auto& d : req.dists) {
        auto to = port_target(ctx, d);
        if (!seen.insert(to.name).second)
            throw fail(Exit::usage, "'{}' is named twice", to.name);
        targets.push_back(to.name);
    }
    std::vector<fs::path> keyrings;
    for (const auto& k : req.keyrings) {
        std::error_code ec;
        if (!fs::is_regular_file(k, ec))
            throw fail(Exit::not_found, "no keyring '{}'", k);
        keyrings.emplace_back(k);
    }
    if (keyrings.empty()) {
        keyrings = default_port_keyrings();
        if (keyrings.empty())
            throw fail(Exit::environment,
                       "no Debian keyring to verify '{}' with: apt-get install debian-keyring, or name one with --keyring",
                       name);
    }
    require_program("dscverify", "devscripts");
    require_program("dpkg-source", "dpkg-dev");
    if (find_program(apt_helper).empty())
        throw fail(Exit::environment, "'{}' is not installed (apt-get install apt)", apt_helper);

    PortExtResult r{id.source, id.version, "", {}};
    auto& db = ctx.db();
    // Every refusal from here on is about the source: an event, and nothing in incoming/.
    auto refused = [&](const Error& e) {
        db::Transaction tx(db);
        record_event(db, Event{0, 0, "REJECTED", r.source, r.from_version, "", "",
                               fmt::format("port of {} {} from {} to {} refused: {}", r.source, r.from_version,
                                           req.url, join(targets, " "), e.what()),
                               req.url});
        tx.commit();
        return e;
    };

    make_dirs(ctx.home().tmp());
    TempDir work(ctx.home().tmp(), "port-ext");
    fs::path src = work.path() / "src", gnupg = work.path() / "gnupg";
    make_dirs(src);
    make_dirs(gnupg);
    fs::permissions(gnupg, fs::perms::owner_all, fs::perm_options::replace);

    if (auto e = download(req.url, src / name))
        throw refused(*e);
    debian::Dsc dsc;
    try {
        dsc = debian::Dsc::parse(debian::unwrap_clearsigned_unverified(read_file(src / name), name), name);
        if (dsc.source != id.source || dsc.version.without_epoch() != id.version)
            throw fail(Exit::rejected, "'{}' is the .dsc of {} {}, not of what its name says", name, dsc.source,
                       dsc.version.str());
        if (auto why = debian::unaccepted_source_format(dsc.format))
            throw fail(Exit::rejected, "'{}': {}", name, *why);
    } catch (const Error& e) {
        throw refused(e);
    }
    r.from_version = dsc.version.str();
    for (const auto& f : dsc.files)
        if (auto e = download(base + f.name, src / f.name))
            throw refused(*e);

    // the signature, sizes and checksums, by Debian's own tool
    std::vector<std::string> argv{"dscverify", "--no-conf", "--no-default-keyrings", "--verbose"};
    int n = 0;
    for (const auto& k : keyrings) {
        argv.push_back("--keyring");
        argv.push_back(usable_keyring(k, work.path(), n++).string());
    }
    argv.push_back(name);
    auto v = run(argv, {.cwd = src, .env = {"GNUPGHOME=" + gnupg.string()}, .timeout_seconds = 600});
    if (!v.ok()) {
        std::vector<std::string_view> noise{"gpg: Signature made", "gpg:                using", "Validation FAILED"};
        std::string why = one_line(v.err, "dscverify:", noise);
        if (why.empty())
            why = v.timed_out ? "timed out" : fmt::format("exit status {}", v.status);
        throw refused(fail(Exit::bad_signature, "'{}' does not verify: {}", name, why));
    }
    if (auto at = v.out.find("Good signature from \""); at != std::string::npos) {
        auto from = at + 21;
        r.signer = v.out.substr(from, v.out.find('"', from) - from);
    }
    // and once more by ours, with the SHA-256 every .dsc we take carries
    for (const auto& f : dsc.files) {
        auto size = fs::file_size(src / f.name);
        if (size != f.size || (!f.sha256.empty() && sha256_file(src / f.name) != f.sha256))
            throw refused(fail(Exit::bad_signature, "'{}' does not match the size or SHA-256 '{}' lists", f.name, name));
    }
    log::info("{}: signature and files verified by dscverify{}", name, r.signer.empty() ? "" : " (" + r.signer + ")");

    std::map<std::string, std::string> versions; // version -> target
    for (const auto& t : targets) {
        std::string version = port_version_external(ctx, r.from_version, t);
        if (auto [it, fresh] = versions.emplace(version, t); !fresh)
            throw fail(Exit::usage, "'{}' and '{}' would both get version {}", it->second, t, version);
    }
    for (const auto& t : targets) {
        std::string version = port_version_external(ctx, r.from_version, t);
        auto changes = upload_port(ctx, src / name, {r.source, r.from_version, version, t, req.url});
        r.uploads.push_back({t, version, changes});
    }
    return r;
}

} // namespace mbd::repo
