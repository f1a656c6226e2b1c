#include "chroot/chroot.hpp"

#include "chroot/host.hpp"
#include "chroot/mmdebstrap.hpp"
#include "chroot/packages.hpp"
#include "chroot/proxy.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"

#include <chrono>
#include <fstream>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mbd::chroot {
namespace {

// The seed's rule of thumb: 0.3 GB per codename and architecture (a bookworm
// buildd tarball is ~140 MiB; an update needs room for the old and the new one).
constexpr std::uintmax_t tarball_space = 300ULL << 20;
// An unpacked buildd chroot is ~450 MiB, plus the packages a create downloads.
constexpr std::uintmax_t unpack_space = 1ULL << 30;

// Runs inside the chroot, its lines joined into one (mmdebstrap echoes hooks to the
// log; each line is a whole command); the first failure says what failed, marked
// for failure_reason().
constexpr std::string_view check_script = R"sh(fail() { echo "mbd-check: $*" >&2; exit 1; }
for p in dpkg dpkg-query apt-get; do command -v $p >/dev/null || fail "'$p' is missing"; done
audit=$(dpkg --audit 2>&1) || fail "'dpkg --audit' failed: $audit"
[ -z "$audit" ] || fail "'dpkg --audit' reports: $(printf '%s' "$audit" | head -n 3 | tr '\n' ' ')"
dpkg-query -W -f='${Status}' build-essential | grep -q 'ok installed' || fail "'build-essential' is not installed"
out=$(apt-get check -q 2>&1) || fail "'apt-get check' failed: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
)sh";

constexpr std::string_view columns = "codename, arch, backend, mirror, components, keyring, size, mtime_ns, sha256, "
                                     "created, updated, status, check_flag, last_check, check_message, uris, suite, "
                                     "key_fingerprints, base_source";

Chroot from_row(db::Stmt& s, const Home& home)
{
    Chroot c;
    c.codename = s.text(0);
    c.arch = s.text(1);
    c.backend = s.text(2);
    c.source.mirror = s.text(3);
    c.source.components = s.text(4);
    c.source.keyring = s.text(5);
    c.size = std::uintmax_t(s.int64(6));
    c.mtime_ns = s.int64(7);
    c.sha256 = s.text(8);
    c.created = s.int64(9);
    c.updated = s.int64(10);
    c.status.status = parse_status(s.text(11)).value_or(Status::removed);
    c.status.flag = parse_check_flag(s.text(12)).value_or(CheckFlag::unchecked);
    c.status.last_check = s.int64(13);
    c.check_message = s.text(14);
    const std::string uris = s.text(15); // (split_ws() returns views into it)
    for (auto u : split_ws(uris))
        c.source.uris.emplace_back(u);
    if (c.source.uris.empty()) // (a row from before several URIs: its mirror)
        c.source.uris = {c.source.mirror};
    c.source.suite = s.text(16);
    c.source.keys = s.text(17);
    c.source.base_source = s.text(18);
    c.tarball = tarball_path(home, c.codename, c.arch);
    return c;
}

std::optional<Chroot> load(Context& ctx, const std::string& codename, const std::string& arch)
{
    auto s = ctx.db().query(fmt::format("SELECT {} FROM chroots WHERE codename = ? AND arch = ?", columns), codename,
                            arch);
    if (!s.step())
        return std::nullopt;
    return from_row(s, ctx.home());
}

void save(Context& ctx, const Chroot& c)
{
    db::Db& db = ctx.db();
    db::Transaction tx(db);
    db.run(fmt::format("INSERT OR REPLACE INTO chroots ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                       "?, ?)",
                       columns),
           c.codename, c.arch, c.backend, c.source.mirror, c.source.components, c.source.keyring.string(),
           static_cast<long long>(c.size), c.mtime_ns, c.sha256, c.created, c.updated, to_string(c.status.status),
           to_string(c.status.flag), c.status.last_check, c.check_message, join(c.source.uris, " "), c.source.suite,
           c.source.keys, c.source.base_source);
    tx.commit();
}

