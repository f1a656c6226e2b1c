#include "core/config.hpp"
#include "core/fs.hpp"
#include "core/names.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace mbd {
namespace {

std::string hostname_short()
{
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0])
        return "localhost";
    std::string h = buf;
    auto dot = h.find('.');
    if (dot != std::string::npos)
        h.resize(dot);
    std::string id;
    for (char c : h)
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '-')
            id += char(std::tolower(static_cast<unsigned char>(c)));
    return id.empty() ? "localhost" : id;
}

// The mirror this machine's apt uses (first URI of the first deb source), else deb.debian.org.
std::string default_mirror()
{
    for (const char* file : {"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"}) {
        std::ifstream in(file);
        std::string line;
        while (std::getline(in, line)) {
            auto t = trim(line);
            if (starts_with(t, "URIs:")) {
                auto uris = split_ws(t.substr(5));
                if (!uris.empty())
                    return std::string(uris.front());
            }
            if (starts_with(t, "deb ")) {
                for (auto w : split_ws(t.substr(4)))
                    if (w.find("://") != std::string_view::npos)
                        return std::string(w);
            }
        }
    }
    return "http://deb.debian.org/debian";
}

// Where chroots are unpacked (create, check, update, shell, sbuild): tmpfs when there is one.
std::string default_unpack_dir()
{
    std::error_code ec;
    return std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/var/tmp";
}

unsigned core_count() { return std::max(1u, std::thread::hardware_concurrency()); }
std::string cores() { return std::to_string(core_count()); }

// build.jobs: one build more than the cores (a build leaves a core idle in its one-threaded
// phases: unpacking the chroot, installing, lintian; twenty real builds on 2 cores kept
// them 69 % busy two at a time, 81 % three at a time, and took 14 % less), but no more
// than one per 2 GiB of memory (a chroot unpacked on tmpfs, the build tree, the compiler)
std::string build_jobs()
{
    long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    long long by_memory = pages > 0 && page > 0 ? (static_cast<long long>(pages) * page) >> 31 : 1;
    return std::to_string(std::max(1LL, std::min<long long>(core_count() + 1, by_memory)));
}

