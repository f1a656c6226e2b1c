#!/usr/bin/env bats
# Every tool starts, knows its version and refuses bad command lines with exit 2.

load ../helpers

@test "every tool prints its version" {
    for tool in "${MBD_TOOLS[@]}"; do
        run_mbd "$tool" --version
        [[ "$output" =~ ^$tool\ [0-9]+\.[0-9]+\.[0-9]+\ \(schema:\ core\ [0-9]+ ]]
    done
}

@test "an unknown option exits 2 with a message on stderr" {
    for tool in "${MBD_TOOLS[@]}"; do
        run_mbd 2 "$tool" --no-such-option
        assert_equal "$output" ""
        # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
        [[ "$stderr" == "$tool: E: "*"--no-such-option"* ]]
    done
}

@test "no command exits 2 and says so" {
    for tool in "${MBD_TOOLS[@]}"; do
        run_mbd 2 "$tool"
        assert_stderr_contains "$tool: E: no command given"
    done
}

@test "an unknown subcommand exits 2" {
    for tool in "${MBD_TOOLS[@]}"; do
        run_mbd 2 "$tool" frobnicate
        [[ "$stderr" == "$tool: E: "* ]]
    done
}

@test "an option missing its value exits 2" {
    run_mbd 2 mbd-repo --home
    assert_stderr_contains "mbd-repo: E: "
    run_mbd 2 mbd-repo -o
}

@test "an argument naming something (a build, chroot, remote, repository, source...) that is a path exits 2, touching nothing" {
    mkdir -p "$MBD_HOME"
    local bad cmd
    for bad in ../../x /etc .. 'a b'; do
        for cmd in "mbd-build cancel @" "mbd-build log @" "mbd-build retry @" "mbd-chroot remove @ amd64" \
            "mbd-chroot check bookworm @" "mbd-chroot create @ amd64" "mbd-remote remove @" "mbd-remote check @" \
            "mbd-repo repository prepare @" "mbd-repo repository remove @" "mbd-repo check @" "mbd-repo publish @" \
            "mbd-repo source remove @" "mbd-repo source check @" "mbd-repo dist show @" "mbd-repo remove tiny @" \
            "mbd-repo migrate tiny @" "mbd-repo setup @" "mbd-repo layout suite Custom @" \
            "mbd-keygen uploader verify - --repo @" "mbd-incoming events --dist @"; do
            read -ra words <<<"$cmd"
            run_mbd 2 "${words[@]/@/$bad}"
            [[ "$stderr" == *": E: "*"invalid "* ]] || { echo "$cmd: $stderr" >&2; return 1; }
        done
    done
    # nothing was made: not even the home's layout
    assert_equal "$(ls -A "$MBD_HOME")" ""
}
