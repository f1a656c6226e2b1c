#include "core/process.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <pwd.h>
#include <unistd.h>

extern char** environ;

namespace mbd {
namespace {

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// The descriptors a child is started with: its pipes, and the files options name (-1: none).
struct ChildFds {
    int in_pipe[2], out_pipe[2], err_pipe[2];
    int in_file = -1, out_file = -1;
};

// The pipes, and the files options names for stdin and for the output, opened.
ChildFds open_child_fds(const RunOptions& options)
{
    ChildFds c;
    if (::pipe2(c.in_pipe, O_CLOEXEC) != 0 || ::pipe2(c.out_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(c.err_pipe, O_CLOEXEC) != 0)
        throw sys_error("cannot create pipes");
    if (!options.input_file.empty()) {
        c.in_file = ::open(options.input_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (c.in_file < 0)
            throw sys_error(fmt::format("cannot open '{}'", options.input_file.string()));
    }
    if (!options.output_file.empty()) {
        c.out_file = ::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (c.out_file < 0)
            throw sys_error(fmt::format("cannot open '{}'", options.output_file.string()));
    }
    return c;
}

// Our environment with the "NAME=value" entries of env in place of ours.
std::vector<std::string> child_environment(const std::vector<std::string>& env)
{
    std::vector<std::string> out;
    for (char** e = environ; e && *e; ++e)
        out.emplace_back(*e);
    for (const auto& e : env) {
        auto name = e.substr(0, e.find('=') + 1);
        std::erase_if(out, [&](const std::string& x) { return x.starts_with(name); });
        out.push_back(e);
    }
    return out;
}

// The null-terminated array of strings (pointing into them) that exec takes.
std::vector<char*> c_strings(std::vector<std::string>& strings)
{
    std::vector<char*> out;
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// In the child: its own process group, its descriptors and directory set, then exec.
[[noreturn]] void exec_child(const ChildFds& c, const RunOptions& options, char** args, char** envp)
{
    ::setpgid(0, 0);
    ::dup2(c.in_file >= 0 ? c.in_file : c.in_pipe[0], 0);
    if (c.out_file >= 0) {
        ::dup2(c.out_file, 1);
        ::dup2(c.out_file, 2);
    } else {
        if (options.capture_stdout)
            ::dup2(c.out_pipe[1], 1);
        if (options.capture_stderr)
            ::dup2(c.err_pipe[1], 2);
    }
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
        std::fprintf(stderr, "cannot change directory to '%s': %s\n", options.cwd.c_str(), std::strerror(errno));
        ::_exit(127);
    }
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(args[0], args, envp);
    std::fprintf(stderr, "cannot run '%s': %s\n", args[0], std::strerror(errno));
    ::_exit(127);
}

// Our ends of the child's stdin, stdout and stderr (-1: closed), and how much of the
// input went in.
struct Streams {
    int in = -1, out = -1, err = -1;
    size_t written = 0;
};

// In the parent: what the child has closed, our ends non-blocking; stdin closed at once
// when there is nothing to write to it.
Streams parent_streams(const ChildFds& c, const RunOptions& options)
{
    ::close(c.in_pipe[0]);
    ::close(c.out_pipe[1]);
    ::close(c.err_pipe[1]);
    if (c.out_file >= 0)
        ::close(c.out_file);
    if (c.in_file >= 0)
        ::close(c.in_file);
    set_nonblock(c.in_pipe[1]);
    set_nonblock(c.out_pipe[0]);
    set_nonblock(c.err_pipe[0]);
    Streams s{c.in_pipe[1], c.out_pipe[0], c.err_pipe[0]};
    if (options.input.empty() || c.in_file >= 0) {
        ::close(s.in);
        s.in = -1;
    }
    return s;
}

// Write what the child's stdin takes of input; closed once all of it is written (or failed).
void feed(Streams& s, const std::string& input)
{
    ssize_t w = ::write(s.in, input.data() + s.written, input.size() - s.written);
    if (w > 0)
        s.written += size_t(w);
    if (w < 0 && errno != EAGAIN && errno != EINTR)
        s.written = input.size();
    if (s.written >= input.size()) {
        ::close(s.in);
        s.in = -1;
    }
}

// Read what fd (the child's stdout or stderr) has into result; closed at its end.
void drain(Streams& s, int fd, RunResult& result)
{
    char buf[65536];
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got > 0) {
        (fd == s.out ? result.out : result.err).append(buf, size_t(got));
    } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        int& which = fd == s.out ? s.out : s.err;
        ::close(which);
        which = -1;
    }
}

// Feed the child's stdin and read its output until all are closed, or until the
// timeout, when its process group is killed.
void exchange(pid_t pid, Streams& s, const RunOptions& options, RunResult& result)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
    while (s.in >= 0 || s.out >= 0 || s.err >= 0) {
        pollfd fds[3];
        int n = 0;
        if (s.in >= 0)
            fds[n++] = {s.in, POLLOUT, 0};
        if (s.out >= 0)
            fds[n++] = {s.out, POLLIN, 0};
        if (s.err >= 0)
            fds[n++] = {s.err, POLLIN, 0};
        int wait_ms = -1;
        if (options.timeout_seconds > 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                result.timed_out = true;
                ::kill(-pid, SIGKILL);
                break;
            }
            wait_ms = int(left.count());
        }
        int r = ::poll(fds, nfds_t(n), wait_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        for (int i = 0; i < n; ++i) {
            if (!fds[i].revents)
                continue;
            if (fds[i].fd == s.in)
                feed(s, options.input);
            else
                drain(s, fds[i].fd, result);
        }
    }
}

// The child's exit code, or 128+signal, once it ended.
int wait_for(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

std::filesystem::path find_program(const std::string& name)
{
    if (name.find('/') != std::string::npos)
        return ::access(name.c_str(), X_OK) == 0 ? std::filesystem::path(name) : std::filesystem::path();
    const char* path = std::getenv("PATH");
    for (auto dir : split(path ? path : "/usr/bin:/bin", ':', false)) {
        if (dir.empty())
            continue;
        std::filesystem::path p = std::filesystem::path(dir) / name;
        if (::access(p.c_str(), X_OK) == 0)
            return p;
    }
    return {};
}

void require_program(const std::string& name, const std::string& package)
{
    if (find_program(name).empty())
        throw fail(Exit::environment, "'{}' is not installed (apt-get install {})", name, package);
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& options)
{
    if (argv.empty())
        throw Error("internal error: empty command");
    log::debug("cmd", "run: {}", shell_join(argv));
    ChildFds fds = open_child_fds(options);
    std::vector<std::string> env_store = child_environment(options.env);
    std::vector<std::string> argv_copy = argv;
    std::vector<char*> envp = c_strings(env_store), args = c_strings(argv_copy);

    pid_t pid = ::fork();
    if (pid < 0)
        throw sys_error("cannot fork");
    if (pid == 0)
        exec_child(fds, options, args.data(), envp.data());
    ::setpgid(pid, pid); // also here, so the group exists before anyone signals it
    if (options.started)
        options.started(pid);
    Streams streams = parent_streams(fds, options);

    RunResult result;
    auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
    exchange(pid, streams, options, result);
    ::signal(SIGPIPE, old_pipe);
    for (int fd : {streams.in, streams.out, streams.err})
        if (fd >= 0)
            ::close(fd);
    result.status = wait_for(pid);
    log::debug("cmd", "exit {}{}: {}", result.status, result.timed_out ? " (timed out)" : "", argv[0]);
    return result;
}

std::string run_checked(const std::vector<std::string>& argv, const RunOptions& options)
{
    auto r = run(argv, options);
    if (!r.ok()) {
        std::string tail(trim(r.err));
        if (tail.size() > 2000)
            tail = "..." + tail.substr(tail.size() - 2000);
        throw fail(Exit::external, "'{}' {}{}{}", shell_join(argv),
                   r.timed_out ? "timed out" : fmt::format("failed with exit code {}", r.status),
                   tail.empty() ? "" : ": ", tail);
    }
    return r.out;
}

std::string current_user()
{
    const passwd* pw = ::getpwuid(::geteuid());
    return pw ? std::string(pw->pw_name) : std::to_string(::geteuid());
}

std::filesystem::path program_directory()
{
    return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

} // namespace mbd
