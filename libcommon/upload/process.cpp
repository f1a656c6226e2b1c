#include "upload/process.hpp"

#include "build/queue.hpp"
#include "build/request.hpp"
#include "core/fault.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "core/wake.hpp"
#include "db/db.hpp"
#include "debian/control_files.hpp"
#include "events/events.hpp"
#include "events/notify.hpp"
#include "gpg/gpg.hpp"
#include "keys/instance.hpp"
#include "keys/verify.hpp"
#include "remote/routing.hpp"
#include "repo/port.hpp"
#include "upload/incoming.hpp"
#include "upload/options.hpp"
#include "upload/target.hpp"

#include <algorithm>
#include <sys/stat.h>
#include <cerrno>
#include <map>
#include <set>
#include <thread>

namespace mbd::upload {
namespace {

constexpr std::uintmax_t max_dsc_size = 1 << 20;

struct UploadRow {
    long long id = 0;
    std::string claim, changes, source, version, distribution, status, dir;
};

// The upload whose column `where` holds value, if any.
template <typename T>
std::optional<UploadRow> find_upload(db::Db& db, std::string_view where, const T& value)
{
    auto q = db.query(fmt::format("SELECT id, claim, changes, source, version, distribution, status, dir FROM uploads "
                                  "WHERE {} = ?",
                                  where),
                      value);
    if (!q.step())
        return std::nullopt;
    return UploadRow{q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6), q.text(7)};
}

// The upload with that id, if any.
std::optional<UploadRow> find_upload_by_id(db::Db& db, long long id) { return find_upload(db, "id", id); }

// Does a .dsc Architecture entry (any, all, linux-any, any-amd64, amd64) cover arch?
bool covers(std::string_view wildcard, std::string_view arch)
{
    if (wildcard == arch || wildcard == "any" || wildcard == "linux-any")
        return true;
    if (wildcard.starts_with("any-"))
        return wildcard.substr(4) == arch;
    if (wildcard.starts_with("linux-"))
        return wildcard.substr(6) == arch;
    return false;
}

struct ArchPlan {
    std::string arch;
    bool arch_all = false;
    bool arch_any = true;
};

// One build per architecture of the target the source builds on; Architecture: all
// packages only on the target's arch-all architecture.
std::vector<ArchPlan> plan_architectures(const Target& t, const debian::Dsc& dsc)
{
    bool has_all = std::find(dsc.architectures.begin(), dsc.architectures.end(), "all") != dsc.architectures.end();
    std::vector<ArchPlan> out;
    for (const auto& a : t.architectures) {
        bool any = std::any_of(dsc.architectures.begin(), dsc.architectures.end(),
                               [&](const std::string& w) { return w != "all" && covers(w, a); });
        bool all = has_all && a == t.arch_all;
        if (any || all)
            out.push_back({a, all, any});
    }
    return out;
}

// The .dsc must describe the same source, in a format dpkg-source knows, and list only
// files of the upload, with what they hold (found: the files as verify_files saw them).
void check_dsc(const debian::Changes& changes, const debian::Dsc& dsc, const std::map<std::string, FileDigest>& found)
{
    if (dsc.source != changes.source)
        throw fail(Exit::rejected, ".dsc is for source '{}', the .changes for '{}'", dsc.source, changes.source);
    if (dsc.version.str() != changes.version.str())
        throw fail(Exit::rejected, ".dsc has version {}, the .changes {}", dsc.version.str(), changes.version.str());
    if (auto why = debian::unaccepted_source_format(dsc.format))
        throw fail(Exit::rejected, "{}", *why);
    for (const auto& f : dsc.files) {
        auto it = found.find(f.name);
        if (it == found.end())
            throw fail(Exit::rejected, "the .dsc lists '{}', which is not in the upload", f.name);
        check_listed(it->second, {f.name, f.size, f.sha256, f.sha1, f.md5}, ".dsc");
    }
}

std::vector<ListedFile> listed(const std::vector<debian::FileEntry>& files)
{
    std::vector<ListedFile> out;
    for (const auto& f : files)
        out.push_back({f.name, f.size, f.sha256, f.sha1, f.md5});
    return out;
}

// A directory moved and the move on disk (work handed over: a claim to its upload, a
// result to its upload).
void move_dir(const fs::path& from, const fs::path& to, std::string_view fault_point = "")
{
    make_dirs(to.parent_path());
    if ((!fault_point.empty() && fault::inject(fault_point)) || ::rename(from.c_str(), to.c_str()) != 0)
        throw sys_error(fmt::format("cannot move '{}' to '{}'", from.string(), to.string()));
    fsync_dir(to.parent_path());
    fsync_dir(from.parent_path());
}

class Pass {
public:
    explicit Pass(Context& ctx) : ctx_(ctx), db_(ctx.db()), home_(ctx.home()) {}