// A chroot that exists (not removed), or Error(Exit::not_found).
Chroot require_chroot(Context& ctx, const std::string& codename, const std::string& arch)
{
    auto c = load(ctx, codename, arch);
    if (!c || c->status.status == Status::removed)
        throw fail(Exit::not_found, "no chroot '{}/{}' (create it with 'mbd-chroot create {} {}')", codename, arch,
                   codename, arch);
    return *c;
}

FileLock lock(Context& ctx, const std::string& codename, const std::string& arch)
{
    ctx.db(); // makes the home layout, var/lock included
    auto l = FileLock::try_lock(ctx.home().locks() / fmt::format("chroot-{}-{}.lock", codename, arch));
    if (!l)
        throw fail(Exit::locked, "chroot '{}/{}' is busy: another mbd-chroot is working on it", codename, arch);
    return std::move(*l);
}

// Where mmdebstrap unpacks (chroot.unpack_dir) and fetches through (apt.proxy).
Where configured_where(Context& ctx)
{
    Where w;
    w.unpack_dir = ctx.config().get("chroot.unpack_dir");
    w.proxy = apt_proxy(ctx);
    return w;
}

// ... and where it writes its output: progress on a terminal when asked for, else a
// log per chroot and action.
Where where(Context& ctx, const std::string& codename, const std::string& arch, std::string_view action,
            bool progress)
{
    Where w = configured_where(ctx);
    if (!(progress && ::isatty(2)))
        w.log = ctx.home().log() / fmt::format("chroot-{}-{}-{}.log", codename, arch, action);
    return w;
}

// The host can run mmdebstrap for this chroot now.
void require_host(Context& ctx, const std::string& arch)
{
    require_runnable_arch(arch);
    require_unshare_ready();
    require_unpack_dir(ctx.config().get("chroot.unpack_dir"), unpack_space);
}

// A file removed on destruction unless released (a temporary tarball).
struct TempFile {
    fs::path path;
    ~TempFile()
    {
        std::error_code ec;
        if (!path.empty())
            fs::remove(path, ec);
    }
};

// Temporaries a killed create, update or import left behind (we hold the lock).
void remove_temporaries(const fs::path& dir)
{
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        if (starts_with(name, ".") && name.find(".tmp") != std::string::npos) {
            log::debug("chroot", "removing leftover '{}'", e.path().string());
            fs::remove(e.path(), ec);
        }
    }
}

fs::path temporary_tarball(const fs::path& final)
{
    return final.parent_path() / fmt::format(".{}.{}.tmp.tar.zst", final.stem().stem().string(), ::getpid());
}

// fsync the new tarball, rename it over the old one, fsync the directory.
void install(TempFile& tmp, const fs::path& final)
{
    int fd = ::open(tmp.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        int err = errno;
        if (fd >= 0)
            ::close(fd);
        throw sys_error(err, fmt::format("cannot write '{}'", tmp.path.string()));
    }
    ::close(fd);
    if (::rename(tmp.path.c_str(), final.c_str()) != 0)
        throw sys_error(fmt::format("cannot rename '{}' to '{}'", tmp.path.string(), final.string()));
    tmp.path.clear();
    fsync_dir(final.parent_path());
}

std::string sha256_file(const fs::path& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw sys_error(fmt::format("cannot open '{}'", path.string()));
    Hasher h(Hasher::Algo::sha256);
    std::string buf(1 << 20, '\0');
    ssize_t n;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            h.update(std::string_view(buf.data(), size_t(n)));
    int err = errno;
    ::close(fd);
    if (n < 0)
        throw sys_error(err, fmt::format("cannot read '{}'", path.string()));
    return h.hex();
}

// Size and mtime of the tarball; false when it is missing.
bool stat_tarball(const fs::path& path, std::uintmax_t& size, long long& mtime_ns)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    size = std::uintmax_t(st.st_size);
    mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    return true;
}

