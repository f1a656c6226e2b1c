// core/process: run an external program (dpkg-deb, mmdebstrap, sbuild, apt-get)
// without a shell, feeding stdin and capturing stdout/stderr, with a timeout.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mbd {

struct RunOptions {
    std::filesystem::path cwd;
    std::vector<std::string> env;   // extra "NAME=value" entries
    std::string input;              // written to the child's stdin
    std::filesystem::path input_file; // if set, the child's stdin is this file (input is ignored)
    bool capture_stdout = true;     // false: inherit ours
    bool capture_stderr = true;     // false: inherit ours
    std::filesystem::path output_file; // if set, stdout and stderr go to this file (append)
    int timeout_seconds = 0;        // 0: none; on expiry the process group is killed
    std::function<void(int pid)> started; // called with the child's pid (= its process group)
};

struct RunResult {
    int status = 0;        // exit code, or 128+signal
    bool timed_out = false;
    std::string out, err;
    bool ok() const { return status == 0 && !timed_out; }
};

RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

// run() that throws Error(Exit::external) with the command and the tail of
// stderr when the program fails; returns stdout.
std::string run_checked(const std::vector<std::string>& argv, const RunOptions& options = {});

// The directory of the running program (where the other mbd tools are).
std::filesystem::path program_directory();
// The login name of the user the program runs as (its uid's number if it has none).
std::string current_user();

// Full path of a program found on PATH, or empty.
std::filesystem::path find_program(const std::string& name);

// Error(Exit::environment) naming the Debian package to install when missing.
void require_program(const std::string& name, const std::string& package);

} // namespace mbd
