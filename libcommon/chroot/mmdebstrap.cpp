#include "chroot/mmdebstrap.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mbd::chroot {
namespace {

// Run argv in our process group (so an interactive shell owns the terminal),
// stdin from a file, output to the log or inherited. Like system(), the caller
// ignores SIGINT/SIGQUIT while it waits: Ctrl-C stops mmdebstrap, which cleans
// up, and we report the failure instead of dying with a half-written file.
int spawn(const std::vector<std::string>& mmdebstrap_argv, const fs::path& stdin_file, const Where& where)
{
    // TMPDIR through env(1): mmdebstrap unpacks there
    std::vector<std::string> argv = {"env", "TMPDIR=" + where.unpack_dir.string()};
    // As root, mmdebstrap's unshare mode makes no user namespace: it bind-mounts /sys
    // recursively and unmounts it lazily. With shared propagation (a systemd host)
    // that unmount takes /sys/fs/cgroup/* away from everyone, so it runs in a mount
    // namespace of its own whose mounts propagate nowhere.
    if (::geteuid() == 0)
        argv.insert(argv.begin(), {"unshare", "--mount", "--propagation", "private", "--"});
    argv.insert(argv.end(), mmdebstrap_argv.begin(), mmdebstrap_argv.end());
    log::debug("cmd", "run: {}", fmt::join(argv, " "));
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string in = stdin_file.empty() ? "/dev/null" : stdin_file.string();
    std::string out = where.log.string();
    posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
    if (!out.empty()) {
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
    }
    // Nothing else is inherited: mmdebstrap's own pipes must get descriptors below
    // 10, it hands them to dash as "cat >&N" (which fails for N >= 10).
    if (where.session)
        posix_spawn_file_actions_adddup2(&actions, 1, 3);
    posix_spawn_file_actions_addclosefrom_np(&actions, where.session ? 4 : 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGQUIT);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

    auto old_int = ::signal(SIGINT, SIG_IGN);
    auto old_quit = ::signal(SIGQUIT, SIG_IGN);
    pid_t pid = 0;
    // apt.proxy: mmdebstrap's apt and the apt its hooks run read http_proxy (and no proxy
    // setting is left behind in the chroot)
    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e)
        if (where.proxy.empty() || !std::string_view(*e).starts_with("http_proxy="))
            env_text.emplace_back(*e);
    if (!where.proxy.empty())
        env_text.push_back("http_proxy=" + where.proxy);
    std::vector<char*> env;
    for (auto& e : env_text)
        env.push_back(e.data());
    env.push_back(nullptr);
    int err = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), env.data());
    int status = 0;
    if (err == 0)
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    ::signal(SIGINT, old_int);
    ::signal(SIGQUIT, old_quit);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0)
        throw sys_error(err, fmt::format("cannot run '{}'", argv[0]));
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    log::debug("cmd", "exit {}: {}", rc, argv[0]);
    return rc;
}

std::vector<std::string> common_args(const std::string& variant, const std::string& arch, const Where& where)
{
    std::vector<std::string> args = {"mmdebstrap", "--variant=" + variant, "--mode=unshare", "--arch=" + arch};
    if (where.session)
        args.emplace_back("--quiet");
    return args;
}

// Copy the keyring in and make the source apt's only one (mmdebstrap's own
// automatic signed-by would point at the host's path).
void add_source_hooks(std::vector<std::string>& args, const Source& source, const std::string& codename)
{
    args.push_back("--keyring=" + source.keyring.string());
    args.emplace_back("--skip=check/signed-by");
    args.emplace_back("--customize-hook=mkdir -p \"$1/etc/apt/keyrings\"");
    args.push_back(fmt::format("--customize-hook=upload {} {}", source.keyring.string(), keyring_inside(source)));
    args.push_back(fmt::format("--customize-hook=printf '%s\\n' {} > \"$1/etc/apt/sources.list\"",
                               shell_quote(sources_line(source, codename))));
}

void require_mmdebstrap()
{
    require_program("mmdebstrap", "mmdebstrap");
    require_program("zstd", "zstd");
}

} // namespace

void bootstrap(const Source& source, const std::string& codename, const std::string& arch,
               const std::vector<std::string>& include, const fs::path& target, const Where& where)
{
    require_mmdebstrap();
    auto args = common_args("buildd", arch, where);
    args.push_back("--components=" + source.components);
    args.emplace_back("--skip=cleanup/apt/lists");
    if (!include.empty())
        args.push_back(fmt::format("--include={}", fmt::join(include, ",")));
    add_source_hooks(args, source, codename);
    args.insert(args.end(), {source.suite_or(codename), target.string(), source.mirror});
    if (int rc = spawn(args, {}, where); rc != 0)
        throw failure(fmt::format("mmdebstrap failed with exit code {}", rc), where);
}

int reuse(const fs::path& tarball, const Source& source, bool rewrite_source, const std::string& codename,
          const std::string& arch, const std::vector<std::string>& hooks, const fs::path& target, const Where& where)
{
    require_mmdebstrap();
    auto args = common_args("custom", arch, where);
    // The tarball comes on stdin: the unshared user need not be able to read its path.
    args.emplace_back("--setup-hook=tar --directory \"$1\" --zstd --extract --exclude='./dev/*'");
    if (target == "/dev/null")
        args.emplace_back("--skip=update,cleanup,check/signed-by");
    else
        args.emplace_back("--skip=update,check/signed-by,cleanup/apt/lists");
    if (rewrite_source)
        add_source_hooks(args, source, codename);
    for (const auto& h : hooks)
        args.push_back("--customize-hook=" + h);
    args.insert(args.end(), {source.suite_or(codename), target.string(), source.mirror});
    return spawn(args, tarball, where);
}

Error failure(const std::string& what, const Where& where)
{
    if (where.log.empty()) // the output went to the terminal
        return Error(Exit::external, what);
    std::string reason = failure_reason(where.log);
    return fail(reason.find("No space left on device") != std::string::npos ? Exit::no_space : Exit::external,
                "{}: {} (log: '{}')", what, reason, where.log.string());
}

std::string failure_reason(const fs::path& log)
{
    std::string text;
    try {
        text = read_file(log);
    } catch (const Error&) {
        return "no log";
    }
    // Our check steps say "mbd-check: ..."; otherwise the first error lines of
    // apt ("E: ...") or of a tool ("tar: ...", "chroot: ..."), but not
    // mmdebstrap's generic epilogue ("E: command failed: <the hook>", ...).
    std::vector<std::string_view> reasons;
    for (auto line : split(text, '\n', false)) {
        line = trim(line);
        if (starts_with(line, "mbd-check: "))
            return std::string(line.substr(11));
        bool generic = line == "E: mmdebstrap failed to run" || starts_with(line, "E: setup failed:") ||
                       starts_with(line, "E: command failed:") ||
                       (starts_with(line, "E: ") && ends_with(line, "failed"));
        auto colon = line.find(": ");
        bool tool = colon != std::string_view::npos && colon > 0 &&
                    std::all_of(line.begin(), line.begin() + long(colon), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
                    });
        if (!generic && (starts_with(line, "E: ") || tool))
            reasons.push_back(line);
    }
    if (reasons.empty())
        return "no reason given";
    if (reasons.size() > 2)
        reasons.resize(2);
    return fmt::format("{}", fmt::join(reasons, "; "));
}

} // namespace mbd::chroot