// After a new tarball was installed: record it; the chroot is prepared (unchecked).
void record_new_tarball(Context& ctx, Chroot& c)
{
    stat_tarball(c.tarball, c.size, c.mtime_ns);
    c.sha256 = sha256_file(c.tarball);
    c.updated = now_seconds();
    // A chroot waiting to be reactivated keeps waiting: its next passing check does it.
    if (c.status.flag != CheckFlag::failed_reactivate)
        c.status = c.status.after_prepare();
    c.check_message.clear();
    save(ctx, c);
}

// Under the lock: the status as it is now (activate may have changed it meanwhile).
void keep_status(Context& ctx, Chroot& c)
{
    if (auto now = load(ctx, c.codename, c.arch)) {
        c.status = now->status;
        c.created = now->created;
    }
}

std::optional<Source> base_source(const SourceOf& source_of, const std::string& codename)
{
    return source_of ? source_of(codename) : std::nullopt;
}

// The source a chroot is remade from when no option names one: its distribution's base
// source, else its own (as recorded when it came from a base source that is gone, else
// its mirror and keyring, or the configuration's for a new one).
Source current_source(Context& ctx, const std::string& codename, const std::optional<Chroot>& existing,
                      const std::optional<Source>& base)
{
    if (base)
        return *base;
    if (existing && !existing->source.base_source.empty())
        return existing->source;
    require_known_codename(codename);
    return resolve_source(ctx.home(), ctx.config(), existing ? existing->source.mirror : "",
                          existing ? existing->source.keyring : fs::path());
}

Chroot new_or_existing(Context& ctx, const std::string& codename, const std::string& arch,
                       const SourceOptions& options, const SourceOf& source_of)
{
    auto existing = load(ctx, codename, arch);
    Chroot c = existing.value_or(Chroot{});
    c.codename = codename;
    c.arch = arch;
    c.tarball = tarball_path(ctx.home(), codename, arch);
    auto base = base_source(source_of, codename);
    if (options.mirror.empty() && options.keyring.empty()) {
        c.source = current_source(ctx, codename, existing, base);
    } else {
        SourceOptions given = options;
        if (existing && existing->source.base_source.empty() && given.mirror.empty())
            given.mirror = existing->source.mirror;
        if (existing && existing->source.base_source.empty() && given.keyring.empty())
            given.keyring = existing->source.keyring;
        if (!base) // (another vendor's codename is fine with a distribution)
            require_known_codename(codename);
        c.source = resolve_source(ctx.home(), ctx.config(), given.mirror, given.keyring);
        if (base)
            if (auto diff = differences(c.source, *base, codename); !diff.empty())
                log::warning("chroot '{}' is made from {} as asked, not from the base source of distribution '{}', "
                             "{} ({}): its check fails until 'mbd-chroot update {} {}' makes it from that",
                             c.name(), describe(c.source, codename), codename, describe(*base, codename), diff,
                             codename, arch);
    }
    if (c.source.uris.empty())
        throw fail(Exit::config, "the source of chroot '{}' has no archive URL", c.name());
    c.source.mirror = c.source.uris.front();
    require_known_arch(arch);
    return c;
}

// Run attempt (which throws an Error when it fails) with source.mirror set to each of
// source.uris in turn until one succeeds; source.mirror is left at that one. A failure
// for want of space is not the URI's: it ends the attempts.
template <typename Attempt>
void each_uri(Context& ctx, const Chroot& c, std::string_view action, Source& source, Attempt attempt)
{
    std::vector<std::string> failures;
    for (size_t i = 0; i < source.uris.size(); ++i) {
        source.mirror = source.uris[i];
        Where w = where(ctx, c.codename, c.arch, i == 0 ? std::string(action) : fmt::format("{}-{}", action, i + 1),
                        true);
        try {
            attempt(w);
            if (i > 0)
                log::notice("chroot '{}': {} from '{}' worked", c.name(), action, source.mirror);
            return;
        } catch (const Error& e) {
            if (source.uris.size() == 1 || e.code() == Exit::no_space)
                throw;
            failures.push_back(fmt::format("'{}': {}", source.mirror, e.what()));
            if (i + 1 == source.uris.size())
                throw fail(e.code(), "{} of chroot '{}' failed with every URI of its source: {}", action, c.name(),
                           join(failures, "; "));
            log::warning("chroot '{}': {} from '{}' failed, trying '{}' next: {}", c.name(), action, source.mirror,
                         source.uris[i + 1], e.what());
        }
    }
}