    PassReport run();
    void resume_upload(long long upload_id);

private:
    void process(const Claim& claim);
    void process_upload(const Claim& claim, const std::string& text);
    gpg::Verified verify_upload_or_port(const std::string& text, const std::string& repository);
    void process_result(const Claim& claim, const std::string& text);
    int process_peer_requests(long long now, long long timeout);
    void queue_builds(const UploadRow& upload);
    void finish_if_complete(long long upload_id);
    void resume();
    void notify_upload(const UploadRow& u, const std::string& what, const std::string& text);
    Target target_of(const UploadRow& u) { return resolve_upload_target(ctx_, u.distribution); }

    Context& ctx_;
    db::Db& db_;
    const Home& home_;
    PassReport report_;
    std::string notify_to_; // the signed uploader address of the upload being processed
    bool recorded_ = false; // the claim being processed is recorded as accepted: never rejected then
};

// Who hears about an upload: Changed-By, else Maintainer, of its (signed) .changes.
std::string uploader_address(const debian::Changes& c) { return c.changed_by.empty() ? c.maintainer : c.changed_by; }

PassReport Pass::run()
{
    FileLock lock(home_.locks() / "incoming.lock", true);
    resume();
    long long timeout = ctx_.config().get_int("incoming.timeout");
    long long settle = ctx_.config().get_int("incoming.settle");
    for (int round = 0; round < 100;) {
        wake::lower(home_, wake::Pass::incoming); // raised again by whoever adds work after this
        int handled = 0;
        for (const auto& c : leftover_claims(home_)) {
            process(c);
            ++handled;
        }
        long long now = now_seconds();
        auto pending = scan_incoming(home_, now, settle);
        report_.waiting = 0;
        int settling = 0;
        for (std::size_t i = 0; i < pending.size(); ++i) {
            const auto& p = pending[i];
            if (p.malformed) {
                if (auto c = claim(home_, p, shared_files(home_, pending, i))) {
                    reject(ctx_, *c, *p.malformed);
                    ++report_.rejected;
                    ++handled;
                }
                continue;
            }
            if (!p.complete) {
                if (p.settling || p.age < timeout) {
                    ++report_.waiting;
                    settling += p.settling;
                    continue;
                }
                if (auto c = claim(home_, p, shared_files(home_, pending, i))) {
                    reject(ctx_, *c,
                           {Exit::rejected, fmt::format("incomplete after {} s: missing {}", timeout,
                                                        fmt::join(p.missing, ", "))});
                    ++report_.rejected;
                    ++handled;
                }
                continue;
            }
            if (auto c = claim(home_, p, shared_files(home_, pending, i))) {
                process(*c);
                ++handled;
            }
        }
        handled += process_peer_requests(now, timeout);
        auto stray = orphans(home_, pending, now, timeout);
        if (!stray.empty()) {
            reject_loose(ctx_, stray, "orphans",
                         {Exit::rejected, fmt::format("no .changes lists these files after {} s", timeout)});
            ++report_.rejected;
        }
        if (handled) {
            ++round;
            continue; // more may have arrived while we worked
        }
        // An upload still arriving (dput sends the .changes last) would finish after our
        // last look, when its events no longer start a pass: wait until it settles, and
        // decide what waits only for that.
        if (!settling && !written_within(home_, double(settle)))
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return report_;
}

// Build requests a peer sent us (KEY.mbd-request plus its source files): from an
// active remote, for itself; queued for mbd-build once complete; a repeat of one
// queued or built already is kept aside, never built twice.
int Pass::process_peer_requests(long long now, long long timeout)
{
    int handled = 0;
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(home_.incoming(), ec)) {
        auto n = e.path().filename().string();
        if (n.ends_with(remote::request_suffix) && !n.starts_with("."))
            names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        std::vector<std::string> files{name};
        try {
            std::string text = read_file_nofollow(home_.incoming() / name, max_changes_size);
            struct stat st{};
            ::lstat((home_.incoming() / name).c_str(), &st);
            long long age = now - st.st_mtim.tv_sec;
            gpg::check_clearsign_envelope(text);
            auto verified = keys::verify_from_instance_or_remote(ctx_, text);
            auto request = build::Request::parse(deb822::parse_one(verified.content, name, {.allow_comments = false}));
            if (request.requester != verified.fingerprint)
                throw fail(Exit::not_allowed, "request {} is for {} but signed by {}", request.id, request.requester,
                           verified.fingerprint);
            std::vector<ListedFile> listed_files;
            std::vector<std::string> missing;
            for (const auto& f : request.files) {
                files.push_back(f.name);
                listed_files.push_back({f.name, f.size, f.sha256});
                if (!fs::exists(home_.incoming() / f.name, ec))
                    missing.push_back(f.name);
            }
            if (!missing.empty()) {
                if (age < timeout) {
                    ++report_.waiting;
                    continue;
                }
                throw fail(Exit::rejected, "incomplete after {} s: missing {}", timeout, fmt::join(missing, ", "));
            }
            verify_files(Claim{home_.incoming(), name, {}}, listed_files, "request");
            if (build::known_request(home_, db_, request.requester, request.id))
                throw fail(Exit::exists, "request {} from {} is queued or built already", request.id,
                           request.requester);
            build::enqueue(home_, request, text, home_.incoming());
            for (const auto& f : files)
                fs::remove(home_.incoming() / f, ec);
            log::info("queued build {} of {} {} ({}) for {}", request.id, request.source, request.version,
                      request.architecture, request.requester);
            ++report_.requests;
            ++handled;
        } catch (const Error& e) {
            if (e.code() == Exit::no_space || e.code() == Exit::locked)
                throw; // not the request's fault: it stays for the next pass
            reject_loose(ctx_, files, name, {e.code(), e.what()});
            ++report_.rejected;
            ++handled;
        }
    }
    return handled;
}

void Pass::process(const Claim& c)
{
    std::string source, version, distribution;
    notify_to_.clear();
    recorded_ = false;
    if (rejected_already(c)) {
        reject(ctx_, c, {});
        ++report_.rejected;
        return;
    }
    try {
        if (c.changes.empty())
            throw fail(Exit::rejected, "no .changes in '{}'", c.dir.filename().string());
        if (!c.unmoved.empty())
            throw fail(Exit::rejected, "not all of the upload could be claimed");
        // a claim an interrupted pass had already accepted
        if (auto u = find_upload(db_, "claim", c.dir.filename().string())) {
            recorded_ = true;
            move_dir(c.dir, u->dir, "incoming.accept.rename");
            queue_builds(*u);
            return;
        }
        std::string text = read_claimed(c, c.changes, max_changes_size);
        gpg::check_clearsign_envelope(text); // unsigned or with unsigned text: not looked at further
        auto peek = deb822::parse_one(debian::unwrap_clearsigned_unverified(text, c.changes), c.changes,
                                      {.allow_comments = false});
        source = peek.get("Source");
        version = peek.get("Version");
        distribution = peek.get("Distribution");
        if (peek.has(build::result_id_field))
            process_result(c, text);
        else
            process_upload(c, text);
    } catch (const Error& e) {
        std::error_code ec;
        if (e.code() == Exit::no_space || e.code() == Exit::locked || recorded_ || !fs::exists(c.dir, ec))
            throw; // not the upload's fault, or accepted already: the next pass goes on with it
        auto kept = reject(ctx_, c, {e.code() == Exit::failed ? Exit::rejected : e.code(), e.what()}, source, version,
                           distribution);
        ++report_.rejected;
        // only to an address a valid signature vouched for: never mail what a forger wrote
        send_mail(ctx_, notify_to_, fmt::format("mbd: REJECTED {} {}", source, version),
                  fmt::format("Your upload {} to {} was rejected:\n\n  {}\n\nIt is kept in {}.\n", c.changes,
                              distribution, e.what(), kept.string()));
    }
}

// An uploader granted the repository, or this instance itself (ports it made).
gpg::Verified Pass::verify_upload_or_port(const std::string& text, const std::string& repository)
{
    try {
        return keys::verify_upload(ctx_, text, repository);
    } catch (const Error& e) {
        if (e.code() != Exit::bad_signature)
            throw;
        try {
            auto v = keys::instance_keyring(home_).verify_clearsigned(text);
            if (v.fingerprint == keys::require_instance_key(ctx_).info.fingerprint)
                return v;
        } catch (const Error&) {
        }
        throw;
    }
}

void Pass::process_upload(const Claim& c, const std::string& text)
{
    auto peek = debian::Changes::parse(debian::unwrap_clearsigned_unverified(text, c.changes), c.changes);
    if (peek.distributions.size() != 1)
        throw fail(Exit::rejected, "an upload names exactly one distribution, not {}", fmt::join(peek.distributions, " "));
    Target target = resolve_upload_target(ctx_, peek.distributions.front());
    auto verified = verify_upload_or_port(text, target.repository);
    // from here on, only what the signature covers
    auto changes = debian::Changes::parse(verified.content, c.changes);
    notify_to_ = uploader_address(changes);
    if (changes.distributions != peek.distributions)
        throw fail(Exit::rejected, "the signed distribution differs from the one read before verification");
    if (changes.has_binaries())
        throw fail(Exit::rejected, "binary uploads are not accepted: upload sources only "
                                   "(dpkg-buildpackage -S, or dput a _source.changes)");
    const auto* dsc_entry = changes.dsc();
    if (!changes.has_source() || !dsc_entry)
        throw fail(Exit::rejected, "the upload has no source package (.dsc)");
    auto found = verify_files(c, listed(changes.files), ".changes");
    auto dsc = debian::Dsc::parse(read_claimed(c, dsc_entry->name, max_dsc_size), dsc_entry->name);
    check_dsc(changes, dsc, found);
    // nothing but the source package (and its .buildinfo) travels with it
    for (const auto& f : changes.files)
        if (f.name != dsc_entry->name && !f.name.ends_with(".buildinfo") &&
            std::none_of(dsc.files.begin(), dsc.files.end(), [&](const auto& d) { return d.name == f.name; }))
            throw fail(Exit::rejected, "'{}' is not part of the source package (binary uploads are not accepted)",
                       f.name);
    check_upload_version(ctx_, target, changes.source, changes.version.str());
    // the same version uploaded before and not failed: building or installed already
    auto earlier = db_.query("SELECT id, status FROM uploads WHERE source = ? AND version = ? AND repository = ? AND "
                             "status != 'failed' ORDER BY id",
                             changes.source, changes.version.str(), target.repository);
    if (earlier.step())
        throw fail(Exit::rejected, "{} {} was uploaded before (upload {}, {})", changes.source, changes.version.str(),
                   earlier.int64(0), earlier.text(1));
    auto options = Options::parse(changes.changes_text);
    for (const auto& port : options.auto_ports())
        resolve_upload_target(ctx_, port);
    auto plan = plan_architectures(target, dsc);
    if (plan.empty())
        throw fail(Exit::rejected, "nothing to build: the source builds for '{}', the distribution for '{}'",
                   fmt::join(dsc.architectures, " "), fmt::join(target.architectures, " "));

    // accept: one transaction records the upload and its builds ...
    UploadRow u;
    u.claim = c.dir.filename().string();
    u.changes = c.changes;
    u.source = changes.source;
    u.version = changes.version.str();
    u.distribution = target.name;
    {
        db::Transaction tx(db_);
        db_.run("INSERT INTO uploads(claim, changes, source, version, distribution, repository, uploader, options, "
                "status, dir, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'building', '', ?)",
                u.claim, u.changes, u.source, u.version, u.distribution, target.repository, verified.fingerprint,
                fmt::format("{}", fmt::join(options.lines(), "\n")), now_seconds());
        u.id = db_.last_insert_id();
        u.dir = (home_.builds() / fmt::format("upload-{}", u.id)).string();
        db_.run("UPDATE uploads SET dir = ? WHERE id = ?", u.dir, u.id);
        for (const auto& a : plan)
            db_.run("INSERT INTO builds(id, upload_id, architecture, arch_all, status, queued) VALUES (?, ?, ?, ?, "
                    "'queued', ?)",
                    fmt::format("{}-{}", u.id, a.arch), u.id, a.arch, a.arch_all ? 1 : 0, now_seconds());
        record_event(db_, Event{0, 0, "PACKAGING", u.source, u.version, u.distribution, "",
                                fmt::format("accepted {} from {}", u.changes, verified.fingerprint), u.dir});
        tx.commit();
    }
    recorded_ = true;
    fault::point("incoming.accept");
    // ... then the files move and the requests go out (both redone after a crash)
    move_dir(c.dir, u.dir, "incoming.accept.rename");
    fault::point("incoming.accept");
    queue_builds(u);
    ++report_.uploads;
}

// Send a signed build request for every build of the upload not sent yet.
void Pass::queue_builds(const UploadRow& u)
{
    auto target = target_of(u);
    auto changes_text = read_file(fs::path(u.dir) / u.changes);
    auto changes = debian::Changes::parse(debian::unwrap_clearsigned_unverified(changes_text, u.changes), u.changes);
    auto options = Options::parse(changes.changes_text);
    auto instance = keys::require_instance_key(ctx_);
    auto q = db_.query("SELECT id, architecture, arch_all FROM builds WHERE upload_id = ? AND status = 'queued' "
                       "ORDER BY id",
                       u.id);
    std::vector<std::tuple<std::string, std::string, bool>> todo;
    while (q.step())
        todo.emplace_back(q.text(0), q.text(1), q.int64(2) != 0);
    auto dsc_name = changes.dsc()->name;
    auto dsc = debian::Dsc::parse(read_file(fs::path(u.dir) / dsc_name), dsc_name);
    for (const auto& [id, arch, all] : todo) {
        build::Request r;
        r.id = id;
        r.source = u.source;
        r.version = u.version;
        r.distribution = u.distribution;
        r.codename = target.codename;
        r.architecture = arch;
        r.arch_all = all;
        r.arch_any = std::any_of(dsc.architectures.begin(), dsc.architectures.end(),
                                 [&](const std::string& w) { return w != "all" && covers(w, r.architecture); });
        r.requester = instance.info.fingerprint;
        r.lintian_mode = options.lintian_mode(arch) ? std::string(to_string(*options.lintian_mode(arch)))
                                                    : target.lintian_mode;
        r.autopkgtest_mode = options.autopkgtest_mode(arch) ? std::string(to_string(*options.autopkgtest_mode(arch)))
                                                            : target.autopkgtest_mode;
        r.deb_build_options = options.get("deb-build-options", arch).value_or(target.deb_build_options);
        r.deb_build_profiles = options.get("deb-build-profiles", arch).value_or(target.deb_build_profiles);
        r.add_depends = options.get("add-depends", arch).value_or("");
        r.resolver = target.resolver;
        auto sources = build_sources(ctx_, target, options.internal_apt_priority(arch).value_or(target.internal_apt_priority));
        r.apt_sources = sources.lines;
        r.apt_keys = sources.keys;
        r.apt_preferences = sources.preferences;
        r.files.push_back({dsc_name, 0, ""});
        for (const auto& f : changes.files) {
            if (f.name == dsc_name)
                r.files.front() = {f.name, f.size, f.sha256};
            else
                r.files.push_back({f.name, f.size, f.sha256});
        }
        auto signed_request = keys::clearsign(ctx_, r.to_text());
        auto route = remote::route_request(ctx_, r, signed_request, u.dir);
        fault::point("incoming.request");
        db::Transaction tx(db_);
        db_.run("UPDATE builds SET status = 'building', builder = ? WHERE id = ?", route.fingerprint, id);
        std::string message = route.state == "waiting" ? fmt::format("build requested, waiting: {}", route.message)
                                                       : fmt::format("build requested from {}", route.builder);
        if (auto piuparts = options.piuparts_mode(arch); piuparts && *piuparts != QaMode::disabled)
            message += "; upload option piuparts-mode ignored: piuparts needs root and mbd builds without it";
        record_event(db_, Event{0, 0, "BUILDING", u.source, u.version, u.distribution, arch, message, id});
        tx.commit();
    }
}

void Pass::process_result(const Claim& c, const std::string& text)
{
    auto verified = keys::verify_from_instance_or_remote(ctx_, text);
    auto para = deb822::parse_one(verified.content, c.changes, {.allow_comments = false});
    auto changes = debian::Changes::parse(verified.content, c.changes);
    std::string id = para.get(build::result_id_field);
    names::check(names::build_id, id, Exit::rejected);
    std::string log = para.get(build::result_log_field);
    if (!log.empty() && std::none_of(changes.files.begin(), changes.files.end(),
                                     [&](const debian::FileEntry& f) { return f.name == log; }))
        throw fail(Exit::rejected, "result for build '{}': its log '{}' is not one of its files", id, log);
    auto q = db_.query("SELECT upload_id, architecture, status FROM builds WHERE id = ?", id);
    if (!q.step())
        throw fail(Exit::rejected, "result for unknown build '{}'", id);
    long long upload_id = q.int64(0);
    std::string arch = q.text(1), status = q.text(2);
    // A statement left mid-result keeps this connection's read snapshot: a write after
    // another process wrote (mbd-build, recording the next build) would fail at once
    // with SQLITE_BUSY_SNAPSHOT, after the install and before the upload is marked.
    q.reset();
    bool final = status == "successful" || status == "failed";
    verify_files(c, listed(changes.files), ".changes");
    auto upload = find_upload_by_id(db_, upload_id);
    fs::path result_dir = fs::path(upload->dir) / ("result-" + arch);
    std::error_code ec;
    auto keep_late = [&](const std::string& why) {
        // a late or repeated result: kept and recorded, never installed twice
        fs::path late = fs::path(upload->dir) / "late" / c.dir.filename();
        move_dir(c.dir, late);
        db::Transaction tx(db_);
        record_event(db_, Event{0, 0, "BUILT", upload->source, upload->version, upload->distribution, arch,
                                fmt::format("another result for build {} ({}), kept", id, why), late.string()});
        tx.commit();
        ++report_.results;
    };
    if (final) {
        if (fs::exists(result_dir, ec))
            return keep_late("already " + status);
        recorded_ = true;
        move_dir(c.dir, result_dir); // the move an interrupted pass did not finish
        finish_if_complete(upload_id);
        return;
    }
    // only the builder the request was routed to may deliver it, once
    auto check = remote::accept_result(ctx_, id, verified.fingerprint);
    if (check.verdict == remote::ResultVerdict::unexpected)
        throw fail(Exit::not_allowed, "{}", check.message);
    if (check.verdict == remote::ResultVerdict::late)
        return keep_late(check.message);
    // (a duplicate of a result not recorded yet is the one an interrupted pass accepted)
    std::string build_status = para.get(build::result_status_field);
    bool ok = build_status == "successful";
    if (auto reason = para.get(build::result_reason_field); !ok && !reason.empty())
        build_status += ": " + reason;
    double seconds = parse_int(split(para.get(build::result_seconds_field), '.').front()).value_or(0);
    {
        db::Transaction tx(db_);
        db_.run("UPDATE builds SET status = ?, finished = ?, seconds = ?, message = ? WHERE id = ?",
                ok ? "successful" : "failed", now_seconds(), seconds, build_status, id);
        record_event(db_, Event{0, 0, ok ? "BUILT" : "FAILED", upload->source, upload->version, upload->distribution,
                                arch, fmt::format("build {}: {}", id, build_status),
                                log.empty() ? result_dir.string() : (result_dir / log).string()});
        tx.commit();
    }
    recorded_ = true;
    fault::point("incoming.result");
    move_dir(c.dir, result_dir);
    ++report_.results;
    finish_if_complete(upload_id);
}

// When every build of an upload is in: install all of it, or fail it.
void Pass::finish_if_complete(long long upload_id)
{
    auto upload = find_upload_by_id(db_, upload_id);
    if (!upload || upload->status != "building")
        return;
    auto q = db_.query("SELECT id, architecture, status, message FROM builds WHERE upload_id = ? ORDER BY id",
                       upload_id);
    std::vector<std::string> failed;
    std::vector<fs::path> results;
    while (q.step()) {
        std::string status = q.text(2);
        if (status != "successful" && status != "failed")
            return; // still waiting for some
        fs::path dir = fs::path(upload->dir) / ("result-" + q.text(1));
        std::error_code ec;
        if (!fs::exists(dir, ec))
            return; // recorded but not moved yet (finished by the next pass)
        if (status == "failed")
            failed.push_back(fmt::format("{} ({})", q.text(1), q.text(3)));
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (e.path().filename().string().ends_with(".changes"))
                results.push_back(e.path());
    }
    if (!failed.empty()) {
        db::Transaction tx(db_);
        db_.run("UPDATE uploads SET status = 'failed', finished = ?, message = ? WHERE id = ?", now_seconds(),
                fmt::format("build failed on {}", fmt::join(failed, ", ")), upload_id);
        record_event(db_, Event{0, 0, "FAILED", upload->source, upload->version, upload->distribution, "",
                                fmt::format("not installed: build failed on {}", fmt::join(failed, ", ")),
                                upload->dir});
        tx.commit();
        ++report_.failed;
        notify_upload(*upload, "FAILED",
                      fmt::format("build failed on {}; the logs are in {}", fmt::join(failed, ", "), upload->dir));
        return;
    }
    auto target = target_of(*upload);
    auto changes_text = read_file(fs::path(upload->dir) / upload->changes);
    auto changes = debian::Changes::parse(debian::unwrap_clearsigned_unverified(changes_text, upload->changes),
                                          upload->changes);
    fault::point("incoming.install");
    try {
        // the upload is installed in the same transaction as its packages
        install_built(ctx_, target, fs::path(upload->dir) / upload->changes, results, [&](db::Db& db) {
            db.run("UPDATE uploads SET status = 'installed', finished = ? WHERE id = ?", now_seconds(), upload_id);
        });
    } catch (const Error& e) {
        // out of space or the database busy: still building, or installed and not yet
        // published; the next pass goes on with it
        if (e.code() == Exit::no_space || e.code() == Exit::locked ||
            db_.scalar_text("SELECT status FROM uploads WHERE id = ?", upload_id) == "installed")
            throw;
        db::Transaction tx(db_);
        db_.run("UPDATE uploads SET status = 'failed', finished = ?, message = ? WHERE id = ?", now_seconds(),
                e.what(), upload_id);
        record_event(db_, Event{0, 0, "FAILED", upload->source, upload->version, upload->distribution, "",
                                fmt::format("not installed: {}", e.what()), upload->dir});
        tx.commit();
        ++report_.failed;
        return;
    }
    fault::point("incoming.install");
    ++report_.installed;
    notify_upload(*upload, "INSTALLED", fmt::format("installed into {}", upload->distribution));
    // auto-ports=DIST,...: the same source rebuilt for other distributions
    for (const auto& to : Options::parse(changes.changes_text).auto_ports()) {
        try {
            auto r = repo::port(ctx_, upload->source, upload->distribution, to);
            log::info("ported {} {} to {} as {}", r.source, r.from_version, r.to, r.version);
        } catch (const Error& e) {
            db::Transaction tx(db_);
            record_event(db_, Event{0, 0, "FAILED", upload->source, upload->version, to, "",
                                    fmt::format("auto-port from {} failed: {}", upload->distribution, e.what()), ""});
            tx.commit();
        }
    }
}

void Pass::notify_upload(const UploadRow& u, const std::string& what, const std::string& text)
{
    try {
        auto path = fs::path(u.dir) / u.changes;
        auto changes = debian::Changes::parse(debian::unwrap_clearsigned_unverified(read_file(path), u.changes), u.changes);
        send_mail(ctx_, uploader_address(changes), fmt::format("mbd: {} {} {}", what, u.source, u.version),
                  fmt::format("{} {} ({}): {}.\n", u.source, u.version, u.changes, text));
    } catch (const Error& e) {
        log::warning("no notification for upload {}: {}", u.id, e.what());
    }
}

// After a crash: publish what was installed but not published, send requests not
// sent yet, finish uploads whose builds are all in.
void Pass::resume()
{
    publish_unfinished(ctx_);
    auto q = db_.query("SELECT id FROM uploads WHERE status = 'building' ORDER BY id");
    std::vector<long long> ids;
    while (q.step())
        ids.push_back(q.int64(0));
    for (long long id : ids)
        resume_upload(id);
}

void Pass::resume_upload(long long id)
{
    auto u = find_upload_by_id(db_, id);
    std::error_code ec;
    if (!u || !fs::exists(u->dir, ec))
        return; // its claim is still in the spool: handled with the leftovers
    try {
        queue_builds(*u);
        finish_if_complete(id);
    } catch (const Error& e) {
        if (e.code() == Exit::no_space || e.code() == Exit::locked)
            throw;
        log::warning("upload {} ({} {}): {}", id, u->source, u->version, e.what());
    }
}

} // namespace

