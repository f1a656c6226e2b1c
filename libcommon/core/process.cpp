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
#include <unistd.h>

extern char** environ;

namespace mbd {
namespace {

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

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
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
        throw sys_error("cannot create pipes");
    int in_file = -1;
    if (!options.input_file.empty()) {
        in_file = ::open(options.input_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (in_file < 0)
            throw sys_error(fmt::format("cannot open '{}'", options.input_file.string()));
    }
    int out_file = -1;
    if (!options.output_file.empty()) {
        out_file = ::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out_file < 0)
            throw sys_error(fmt::format("cannot open '{}'", options.output_file.string()));
    }

    std::vector<std::string> env_store;
    for (char** e = environ; e && *e; ++e)
        env_store.emplace_back(*e);
    for (const auto& e : options.env) {
        auto name = e.substr(0, e.find('=') + 1);
        std::erase_if(env_store, [&](const std::string& x) { return x.starts_with(name); });
        env_store.push_back(e);
    }
    std::vector<char*> envp, args;
    for (auto& e : env_store)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& a : argv_copy)
        args.push_back(a.data());
    args.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0)
        throw sys_error("cannot fork");
    if (pid == 0) {
        ::setpgid(0, 0);
        ::dup2(in_file >= 0 ? in_file : in_pipe[0], 0);
        if (out_file >= 0) {
            ::dup2(out_file, 1);
            ::dup2(out_file, 2);
        } else {
            if (options.capture_stdout)
                ::dup2(out_pipe[1], 1);
            if (options.capture_stderr)
                ::dup2(err_pipe[1], 2);
        }
        if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
            std::fprintf(stderr, "cannot change directory to '%s': %s\n", options.cwd.c_str(), std::strerror(errno));
            ::_exit(127);
        }
        ::signal(SIGPIPE, SIG_DFL);
        ::execvpe(args[0], args.data(), envp.data());
        std::fprintf(stderr, "cannot run '%s': %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    ::setpgid(pid, pid); // also here, so the group exists before anyone signals it
    if (options.started)
        options.started(pid);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (out_file >= 0)
        ::close(out_file);
    if (in_file >= 0)
        ::close(in_file);
    set_nonblock(in_pipe[1]);
    set_nonblock(out_pipe[0]);
    set_nonblock(err_pipe[0]);

    RunResult result;
    size_t written = 0;
    int in_fd = in_pipe[1];
    if (options.input.empty() || in_file >= 0) {
        ::close(in_fd);
        in_fd = -1;
    }
    int out_fd = out_pipe[0], err_fd = err_pipe[0];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
    auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
    while (in_fd >= 0 || out_fd >= 0 || err_fd >= 0) {
        pollfd fds[3];
        int n = 0;
        if (in_fd >= 0)
            fds[n++] = {in_fd, POLLOUT, 0};
        if (out_fd >= 0)
            fds[n++] = {out_fd, POLLIN, 0};
        if (err_fd >= 0)
            fds[n++] = {err_fd, POLLIN, 0};
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
            if (fds[i].fd == in_fd) {
                ssize_t w = ::write(in_fd, options.input.data() + written, options.input.size() - written);
                if (w > 0)
                    written += size_t(w);
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                    written = options.input.size();
                if (written >= options.input.size()) {
                    ::close(in_fd);
                    in_fd = -1;
                }
            } else {
                char buf[65536];
                ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
                if (got > 0) {
                    (fds[i].fd == out_fd ? result.out : result.err).append(buf, size_t(got));
                } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                    int& which = fds[i].fd == out_fd ? out_fd : err_fd;
                    ::close(which);
                    which = -1;
                }
            }
        }
    }
    ::signal(SIGPIPE, old_pipe);
    for (int fd : {in_fd, out_fd, err_fd})
        if (fd >= 0)
            ::close(fd);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

} // namespace mbd