const std::vector<ConfigKey> table = {
    {"home", ConfigType::path, [] { return std::string("/var/lib/mbd"); },
     "the instance home: state database, key ring, incoming, spool, chroots, repositories"},
    {"identity", ConfigType::string, hostname_short,
     "this instance's identity (key user id, status for peers); default: the short host name"},
    {"email", ConfigType::string, [] { return "mbd@" + hostname_short(); },
     "e-mail address of the instance key; default: mbd@ and the short host name"},
    {"log", ConfigType::string, [] { return std::string(); },
     "debug log categories, comma-separated, or 'all'"},
    {"log.file", ConfigType::path, [] { return std::string("var/log/mbd.log"); },
     "also append log lines to this file (relative to the home); empty: only stderr/journald"},
    {"mirror", ConfigType::string, default_mirror,
     "Debian mirror for new sources and chroots; default: the one apt on this machine uses"},
    {"apt.proxy", ConfigType::string, [] { return std::string(); },
     "HTTP proxy the chroots' apt downloads through (mbd-chroot create and update, every build session), e.g. a "
     "local apt-cacher-ng: http://127.0.0.1:3142/; each package then comes from the mirror once. apt still checks "
     "every signature and hash. Empty: straight from the mirror"},
    {"chroot.unpack_dir", ConfigType::path, default_unpack_dir,
     "world-writable directory chroots are unpacked in (mmdebstrap, sbuild); tmpfs is much faster than disk"},
    {"chroot.include", ConfigType::string, [] { return std::string("lintian fakeroot debhelper"); },
     "packages installed into chroots once (create, update) instead of into every build session"},
    {"chroot.max_age", ConfigType::integer, [] { return std::string("691200"); },
     "seconds after its last create or update a chroot is stale: its builds upgrade it in their session"},
    {"build.jobs", ConfigType::integer, build_jobs,
     "builds run at once; default: the number of cores plus one, at most one per 2 GiB of memory"},
    {"build.parallel", ConfigType::integer, cores,
     "DEB_BUILD_OPTIONS parallel=N of every build (make -jN with debhelper) unless its upload sets parallel=; "
     "0: none (one job); default: number of cores"},
    {"build.user", ConfigType::string, [] { return std::string("mbd"); },
     "unprivileged user sbuild runs as when mbd-build runs as root (needs a subuid/subgid range); as root, "
     "mbd-build refuses to build without one"},
    {"build.timeout", ConfigType::integer, [] { return std::string("14400"); },
     "seconds a build may take before it is stopped"},
    {"incoming.timeout", ConfigType::integer, [] { return std::string("3600"); },
     "seconds a .changes may wait for its files before it is rejected"},
    {"incoming.settle", ConfigType::integer, [] { return std::string("2"); },
     "a pass over incoming/ ends only after nothing was written there for this many seconds (uploads in flight); "
     "a .changes cut short or a file shorter than listed is rejected once unchanged this long"},
    {"publish.byhash_grace", ConfigType::integer, [] { return std::string("86400"); },
     "seconds superseded by-hash index files are kept for clients mid-update"},
    {"publish.valid_until", ConfigType::integer, [] { return std::string("0"); },
     "seconds a published Release is valid (Valid-Until); 0: no Valid-Until"},
    {"publish.pool_grace", ConfigType::integer, [] { return std::string("3600"); },
     "seconds pool files nothing references any more are kept for clients mid-download"},
    {"publish.retire_grace", ConfigType::integer, [] { return std::string("604800"); },
     "seconds a codename removed from a repository stays published (refusing uploads) before maintain removes "
     "it; 0: at once"},
    {"publish.indices", ConfigType::string, [] { return std::string("gz xz contents by-hash"); },
     "the index files every distribution publishes, unless its own --indices says otherwise: any of "
     "uncompressed, gz, xz (at least one of these three), contents (Contents-ARCH), by-hash (Release "
     "announces Acquire-By-Hash); Release lists the uncompressed files' hashes whether or not they are written"},
    {"publish.xz_preset", ConfigType::integer, [] { return std::string("6"); },
     "xz preset (0-9) of .xz index files (rebuilt chunks; publish --rebuild for all): lower is faster, larger"},
    {"publish.gzip_level", ConfigType::integer, [] { return std::string("6"); },
     "gzip level (1-9) of .gz index files (rebuilt chunks; publish --rebuild for all)"},
    {"publish.journal_rows", ConfigType::integer, [] { return std::string("2000"); },
     "changes a publish applies to the indices in place, whatever their size (more, and more than an eighth of "
     "the stanzas published: the distribution is built in full, and a bulk install stops journaling its additions)"},
    {"publish.url", ConfigType::string, [] { return std::string(); },
     "URL under which HOME/repositories is served (sources lists); empty: file:// on this host"},
    {"site.enabled", ConfigType::boolean, [] { return std::string("false"); },
     "write the status site (HOME/site/: pages, JSON, feed, metrics, build logs) after every command that "
     "changed the state"},
    {"site.page_size", ConfigType::integer, [] { return std::string("500"); },
     "sources on one page of the status site's distribution pages and search index; a longer list is cut "
     "into pages by name prefix, so one upload rewrites one page"},
    {"retention.builds", ConfigType::integer, [] { return std::string("7776000"); },
     "seconds the directories of finished uploads and builds (sources, logs, results) are kept; 0: forever"},
    {"snapshot.keep", ConfigType::string, [] { return std::string(); },
     "retention of unnamed snapshots (mbd-repo snapshot create DIST), applied by maintain: 'daily=N weekly=N "
     "monthly=N' keeps the newest of each of the last N days, weeks, months (UTC) that have one, for every "
     "suite; 'SUITE:daily=N' sets one suite's; a suite with no N keeps all; named snapshots are kept"},
    {"retention.rejected", ConfigType::integer, [] { return std::string("7776000"); },
     "seconds rejected uploads are kept in var/rejected/; 0: forever"},
    {"notify.sendmail", ConfigType::string, [] { return std::string(); },
     "sendmail command (reading the recipient from To:, as sendmail -t) that mails uploaders and subscribers "
     "(mbd-incoming subscribe); empty: no mail"},
    {"access.authorized_keys", ConfigType::string, [] { return std::string(); },
     "the authorized_keys file mbd-keygen access writes its block into; empty: HOME/.ssh/authorized_keys"},
    {"access.host", ConfigType::string, [] { return std::string(); },
     "the host name packagers reach this instance's ssh account under (dput-conf for sftp and scp)"},
    {"access.login", ConfigType::string, [] { return std::string(); },
     "that ssh account's login; empty: the user the tools run as"},
    {"access.port", ConfigType::integer, [] { return std::string("22"); },
     "that ssh server's port"},
    {"remote.ssh_command", ConfigType::string, [] { return std::string("ssh"); },
     "ssh client command for ssh:// remotes, split on spaces (e.g. 'ssh -i /var/lib/mbd/.ssh/id_ed25519')"},
    {"remote.timeout", ConfigType::integer, [] { return std::string("600"); },
     "seconds one exchange with a remote (fetch its status, send one item) may take"},
    {"remote.retry", ConfigType::integer, [] { return std::string("60"); },
     "seconds before the first retry of an item a remote did not take; doubles with each failure"},
    {"remote.retry_max", ConfigType::integer, [] { return std::string("3600"); },
     "longest wait between two tries of an item"},
    {"remote.reroute_timeout", ConfigType::integer, [] { return std::string("3600"); },
     "seconds a build request may wait for its remote builder to take it before it is routed elsewhere"},
    {"remote.result_timeout", ConfigType::integer, [] { return std::string("28800"); },
     "seconds a remote builder has, after taking a build request, to return its result before it is routed elsewhere"},
    {"remote.status_max_age", ConfigType::integer, [] { return std::string("1800"); },
     "a remote whose last status document is older than this many seconds is given no builds"},
    {"db.busy_timeout", ConfigType::integer, [] { return std::string("30000"); },
     "milliseconds a writer waits for the state database lock"},
};