PassReport run_incoming_pass(Context& ctx)
{
    Pass pass(ctx);
    return pass.run();
}

std::vector<UploadInfo> list_uploads(Context& ctx, const std::string& status_filter, int limit)
{
    auto& db = ctx.db();
    std::string sql = "SELECT id, changes, source, version, distribution, uploader, status, dir, message, received, "
                      "COALESCE(finished, 0) FROM uploads WHERE ? = '' OR status = ? ORDER BY id DESC";
    if (limit > 0)
        sql += " LIMIT " + std::to_string(limit);
    auto q = db.query(sql, status_filter, status_filter);
    std::vector<UploadInfo> out;
    while (q.step())
        out.push_back(UploadInfo{q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6),
                                 q.text(7), q.text(8), q.int64(9), q.int64(10), {}});
    for (auto& u : out) {
        auto b = db.query("SELECT id, architecture, status, builder, message, COALESCE(seconds, 0) FROM builds "
                          "WHERE upload_id = ? ORDER BY id",
                          u.id);
        while (b.step())
            u.builds.push_back({b.text(0), b.text(1), b.text(2), b.text(3), b.text(4), b.real(5)});
    }
    return out;
}

std::vector<std::string> finished_dirs(Context& ctx, long long before)
{
    return ctx.db().column_text("SELECT dir FROM uploads WHERE status IN ('installed', 'failed') AND finished <= ?", before);
}