// chroot.include: what every build needs, installed once into the chroot.
std::vector<std::string> include(Context& ctx)
{
    std::vector<std::string> out;
    for (auto p : split_ws(ctx.config().get("chroot.include")))
        out.emplace_back(p);
    return out;
}

std::string ago(long long seconds)
{
    if (seconds < 120)
        return fmt::format("{}s", seconds);
    if (seconds < 7200)
        return fmt::format("{}m", seconds / 60);
    if (seconds < 2 * 86400)
        return fmt::format("{}h", seconds / 3600);
    return fmt::format("{}d", seconds / 86400);
}

// Why a chroot made from made is not made from its distribution's base source want, or nullopt.
std::optional<std::string> source_changed(Context& ctx, const Chroot& c, Source made, const Source& want)
{
    if (made.keys.empty()) { // (a row from before keys were recorded)
        try {
            made.keys = keyring_keys(ctx.home(), made.keyring);
        } catch (const Error& e) {
            log::debug("chroot", "{}", e.what());
        }
    }
    auto diff = differences(made, want, c.codename);
    if (diff.empty())
        return std::nullopt;
    return fmt::format("it was made from {}, but the base source of distribution '{}' is {} ({}): "
                       "'mbd-chroot update {} {}' makes it from that",
                       describe(made, c.codename), c.codename, describe(want, c.codename), diff, c.codename, c.arch);
}

// Whether two keyring files hold the same keys: the same bytes, else the same fingerprints
// (a chroot imported from a tarball carries the keyring it was made with).
bool same_keys(Context& ctx, const fs::path& a, const fs::path& b)
{
    if (sha256_file(a) == sha256_file(b))
        return true;
    try {
        return keyring_keys(ctx.home(), a) == keyring_keys(ctx.home(), b);
    } catch (const Error& e) {
        log::debug("chroot", "{}", e.what());
        return false;
    }
}

// Why the chroot does not pass its check, or nullopt. We hold its lock.
std::optional<std::string> verify(Context& ctx, const Chroot& c, const std::optional<Source>& want)
{
    std::uintmax_t size = 0;
    long long mtime = 0;
    if (!stat_tarball(c.tarball, size, mtime))
        return fmt::format("tarball '{}' is missing", c.tarball.string());
    if (sha256_file(c.tarball) != c.sha256)
        return fmt::format("tarball '{}' does not have its recorded sha256 (corrupt, or changed behind mbd's back)",
                           c.tarball.string());
    if (want)
        if (auto changed = source_changed(ctx, c, c.source, *want))
            return changed;
    TempDir out(ctx.home().tmp(), "chroot-check");
    Where w = where(ctx, c.codename, c.arch, "check", false);
    auto script_lines = split(trim(check_script), '\n');
    std::vector<std::string> hooks = {
        fmt::format("chroot \"$1\" /bin/sh -c {}", shell_quote(fmt::format("{}", fmt::join(script_lines, "; ")))),
        fmt::format("copy-out /etc/apt/sources.list /etc/apt/keyrings {}", out.path().string()),
    };
    if (reuse(c.tarball, c.source, false, c.codename, c.arch, hooks, "/dev/null", w) != 0)
        return fmt::format("{} (log: '{}')", failure_reason(w.log), w.log.string());
    std::string line = sources_line(c.source, c.codename);
    std::string have(trim(read_file(out.path() / "sources.list")));
    if (have != line)
        return fmt::format("its sources.list says '{}', its source '{}'", have, line);
    try {
        sha256_file(c.source.keyring);
    } catch (const Error& e) {
        return fmt::format("the keyring of its source is unreadable: {}", e.what());
    }
    fs::path inside = out.path() / "keyrings" / fs::path(keyring_inside(c.source)).filename();
    std::error_code ec;
    if (!fs::is_regular_file(inside, ec))
        return fmt::format("its keyring '{}' is missing (run 'mbd-chroot update {} {}')", keyring_inside(c.source),
                           c.codename, c.arch);
    if (!same_keys(ctx, inside, c.source.keyring))
        return fmt::format("its keyring '{}' differs from its source's '{}' (run 'mbd-chroot update {} {}')",
                           keyring_inside(c.source), c.source.keyring.string(), c.codename, c.arch);
    return std::nullopt;
}

