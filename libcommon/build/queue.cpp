#include "build/queue.hpp"

#include "build/result.hpp"
#include "build/sbuild.hpp"
#include "chroot/chroot.hpp"
#include "chroot/host.hpp"
#include "chroot/proxy.hpp"
#include "core/error.hpp"
#include "core/fault.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "core/wake.hpp"
#include "db/db.hpp"
#include "deb822/deb822.hpp"
#include "gpg/gpg.hpp"
#include "keys/instance.hpp"
#include "keys/verify.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <csignal>
#include <unistd.h>

namespace mbd::build {
namespace {

constexpr std::uintmax_t max_request_size = 1 << 20;

std::string key_of(const std::string& requester, const std::string& id) { return request_key(requester, id); }

std::vector<std::filesystem::path> spool_entries(const Home& home)
{
    std::vector<std::pair<long long, std::filesystem::path>> found;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(home.spool_build(), ec)) {
        auto name = e.path().filename().string();
        if (name.starts_with(".") || !e.is_directory() || e.is_symlink())
            continue;
        struct stat st{};
        ::stat(e.path().c_str(), &st);
        found.emplace_back(st.st_mtim.tv_sec, e.path());
    }
    std::sort(found.begin(), found.end());
    std::vector<std::filesystem::path> out;
    for (auto& f : found)
        out.push_back(f.second);
    return out;
}

struct Slots {
    std::vector<std::optional<FileLock>> held;
    explicit Slots(int n) : held(size_t(std::max(1, n))) {}
};

struct Shared {
    std::mutex m;
    std::condition_variable cv;
    int running = 0;
    bool ended = false; // a build ended since the pass last looked at the spool
    PassReport report;
};

struct Prepared {
    Request request;
    std::string signed_text;
    std::string key;
    std::filesystem::path spool;
};

// Read and check a spool entry. A bad one is moved to var/rejected/ (with its REASON) and
// its error thrown.
Prepared prepare(Context& ctx, const std::filesystem::path& entry)
{
    Prepared p;
    p.spool = entry;
    p.key = entry.filename().string();
    try {
        p.signed_text = read_file_nofollow(entry / "request.asc", max_request_size);
        // signed by this instance or an active remote, for itself
        auto verified = keys::verify_from_instance_or_remote(ctx, p.signed_text);
        p.request = Request::parse(deb822::parse_one(verified.content, "request"));
        if (p.request.requester != verified.fingerprint)
            throw fail(Exit::not_allowed, "request {} is for {} but signed by {}", p.request.id, p.request.requester,
                       verified.fingerprint);
        if (key_of(p.request.requester, p.request.id) != p.key)
            throw fail(Exit::rejected, "request {} is filed under the wrong name '{}'", p.request.id, p.key);
        for (const auto& f : p.request.files) {
            if (sha256_file(entry / f.name) != f.sha256)
                throw fail(Exit::rejected, "SHA256 of '{}' does not match the request", f.name);
        }
    } catch (const Error& e) {
        auto target = ctx.home().rejected() / (p.key + ".request");
        std::filesystem::rename(entry, target);
        write_atomic(target / "REASON", fmt::format("Request: {}\nCode: {} {}\nReason: {}\n", p.key, int(e.code()),
                                                    exit_name(e.code()), e.what()));
        fsync_dir(ctx.home().rejected());
        fsync_dir(ctx.home().spool_build());
        throw fail(e.code(), "rejected build request '{}': {}", p.key, e.what());
    }
    return p;
}

void set_job(db::Db& db, const Prepared& p, const std::string& status, const std::string& dir,
             const std::string& log = {}, const std::string& message = {})
{
    const auto& r = p.request;
    long long now = now_seconds();
    db::Transaction tx(db);
    db.run("INSERT INTO jobs(id, requester, source, version, distribution, architecture, status, queued, dir) "
           "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT(requester, id) DO NOTHING",
           r.id, r.requester, r.source, r.version, r.distribution, r.architecture, now, dir);
    if (status == "running")
        db.run("UPDATE jobs SET status = ?, started = ?, finished = NULL, pid = ?, message = ? WHERE requester = ? AND id = ?",
               status, now, static_cast<long long>(::getpid()), message, r.requester, r.id);
    else if (status == "queued" || status == "waiting")
        db.run("UPDATE jobs SET status = ?, message = ? WHERE requester = ? AND id = ?", status, message, r.requester,
               r.id);
    else
        db.run("UPDATE jobs SET status = ?, finished = ?, pid = NULL, log = ?, message = ? WHERE requester = ? AND id = ?",
               status, now, log, message, r.requester, r.id);
    tx.commit();
}

// A build that ended without sbuild's word on it (cancelled, or an error of ours: why):
// a log saying so, for a failed result like any other.
SbuildOutcome ended_early(const std::filesystem::path& dir, const Request& r, const std::string& status,
                          const std::string& why)
{
    SbuildOutcome o;
    o.status = status;
    o.reason = why;
    o.log = dir / (status + ".log");
    write_atomic(o.log, fmt::format("Build {} of {} {} on {} {} before sbuild finished it, at {}{}{}\n", r.id, r.source,
                                    r.version, r.architecture, status == "cancelled" ? "was cancelled" : "failed",
                                    iso_time(now_seconds()), why.empty() ? "." : ": ", why));
    return o;
}

// However a build ended: its result signed and delivered through the requester's
// route (the requester's pass acts on it), the job recorded as `status`, the request
// out of the spool.
void finish(const Home& home, const Prepared& p, const SbuildOutcome& outcome, const Delivery& delivery,
            const std::filesystem::path& to, const keys::InstanceKey& instance, const std::string& maintainer, const std::filesystem::path& dir,
            const std::string& status)
{
    auto result = make_result(p.request, outcome, instance.info.fingerprint, maintainer);
    auto signed_text = gpg::Keyring(home.gnupg()).clearsign(result.text, instance.info.fingerprint);
    db::Db db = db::Db::open(home.db());
    deliver(result, signed_text, to);
    delivery.delivered(home, to);
    set_job(db, p, status, dir.string(), outcome.log.string(),
            outcome.reason.empty() ? outcome.status : outcome.reason);
    fault::point("build.deliver");
    std::error_code ec;
    std::filesystem::remove_all(p.spool, ec);
    try {
        fsync_dir(home.spool_build()); // (else a power cut could bring it back: built twice)
    } catch (const Error& e) {
        log::warning("{}", e.what());
    }
}

std::string maintainer_of(const Context& ctx)
{
    return fmt::format("{} <{}>", ctx.config().get("identity"), ctx.config().get("email"));
}

} // namespace