Json to_json(const UploadInfo& u, bool paths)
{
    Json builds = Json::array();
    for (const auto& b : u.builds)
        builds.push(Json::object()
                        .set("id", b.id)
                        .set("architecture", b.architecture)
                        .set("status", b.status)
                        .set("builder", b.builder)
                        .set("seconds", b.seconds)
                        .set("message", b.message));
    Json j = Json::object();
    j.set("id", u.id)
        .set("changes", u.changes)
        .set("source", u.source)
        .set("version", u.version)
        .set("distribution", u.distribution)
        .set("uploader", u.uploader)
        .set("status", u.status)
        .set("received", iso_time(u.received))
        .set("finished", json_time(u.finished))
        .set("message", u.message);
    if (paths)
        j.set("dir", u.dir);
    return j.set("builds", std::move(builds));
}

std::optional<std::string> uploader_of_build(Context& ctx, const std::string& build_id)
{
    auto q = ctx.db().query("SELECT u.uploader FROM builds b JOIN uploads u ON u.id = b.upload_id WHERE b.id = ?",
                            build_id);
    if (!q.step())
        return std::nullopt;
    return q.text(0);
}

void retry_build(Context& ctx, const std::string& build_id)
{
    auto& db = ctx.db();
    FileLock lock(ctx.home().locks() / "incoming.lock", true);
    auto q = db.query("SELECT upload_id, architecture, status FROM builds WHERE id = ?", build_id);
    if (!q.step())
        throw fail(Exit::not_found, "no build '{}' (see 'mbd-incoming uploads')", build_id);
    long long upload_id = q.int64(0);
    std::string arch = q.text(1), status = q.text(2);
    q.reset(); // (its read snapshot would make the writes below fail: see process_result)
    auto u = find_upload_by_id(db, upload_id);
    if (status != "failed" || (u->status != "failed" && u->status != "building"))
        throw fail(Exit::state, "build '{}' is {} (only a failed build of an upload that is not installed can be retried)",
                   build_id, status);
    fs::path result = fs::path(u->dir) / ("result-" + arch);
    std::error_code ec;
    if (fs::exists(result, ec)) {
        for (int n = 1;; ++n) {
            fs::path kept = fs::path(u->dir) / fmt::format("result-{}.{}", arch, n);
            if (!fs::exists(kept, ec)) {
                move_dir(result, kept);
                break;
            }
        }
    }
    {
        db::Transaction tx(db);
        db.run("UPDATE builds SET status = 'queued', builder = '', finished = NULL, message = 'retried' WHERE id = ?",
               build_id);
        db.run("UPDATE uploads SET status = 'building', finished = NULL, message = '' WHERE id = ?", upload_id);
        tx.commit();
    }
    Pass pass(ctx);
    pass.resume_upload(upload_id);
}

} // namespace mbd::upload
