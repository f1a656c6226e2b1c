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