std::string request_key(const std::string& requester, const std::string& id)
{
    return requester.substr(0, 16) + "-" + id;
}

bool has_job(db::Db& db, const std::string& requester, const std::string& id)
{
    return db.scalar_int("SELECT 1 FROM jobs WHERE requester = ? AND id = ?", requester, id).has_value();
}

bool known_request(const Home& home, db::Db& db, const std::string& requester, const std::string& id)
{
    std::error_code ec;
    return std::filesystem::exists(home.spool_build() / request_key(requester, id), ec) || has_job(db, requester, id);
}

std::string enqueue(const Home& home, const Request& request, const std::string& signed_request,
                    const std::filesystem::path& source_dir)
{
    std::string key = key_of(request.requester, request.id);
    auto final_dir = home.spool_build() / key;
    std::error_code ec;
    if (std::filesystem::exists(final_dir, ec))
        return key; // queued already (a pass that crashed after this step)
    auto tmp = home.spool_build() / ("." + key + ".new");
    std::filesystem::remove_all(tmp, ec);
    make_dirs(tmp);
    for (const auto& f : request.files) {
        if (::link((source_dir / f.name).c_str(), (tmp / f.name).c_str()) != 0)
            copy_atomic(source_dir / f.name, tmp / f.name);
    }
    write_atomic(tmp / "request.asc", signed_request);
    if (::rename(tmp.c_str(), final_dir.c_str()) != 0)
        throw sys_error(fmt::format("cannot queue build request '{}'", key));
    fsync_dir(home.spool_build());
    wake::raise(home, wake::Pass::build);
    return key;
}