const ConfigKey* find_key(std::string_view name)
{
    for (const auto& k : table)
        if (k.name == name)
            return &k;
    return nullptr;
}

void validate(const ConfigKey& key, const std::string& value, const std::string& where)
{
    if (key.name == "identity")
        if (auto why = names::problem(names::remote, value))
            throw fail(Exit::config, "{}: {} (the identity names this instance to its peers and in file names)", where,
                       *why);
    if (key.type == ConfigType::integer) {
        if (!parse_int(value))
            throw fail(Exit::config, "{}: '{}' must be an integer, not '{}'", where, key.name, value);
    } else if (key.type == ConfigType::boolean) {
        if (!parse_bool(value))
            throw fail(Exit::config, "{}: '{}' must be true or false, not '{}'", where, key.name, value);
    } else if (key.type == ConfigType::path && key.name == "home" && !value.empty() && value[0] != '/') {
        throw fail(Exit::config, "{}: 'home' must be an absolute path, not '{}'", where, value);
    }
}

} // namespace

std::string_view origin_name(Origin origin)
{
    switch (origin) {
    case Origin::default_value: return "default";
    case Origin::file: return "file";
    case Origin::environment: return "environment";
    case Origin::option: return "option";
    case Origin::flag: return "flag";
    }
    return "?";
}

const std::vector<ConfigKey>& Config::keys() { return table; }

std::string Config::env_name(std::string_view key)
{
    std::string name = "MBD_";
    for (char c : key)
        name += (c == '.' || c == '-') ? '_' : char(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

void Config::set(std::string_view key, std::string value, Origin origin, std::string where)
{
    const ConfigKey* k = find_key(key);
    if (!k)
        throw fail(Exit::config, "{}unknown configuration key '{}'", where.empty() ? "" : where + ": ", key);
    validate(*k, value, where.empty() ? std::string(origin_name(origin)) : where);
    values_[std::string(key)] = ConfigValue{std::move(value), origin, std::move(where)};
}

std::optional<std::string> email_problem(std::string_view address)
{
    auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0)
        return fmt::format("'{}' is not an e-mail address (local@domain.example)", address);
    auto domain = address.substr(at + 1);
    bool bad_char = std::any_of(address.begin(), address.end(),
                                [](char c) { return c <= ' ' || c == '<' || c == '>' || c == '"' || c == ','; });
    if (bad_char || domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
        ends_with(domain, ".localdomain") || ends_with(domain, ".localhost"))
        return fmt::format("e-mail '{}' has no domain one can mail to (lintian rejects its changelog entries as "
                           "bogus-mail-host): give an address like mbd@build.example.org",
                           address);
    return std::nullopt;
}

std::optional<std::string> url_problem(std::string_view url)
{
    // (lower case: apt runs the method the scheme names, /usr/lib/apt/methods/http)
    std::string_view rest;
    for (std::string_view scheme : {"http://", "https://"})
        if (url.starts_with(scheme))
            rest = url.substr(scheme.size());
    if (rest.empty() || rest.front() == '/')
        return fmt::format("'{}' is not an http:// or https:// URL with a host (http://mbd.example.org/repositories)",
                           url);
    auto bad = std::find_if(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '`' || c == '\\' ||
               c == '<' || c == '>';
    });
    if (bad != url.end())
        return fmt::format("URL '{}' holds white space, a control character, a quote, a backslash or an angle bracket",
                           url);
    return std::nullopt;
}

void store_config(const std::filesystem::path& file, std::string_view key, const std::string& value)
{
    const ConfigKey* k = find_key(key);
    if (!k || key == "home")
        throw fail(Exit::config, "'{}' cannot be set in the configuration file", key);
    validate(*k, value, std::string(key));
    if (key == "email")
        if (auto why = email_problem(value))
            throw fail(Exit::config, "{}", *why);
    if (key == "publish.url")
        if (auto why = url_problem(value))
            throw fail(Exit::config, "publish.url: {}", *why);
    std::string out;
    bool replaced = false;
    std::error_code ec;
    std::string old = std::filesystem::exists(file, ec) ? read_file(file) : std::string();
    for (auto line : split(old, '\n', false)) {
        auto t = trim(line);
        auto eq = t.find('=');
        bool sets_key = !t.empty() && t.front() != '#' && eq != std::string_view::npos && trim(t.substr(0, eq)) == key;
        if (sets_key && replaced)
            continue;
        out += sets_key ? fmt::format("{} = {}", key, value) : std::string(line);
        out += "\n";
        replaced = replaced || sets_key;
    }
    while (!out.empty() && (out == "\n" || out.ends_with("\n\n")))
        out.pop_back();
    if (!replaced)
        out += fmt::format("{} = {}\n", key, value);
    write_atomic(file, out);
}