// installed_packages() for a tarball
fs::path packages_of(const fs::path& tarball, const std::string& sha256)
{
    try {
        return dpkg_admindir(tarball, sha256);
    } catch (const Error& e) {
        log::warning("{} (builds install every build dependency)", e.what());
        return {};
    }
}

// Check and record the result; we hold the lock. want: its distribution's base source.
Chroot check_locked(Context& ctx, Chroot c, const std::optional<Source>& want)
{
    auto problem = verify(ctx, c, want);
    c.status = c.status.after_check(!problem, now_seconds());
    c.check_message = problem.value_or("");
    if (!problem)
        stat_tarball(c.tarball, c.size, c.mtime_ns); // what find_usable() compares with
    save(ctx, c);
    if (problem)
        throw fail(Exit::check_failed, "chroot '{}' failed its check{}: {}", c.name(),
                   c.status.flag == CheckFlag::failed_reactivate ? " (out of service until a check passes)" : "",
                   *problem);
    log::notice("chroot '{}' passed its check: {}", c.name(), c.status.display());
    if (c.status.status == Status::prepared) // (nothing builds in it yet: say what does)
        log::notice("builds use it once it is active: mbd-chroot activate {} {}", c.codename, c.arch);
    packages_of(c.tarball, c.sha256); // made now rather than by the first build
    return c;
}

void for_each(Context& ctx, std::string_view action, const SourceOf& source_of,
              Chroot (*fn)(Context&, const std::string&, const std::string&, const SourceOf&))
{
    int failed = 0, total = 0;
    Exit code = Exit::ok;
    for (const auto& c : list(ctx)) {
        if (c.status.status == Status::removed)
            continue;
        ++total;
        try {
            fn(ctx, c.codename, c.arch, source_of);
        } catch (const Error& e) {
            log::error("{}", e.what());
            code = e.code();
            ++failed;
        }
    }
    if (failed)
        throw fail(code, "{} of {} chroots failed to {}", failed, total, action);
}

std::string perl_quote(std::string_view s)
{
    std::string out = "'";
    for (char ch : s) {
        if (ch == '\'' || ch == '\\')
            out += '\\';
        out += ch;
    }
    return out + "'";
}

} // namespace

fs::path tarball_path(const Home& home, const std::string& codename, const std::string& arch)
{
    return home.chroots() / codename / arch / fmt::format("{}-{}.tar.zst", codename, arch);
}