std::vector<BindMount> source_binds(const Home& home, const Request& request, bool own)
{
    std::vector<BindMount> binds;
    const auto repositories = home.repositories().lexically_normal();
    for (const auto& line : request.apt_sources) {
        // one-line format: deb[-src] [options] URI suite [components]
        auto words = split_ws(line);
        size_t at = 1;
        if (at < words.size() && words[at].starts_with("[")) {
            while (at < words.size() && !words[at].ends_with("]"))
                ++at;
            ++at; // past the word that closes the options
        }
        if (words.empty() || (words[0] != "deb" && words[0] != "deb-src") || at >= words.size())
            throw fail(Exit::not_allowed, "build request {}: malformed apt source '{}'", request.id, line);
        std::string_view uri = words[at];
        if (!own) {
            if (!uri.starts_with("http://") && !uri.starts_with("https://"))
                throw fail(Exit::not_allowed,
                           "build request {}: apt source '{}' is not an http or https URL (a peer's builds see "
                           "what it publishes, never this host's files)",
                           request.id, uri);
            continue;
        }
        if (!uri.starts_with("file:"))
            continue;
        std::string path = uri.starts_with("file:///") ? std::string(uri.substr(7)) : std::string();
        while (path.size() > 1 && path.back() == '/')
            path.pop_back();
        auto dir = std::filesystem::path(path).lexically_normal();
        std::error_code ec;
        if (dir.parent_path() != repositories || !names::repository.valid(dir.filename().string()) ||
            !std::filesystem::is_directory(std::filesystem::symlink_status(dir, ec)))
            throw fail(Exit::not_allowed,
                       "build request {}: apt source '{}' is not one of this instance's repositories (builds see "
                       "only those of the host)",
                       request.id, uri);
        if (std::none_of(binds.begin(), binds.end(), [&](const BindMount& b) { return b.directory == dir; }))
            binds.push_back({dir, dir.string()});
    }
    return binds;
}

namespace {

// What the builds of a pass need, read once when it starts.
struct BuildEnv {
    const Home home;
    const Delivery& delivery;
    const Runner& runner;
    keys::InstanceKey instance;
    std::string build_user, maintainer, unpack, apt_proxy;
    int timeout = 0;
    int parallel = 0;
};

// One build a pass started: its request, its directory (and the lock held there), its
// chroot, its slot and where its result goes.
struct Build {
    Prepared p;
    std::filesystem::path dir;
    FileLock lock;
    chroot::Usable usable;
    int slot = -1;
    std::filesystem::path to;
};

// A pass: what its builds need and share, the spool entries it started or set aside, the
// threads running its builds.
struct Pass {
    Context& ctx;
    BuildEnv env;
    Slots slots;
    Shared shared;
    std::set<std::string> seen;
    std::vector<std::thread> threads;
};

// The pass's settings (Error(Exit::environment) for a build as root).
BuildEnv build_env(Context& ctx, const Delivery& delivery, const Runner& runner)
{
    std::string build_user = ctx.config().get("build.user");
    if (build_user.empty() && ::geteuid() == 0)
        throw fail(Exit::environment, "refusing to build as root: set 'build.user' to an unprivileged user with a "
                                      "subuid and subgid range");
    // (checked up front: deep inside sbuild it reads as a failed build of the package)
    if (!build_user.empty() && ::geteuid() == 0)
        if (auto why = chroot::unreachable_for(build_user, {ctx.home().builds(), ctx.home().chroots()}))
            throw fail(Exit::environment, "{}", *why);
    auto instance = keys::require_instance_key(ctx);
    std::string maintainer = maintainer_of(ctx);
    std::string unpack = ctx.config().get("chroot.unpack_dir");
    int timeout = int(ctx.config().get_int("build.timeout"));
    return {ctx.home(), delivery, runner, std::move(instance), build_user, maintainer, unpack,
            chroot::apt_proxy(ctx), timeout, int(std::max(0LL, ctx.config().get_int("build.parallel")))};
}

// A build slot taken (its lock in var/lock/), or -1 when all are busy.
int free_slot(const Home& home, Slots& slots)
{
    for (int k = 0; k < int(slots.held.size()); ++k) {
        if (slots.held[size_t(k)])
            continue;
        auto lock = FileLock::try_lock(home.locks() / fmt::format("build-slot-{}", k));
        if (lock) {
            slots.held[size_t(k)].emplace(std::move(*lock));
            return k;
        }
    }
    return -1;
}

// A fresh working directory (but its lock) with the request's sources.
void fill_build_dir(const Build& b)
{
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(b.dir, ec))
        if (e.path().filename() != "lock")
            std::filesystem::remove_all(e.path(), ec);
    for (const auto& f : b.p.request.files)
        if (::link((b.p.spool / f.name).c_str(), (b.dir / f.name).c_str()) != 0)
            copy_atomic(b.p.spool / f.name, b.dir / f.name);
    write_atomic(b.dir / "request.asc", b.p.signed_text);
}