Config Config::load(const Sources& sources)
{
    Config c;
    for (const auto& k : table)
        c.values_[std::string(k.name)] = ConfigValue{k.default_value(), Origin::default_value, {}};

    // Environment and options are gathered first: they may move the home, and
    // with it the default config file.
    std::vector<std::pair<std::string, std::string>> env;
    std::string config_file;
    if (sources.read_environment) {
        for (char** e = environ; e && *e; ++e) {
            std::string_view kv = *e;
            if (!starts_with(kv, "MBD_"))
                continue;
            auto eq = kv.find('=');
            std::string name(kv.substr(0, eq));
            std::string value(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
            if (name == env_config_file) {
                config_file = value;
                continue;
            }
            if (name == env_fault)
                continue;
            const ConfigKey* key = nullptr;
            for (const auto& k : table)
                if (env_name(k.name) == name)
                    key = &k;
            if (!key)
                throw fail(Exit::config, "unknown environment variable '{}' (not a configuration key)", name);
            env.emplace_back(std::string(key->name), value);
        }
    }
    std::vector<std::pair<std::string, std::string>> opts;
    for (const auto& o : sources.options) {
        auto eq = o.find('=');
        if (eq == std::string::npos || eq == 0)
            throw fail(Exit::usage, "option '{}' is not of the form key=value", o);
        opts.emplace_back(o.substr(0, eq), o.substr(eq + 1));
    }

    // Where is home? It decides where the config file is, so it cannot be set there.
    std::string home = c.get("home");
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    for (const Pairs* list : std::initializer_list<const Pairs*>{&env, &opts, &sources.flags})
        for (const auto& [k, v] : *list)
            if (k == "home")
                home = v;
    if (config_file.empty()) {
        auto candidate = std::filesystem::path(home) / "etc" / "mbd.conf";
        std::error_code ec;
        if (std::filesystem::exists(candidate, ec))
            config_file = candidate;
    }
    if (!config_file.empty()) {
        std::ifstream in(config_file);
        if (!in)
            throw fail(Exit::config, "cannot read configuration file '{}'", config_file);
        std::string line;
        int n = 0;
        while (std::getline(in, line)) {
            ++n;
            auto t = trim(line);
            if (t.empty() || t.front() == '#')
                continue;
            std::string where = fmt::format("{}:{}", config_file, n);
            auto eq = t.find('=');
            if (eq == std::string_view::npos)
                throw fail(Exit::config, "{}: expected 'key = value'", where);
            std::string key(trim(t.substr(0, eq)));
            if (key == "home")
                throw fail(Exit::config, "{}: 'home' cannot be set in the configuration file", where);
            c.set(key, std::string(trim(t.substr(eq + 1))), Origin::file, where);
        }
    }
    for (const auto& [k, v] : env)
        c.set(k, v, Origin::environment, env_name(k));
    for (const auto& [k, v] : opts)
        c.set(k, v, Origin::option, "-o " + k);
    for (const auto& [k, v] : sources.flags)
        c.set(k, v, Origin::flag, "flag");
    log::debug("config", "home '{}', config file '{}'", c.get("home"), config_file);
    return c;
}

const ConfigValue& Config::entry(std::string_view key) const
{
    auto it = values_.find(key);
    if (it == values_.end())
        throw fail(Exit::failed, "internal error: configuration key '{}' is not declared", key);
    return it->second;
}

const std::string& Config::get(std::string_view key) const { return entry(key).value; }

long long Config::get_int(std::string_view key) const { return parse_int(get(key)).value_or(0); }

bool Config::get_bool(std::string_view key) const { return parse_bool(get(key)).value_or(false); }

std::string Config::show() const
{
    size_t width = 0, vwidth = 0;
    for (const auto& k : table) {
        width = std::max(width, k.name.size());
        vwidth = std::max(vwidth, get(k.name).size());
    }
    std::string out;
    for (const auto& k : table) {
        const auto& e = entry(k.name);
        std::string origin(origin_name(e.origin));
        if (!e.where.empty() && e.origin != Origin::flag)
            origin += " " + e.where;
        out += fmt::format("{:<{}} = {:<{}}  ({})\n", k.name, width, e.value, vwidth, origin);
    }
    return out;
}

} // namespace mbd