Chroot create(Context& ctx, const std::string& codename, const std::string& arch, const SourceOptions& options,
              const SourceOf& source_of)
{
    Chroot c = new_or_existing(ctx, codename, arch, options, source_of);
    require_host(ctx, arch);
    make_dirs(c.tarball.parent_path());
    require_free_space(c.tarball.parent_path(), tarball_space, "a chroot tarball");
    auto held = lock(ctx, codename, arch);
    keep_status(ctx, c);
    remove_temporaries(c.tarball.parent_path());
    TempFile tmp{temporary_tarball(c.tarball)};
    auto start = std::chrono::steady_clock::now();
    auto packages = include(ctx);
    each_uri(ctx, c, "create", c.source, [&](const Where& w) {
        std::error_code ec;
        fs::remove(tmp.path, ec); // (what a failed attempt left)
        log::info("creating chroot '{}' from '{}'{} (mmdebstrap --variant=buildd)", c.name(), c.source.mirror,
                  c.source.base_source.empty() ? "" : fmt::format(" (source '{}')", c.source.base_source));
        bootstrap(c.source, codename, arch, packages, tmp.path, w);
    });
    install(tmp, c.tarball);
    c.created = now_seconds();
    record_new_tarball(ctx, c);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log::notice("created chroot '{}' from '{}'{}: {} in {:.0f} s, status {}", c.name(), c.source.mirror,
                c.source.base_source.empty() ? "" : fmt::format(" (source '{}')", c.source.base_source),
                human_size(c.size), seconds, c.status.display());
    return c;
}

Chroot import_tarball(Context& ctx, const std::string& codename, const std::string& arch, const fs::path& file,
                      const SourceOptions& options, const SourceOf& source_of)
{
    Chroot c = new_or_existing(ctx, codename, arch, options, source_of);
    char magic[4] = {};
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw sys_error(fmt::format("cannot open '{}'", file.string()));
    in.read(magic, 4);
    if (std::string_view(magic, size_t(in.gcount())) != std::string_view("\x28\xb5\x2f\xfd", 4))
        throw fail(Exit::rejected, "'{}' is not a zstd-compressed tarball", file.string());
    make_dirs(c.tarball.parent_path());
    auto held = lock(ctx, codename, arch);
    keep_status(ctx, c);
    remove_temporaries(c.tarball.parent_path());
    copy_atomic(file, c.tarball, 0644);
    if (!c.created)
        c.created = now_seconds();
    record_new_tarball(ctx, c);
    log::notice("imported chroot '{}': {}, status {}", c.name(), human_size(c.size), c.status.display());
    return c;
}

Chroot check(Context& ctx, const std::string& codename, const std::string& arch, const SourceOf& source_of)
{
    require_chroot(ctx, codename, arch);
    auto want = base_source(source_of, codename);
    require_host(ctx, arch);
    auto held = lock(ctx, codename, arch);
    return check_locked(ctx, require_chroot(ctx, codename, arch), want);
}

Chroot update(Context& ctx, const std::string& codename, const std::string& arch, const SourceOf& source_of)
{
    Chroot c = require_chroot(ctx, codename, arch);
    auto want = base_source(source_of, codename);
    Source source = current_source(ctx, codename, c, want);
    if (source.uris.empty())
        throw fail(Exit::config, "the source of chroot '{}' has no archive URL", c.name());
    require_host(ctx, arch);
    require_free_space(c.tarball.parent_path(), tarball_space, "a chroot tarball");
    auto held = lock(ctx, codename, arch);
    c = require_chroot(ctx, codename, arch);
    std::error_code ec;
    if (!fs::is_regular_file(c.tarball, ec))
        throw fail(Exit::not_found, "tarball '{}' of chroot '{}' is missing (run 'mbd-chroot create {} {}')",
                   c.tarball.string(), c.name(), codename, arch);
    remove_temporaries(c.tarball.parent_path());
    TempFile tmp{temporary_tarball(c.tarball)};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> hooks = {
        "chroot \"$1\" apt-get update --error-on=any", // (else a source it cannot reach is a warning)
        "chroot \"$1\" apt-get --yes -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
        "dist-upgrade",
    };
    if (auto packages = include(ctx); !packages.empty())
        hooks.push_back(fmt::format("chroot \"$1\" apt-get install --yes --no-install-recommends {}",
                                    fmt::join(packages, " ")));
    each_uri(ctx, c, "update", source, [&](const Where& w) {
        fs::remove(tmp.path, ec); // (what a failed attempt left)
        log::info("updating chroot '{}' from '{}'{} (apt-get update && apt-get dist-upgrade)", c.name(),
                  source.mirror, source.base_source.empty() ? "" : fmt::format(" (source '{}')", source.base_source));
        if (int rc = reuse(c.tarball, source, true, codename, arch, hooks, tmp.path, w); rc != 0)
            throw failure(fmt::format("update of chroot '{}' failed (mmdebstrap exit code {})", c.name(), rc), w);
    });
    install(tmp, c.tarball);
    c.source = source;
    record_new_tarball(ctx, c);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log::notice("updated chroot '{}' from '{}'{}: {} in {:.0f} s", c.name(), source.mirror,
                source.base_source.empty() ? "" : fmt::format(" (source '{}')", source.base_source),
                human_size(c.size), seconds);
    return check_locked(ctx, c, want);
}