// Run the build and deliver its result; ok tells whether sbuild built it (set before the
// delivery, which may still throw).
void build_and_deliver(const BuildEnv& env, const Build& b, bool& ok)
{
    const auto& r = b.p.request;
    fill_build_dir(b);
    SbuildJob job{r, b.dir, b.usable.tarball, {}, env.build_user, env.unpack, env.parallel, env.timeout,
                  b.usable.stale};
    job.binds = source_binds(env.home, r, r.requester == env.instance.info.fingerprint);
    job.dpkg_admindir = chroot::installed_packages(b.usable);
    job.apt_proxy = env.apt_proxy;
    job.started = [&](int pid) {
        db::Db db = db::Db::open(env.home.db());
        db.run("UPDATE jobs SET pid = ? WHERE requester = ? AND id = ?", static_cast<long long>(pid), r.requester,
               r.id);
    };
    auto outcome = env.runner(job);
    fault::point("build.finish");
    if (db::Db::open(env.home.db()).scalar_text("SELECT status FROM jobs WHERE requester = ? AND id = ?", r.requester,
                                                r.id) == "cancelling")
        outcome.status = "cancelled";
    ok = outcome.successful();
    finish(env.home, b.p, outcome, env.delivery, b.to, env.instance, env.maintainer, b.dir,
           ok ? "successful" : outcome.status == "cancelled" ? "cancelled" : "failed");
    log::info("built {} {} on {}: {}", r.source, r.version, r.architecture, outcome.status);
}

// A build that ended in an error of ours: queued again when it was not the build's doing,
// else a failed result for the requester.
void after_error(const BuildEnv& env, const Build& b, const Error& error)
{
    log::error("build {} failed: {}", b.p.request.id, error.what());
    try {
        if (error.code() == Exit::no_space || error.code() == Exit::locked) {
            // not the build's doing: the request stays queued for the next pass
            db::Db db = db::Db::open(env.home.db());
            set_job(db, b.p, "queued", b.dir.string(), {}, fmt::format("queued again: {}", error.what()));
        } else {
            // it ended before sbuild could (no build user, a source not allowed...): the
            // requester still gets a failed result, saying why
            finish(env.home, b.p, ended_early(b.dir, b.p.request, "failed", error.what()), env.delivery, b.to,
                   env.instance, env.maintainer, b.dir, "failed");
        }
    } catch (const std::exception& e) {
        // not even that: the request stays in the spool for the next pass
        log::error("build {}: cannot deliver its failed result: {}", b.p.request.id, e.what());
        try {
            db::Db db = db::Db::open(env.home.db());
            set_job(db, b.p, "failed", b.dir.string(), {}, error.what());
        } catch (...) {
        }
    }
}

// One build, on its own thread: built, its result delivered, its slot freed and counted.
void run_one(const BuildEnv& env, Slots& slots, Shared& shared, const Build& b)
{
    bool ok = false;
    std::optional<Error> error;
    try {
        build_and_deliver(env, b, ok);
    } catch (const Error& e) {
        error = e;
    } catch (const std::exception& e) {
        error = Error(e.what());
    }
    if (error)
        after_error(env, b, *error);
    std::lock_guard g(shared.m);
    slots.held[size_t(b.slot)].reset();
    --shared.running;
    shared.ended = true;
    (ok ? shared.report.successful : shared.report.failed)++;
    if (error && shared.report.errors++ == 0)
        shared.report.error = error->code();
    shared.cv.notify_all();
}

// A spool entry this pass can build now (locked, its request checked, a chroot for it), or
// nullopt; an entry rejected or waiting for a chroot is set aside (seen).
std::optional<Build> ready_build(Pass& pass, const std::filesystem::path& entry)
{
    auto name = entry.filename().string();
    if (pass.seen.count(name))
        return std::nullopt;
    auto dir = pass.env.home.builds() / name;
    make_dirs(dir);
    auto lock = FileLock::try_lock(dir / "lock");
    if (!lock)
        return std::nullopt; // another pass is building it, or only looking at it: look again next round
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(entry, ec))) {
        // another pass built it (and removed its entry, holding the lock) since this round
        // listed the spool: nothing left to do with it
        pass.seen.insert(name);
        return std::nullopt;
    }
    std::optional<Prepared> prepared;
    try {
        prepared = prepare(pass.ctx, entry);
    } catch (const Error& e) {
        log::error("{}", e.what());
        ++pass.shared.report.rejected;
        pass.seen.insert(name);
        return std::nullopt;
    }
    chroot::Usable usable;
    try {
        usable = chroot::find_usable(pass.ctx, prepared->request.codename, prepared->request.architecture);
    } catch (const Error& e) {
        // no usable chroot: the request waits (a later pass takes it), it does not fail
        set_job(pass.ctx.db(), *prepared, "waiting", dir.string(), {}, fmt::format("waiting: {}", e.what()));
        pass.seen.insert(name);
        return std::nullopt;
    }
    return Build{std::move(*prepared), dir, std::move(*lock), usable, -1, {}};
}

// Start a build in slot on a thread of its own, recorded as running.
void start(Pass& pass, Build b, int slot)
{
    const auto& r = b.p.request;
    pass.seen.insert(b.p.spool.filename().string());
    set_job(pass.ctx.db(), b.p, "running", b.dir.string());
    fault::point("build.start");
    {
        std::lock_guard g(pass.shared.m);
        ++pass.shared.running;
        ++pass.shared.report.started;
    }
    b.slot = slot;
    b.to = pass.env.delivery.route(pass.ctx, r.requester);
    if (b.usable.stale)
        log::warning("chroot '{}/{}' is older than chroot.max_age: build {} upgrades it in its session "
                     "(run 'mbd-chroot update')",
                     r.codename, r.architecture, r.id);
    pass.threads.emplace_back([&pass, b = std::move(b)] { run_one(pass.env, pass.slots, pass.shared, b); });
}

// After a round over the spool: false when the pass is done, else true once there may be
// more to start.
bool wait_for_change(Pass& pass, bool started, bool out_of_slots)
{
    std::unique_lock g(pass.shared.m);
    if (pass.shared.running == 0 && !started) {
        // leaving queued work to the passes holding the slots: they look again when one frees
        if (out_of_slots)
            wake::raise(pass.env.home, wake::Pass::build);
        return false;
    }
    // Until a build ends or a request is queued (its flag; checked each second): a
    // request queued while others build takes a free slot at once.
    while (pass.shared.running > 0 && !pass.shared.ended &&
           !std::filesystem::exists(wake::flag(pass.env.home, wake::Pass::build)))
        pass.shared.cv.wait_for(g, std::chrono::seconds(1));
    pass.shared.ended = false;
    return true;
}

} // namespace

PassReport run_pass(Context& ctx, const Delivery& delivery, const Runner& runner)
{
    const Home home = ctx.home();
    if (!keys::find_instance_key(ctx)) {
        // not set up yet (the flags are raised at boot and when the package is installed):
        // nothing can be queued, so nothing to do; the flag goes down with a success, or
        // its path unit would start the pass again and again until systemd gives up on it
        wake::lower(home, wake::Pass::build);
        log::notice("the instance has no key yet ('mbd-keygen init'): nothing to build");
        return {};
    }
    make_dirs(home.locks());
    int jobs = int(std::max(1LL, ctx.config().get_int("build.jobs")));
    Pass pass{ctx, build_env(ctx, delivery, runner), Slots(jobs), {}, {}, {}};
    // The builds started run to their end whatever happens here: an error of the pass (the
    // database busy beyond its timeout, say) waits for them before it is raised (a thread
    // still running when its std::thread goes would abort the whole process)
    struct JoinAll {
        std::vector<std::thread>& threads;
        ~JoinAll()
        {
            for (auto& t : threads)
                if (t.joinable())
                    t.join();
        }
    } join_all{pass.threads};
    bool more = true;
    while (more) {
        bool started = false, out_of_slots = false;
        wake::lower(home, wake::Pass::build); // raised again by whoever queues a request after this
        for (const auto& entry : spool_entries(home)) {
            auto build = ready_build(pass, entry);
            if (!build)
                continue;
            int slot = free_slot(home, pass.slots);
            if (slot < 0) {
                out_of_slots = true; // all slots busy: wait for one of ours, or leave it to the passes holding them
                break;
            }
            started = true;
            start(pass, std::move(*build), slot);
        }
        more = wait_for_change(pass, started, out_of_slots);
    }
    for (auto& t : pass.threads) // (each has counted itself in the report)
        t.join();
    return pass.shared.report;
}