Chroot activate(Context& ctx, const std::string& codename, const std::string& arch)
{
    require_chroot(ctx, codename, arch);
    auto held = lock(ctx, codename, arch);
    Chroot c = require_chroot(ctx, codename, arch);
    if (auto why = c.status.activate_error())
        throw fail(Exit::state, "cannot activate chroot '{}': {}", c.name(), *why);
    c.status = c.status.activate();
    save(ctx, c);
    if (c.status.status != Status::active)
        log::notice("chroot '{}' will be activated when a check passes", c.name());
    return c;
}

Chroot deactivate(Context& ctx, const std::string& codename, const std::string& arch)
{
    require_chroot(ctx, codename, arch);
    auto held = lock(ctx, codename, arch);
    Chroot c = require_chroot(ctx, codename, arch);
    c.status = c.status.deactivate();
    save(ctx, c);
    return c;
}

Chroot remove(Context& ctx, const std::string& codename, const std::string& arch)
{
    auto found = load(ctx, codename, arch);
    if (!found)
        throw fail(Exit::not_found, "no chroot '{}/{}'", codename, arch);
    auto held = lock(ctx, codename, arch);
    Chroot c = *load(ctx, codename, arch);
    std::error_code ec;
    fs::path dir = c.tarball.parent_path();
    if (fs::exists(c.tarball, ec) && !fs::remove(c.tarball, ec))
        throw sys_error(ec.value(), fmt::format("cannot remove '{}'", c.tarball.string()));
    remove_temporaries(dir);
    fs::remove(dir, ec); // only when empty; so is the codename directory
    fs::remove(dir.parent_path(), ec);
    c.status = c.status.after_remove();
    c.size = 0;
    c.mtime_ns = 0;
    c.sha256.clear();
    c.check_message.clear();
    save(ctx, c);
    log::notice("removed chroot '{}'", c.name());
    return c;
}

void check_all(Context& ctx, const SourceOf& source_of) { for_each(ctx, "pass their check", source_of, check); }
void update_all(Context& ctx, const SourceOf& source_of) { for_each(ctx, "update", source_of, update); }

std::vector<Chroot> list(Context& ctx)
{
    std::vector<Chroot> out;
    auto s = ctx.db().prepare(fmt::format("SELECT {} FROM chroots ORDER BY codename, arch", columns));
    while (s.step())
        out.push_back(from_row(s, ctx.home()));
    return out;
}

Json to_json(const Chroot& c)
{
    Json j = Json::object();
    j.set("codename", c.codename)
        .set("arch", c.arch)
        .set("backend", c.backend)
        .set("status", to_string(c.status.status))
        .set("flag", to_string(c.status.flag))
        .set("display", c.status.display())
        .set("tarball", c.tarball.string())
        .set("size", static_cast<long long>(c.size))
        .set("sha256", c.sha256)
        .set("created", c.created)
        .set("updated", c.updated)
        .set("last_check", c.status.last_check)
        .set("check_message", c.check_message)
        .set("mirror", c.source.mirror)
        .set("components", c.source.components)
        .set("keyring", c.source.keyring.string());
    Json uris = Json::array();
    for (const auto& u : c.source.uris)
        uris.push(u);
    j.set("uris", uris)
        .set("suite", c.source.suite_or(c.codename))
        .set("keys", c.source.keys)
        .set("base_source", c.source.base_source);
    return j;
}

std::string format_table(const std::vector<Chroot>& chroots, long long now)
{
    std::vector<std::vector<std::string>> rows = {
        {"CODENAME", "ARCH", "BACKEND", "STATUS", "SIZE", "AGE", "LAST CHECK"}};
    for (const auto& c : chroots) {
        bool removed = c.status.status == Status::removed;
        rows.push_back({c.codename, c.arch, c.backend, c.status.display(), removed ? "-" : human_size(c.size),
                        removed ? "-" : ago(now - c.updated),
                        c.status.last_check ? ago(now - c.status.last_check) + " ago" : "never"});
    }
    std::vector<size_t> width(rows[0].size(), 0);
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i)
            width[i] = std::max(width[i], r[i].size());
    std::string out;
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i)
            line += fmt::format("{:<{}}  ", r[i], width[i]);
        out += std::string(trim_right(line)) + "\n";
    }
    return out;
}

void shell(Context& ctx, const std::string& codename, const std::string& arch, const std::vector<std::string>& command)
{
    Chroot c = require_chroot(ctx, codename, arch);
    if (command.empty() && !::isatty(0))
        throw fail(Exit::usage, "an interactive shell needs a terminal; give a command to run instead");
    require_host(ctx, arch);
    std::string hook;
    if (command.empty()) {
        hook = "chroot \"$1\" env HOME=/root /bin/bash -l < /dev/tty > /dev/tty 2>&1 || true";
    } else {
        hook = "chroot \"$1\" " + shell_join(command) + " < /dev/null >&3";
    }
    Where w = configured_where(ctx);
    w.session = true;
    if (reuse(c.tarball, c.source, false, codename, arch, {hook}, "/dev/null", w) != 0)
        throw fail(Exit::external, "{} in chroot '{}' failed", command.empty() ? "the shell" : "the command",
                   c.name());
}

Usable find_usable(Context& ctx, const std::string& codename, const std::string& arch)
{
    Chroot c = require_chroot(ctx, codename, arch);
    if (c.status.status != Status::active)
        throw fail(Exit::tempfail, "chroot '{}' is not active (status '{}'{}{})", c.name(), c.status.display(),
                   c.check_message.empty() ? "" : ": ", c.check_message);
    std::uintmax_t size = 0;
    long long mtime = 0;
    if (!stat_tarball(c.tarball, size, mtime))
        throw fail(Exit::check_failed, "tarball '{}' of chroot '{}' is missing", c.tarball.string(), c.name());
    if (c.status.flag != CheckFlag::none || size != c.size || mtime != c.mtime_ns)
        throw fail(Exit::check_failed, "chroot '{}' changed since its last check (run 'mbd-chroot check {} {}')",
                   c.name(), codename, arch);
    Usable u;
    u.tarball = c.tarball;
    long long max_age = ctx.config().get_int("chroot.max_age");
    u.stale = max_age > 0 && now_seconds() - c.updated > max_age;
    u.sha256 = c.sha256;
    u.sbuild_args = {"--chroot-mode=unshare", "--chroot=" + c.tarball.string(), "--arch=" + arch};
    u.sbuild_config = fmt::format("$unshare_tmpdir_template = {};\n1;\n",
                                  perl_quote((fs::path(ctx.config().get("chroot.unpack_dir")) /
                                              "tmp.sbuild.XXXXXXXXXX").string()));
    return u;
}

fs::path installed_packages(const Usable& usable) { return packages_of(usable.tarball, usable.sha256); }

} // namespace mbd::chroot