std::vector<Job> list_jobs(Context& ctx, const std::string& status_filter)
{
    auto q = ctx.db().query("SELECT id, requester, source, version, distribution, architecture, status, dir, log, "
                            "message, queued, COALESCE(started, 0), COALESCE(finished, 0) FROM jobs "
                            "WHERE ? = '' OR status = ? ORDER BY queued, id",
                            status_filter, status_filter);
    std::vector<Job> out;
    while (q.step()) {
        Job j;
        j.id = q.text(0);
        j.requester = q.text(1);
        j.key = key_of(j.requester, j.id);
        j.source = q.text(2);
        j.version = q.text(3);
        j.distribution = q.text(4);
        j.architecture = q.text(5);
        j.status = q.text(6);
        j.dir = q.text(7);
        j.log = q.text(8);
        j.message = q.text(9);
        j.queued = q.int64(10);
        j.started = q.int64(11);
        j.finished = q.int64(12);
        out.push_back(std::move(j));
    }
    return out;
}

std::filesystem::path job_log(Context& ctx, const std::string& id)
{
    for (const auto& j : list_jobs(ctx))
        if (j.id == id || j.key == id) {
            if (j.log.empty())
                throw fail(Exit::not_found, "build '{}' has no log yet (status {})", id, j.status);
            return j.log;
        }
    throw fail(Exit::not_found, "no build '{}' here (see 'mbd-build list')", id);
}

void cancel(Context& ctx, const std::string& id, const Delivery& delivery)
{
    std::optional<Job> job;
    for (auto& j : list_jobs(ctx))
        if (j.id == id || j.key == id)
            job = j;
    std::error_code ec;
    auto entry = ctx.home().spool_build() / (job ? job->key : id);
    if (!job) // a queued request has no job yet: find it by its id ("<requester>-<id>")
        for (const auto& e : spool_entries(ctx.home()))
            if (e.filename().string().ends_with("-" + id))
                entry = e;
    if (job && job->status == "running") {
        auto pid = ctx.db().scalar_int("SELECT pid FROM jobs WHERE requester = ? AND id = ?", job->requester, job->id);
        ctx.db().run("UPDATE jobs SET status = 'cancelling' WHERE requester = ? AND id = ?", job->requester, job->id);
        if (pid && *pid > 1)
            ::kill(-static_cast<pid_t>(*pid), SIGTERM);
        log::notice("cancelling the running build {}", job->id);
        return;
    }
    if (!std::filesystem::exists(entry, ec))
        throw fail(Exit::not_found, "no queued or running build '{}' (see 'mbd-build list')", id);
    auto dir = ctx.home().builds() / entry.filename();
    make_dirs(dir);
    auto lock = FileLock::try_lock(dir / "lock");
    if (!lock)
        throw fail(Exit::locked, "build '{}' is being started; try again", id);
    auto p = prepare(ctx, entry);
    finish(ctx.home(), p, ended_early(dir, p.request, "cancelled", {}), delivery,
           delivery.route(ctx, p.request.requester), keys::require_instance_key(ctx), maintainer_of(ctx), dir, "cancelled");
}

std::vector<std::string> finished_dirs(Context& ctx, long long before)
{
    return ctx.db().column_text("SELECT dir FROM jobs WHERE status IN ('successful', 'failed', 'given-back', 'cancelled') AND finished <= ?", before);
}

Json to_json(const Job& j, bool paths)
{
    Json out = Json::object();
    out.set("id", j.id)
        .set("requester", j.requester)
        .set("source", j.source)
        .set("version", j.version)
        .set("distribution", j.distribution)
        .set("architecture", j.architecture)
        .set("status", j.status)
        .set("queued", json_time(j.queued))
        .set("started", json_time(j.started))
        .set("finished", json_time(j.finished));
    if (paths)
        out.set("log", j.log);
    return out.set("message", j.message);
}

} // namespace mbd::build
