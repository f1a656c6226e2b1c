#!/usr/bin/env bats
# Meta-test: every tool's --help (and every subcommand's) is well formed.

load ../helpers

# Subcommand paths of a tool, read from its own --help-all output.
subcommands() {
    "$1" --help-all | awk '/^Subcommands:/{s=1; next} /^[^ ]/{s=0} s && /^  [a-z]/{print $1}'
}

check_help() {
    local out
    run_mbd "$@" --help
    out="$output"
    [ -n "$out" ]
    # a description line, a usage line, an options section and the exit-code table
    [[ "$(printf '%s\n' "$out" | head -n 1)" =~ ^[a-z] ]]
    printf '%s\n' "$out" | grep -qE '^Usage: '
    printf '%s\n' "$out" | grep -qE '^Options:'
    printf '%s\n' "$out" | grep -qE '^(Exit codes: 0 ok, 1 failed, 2 usage|$)'
    refute_grep -iE 'todo|not implemented|stub' <<<"$out"
}

@test "every tool's --help is well formed" {
    for tool in "${MBD_TOOLS[@]}"; do
        check_help "$tool"
        assert_output_contains "Exit codes: 0 ok, 1 failed, 2 usage"
        assert_output_contains "--show-config"
    done
}

@test "every subcommand's --help is well formed" {
    local tool sub
    for tool in "${MBD_TOOLS[@]}"; do
        for sub in $(subcommands "$tool"); do
            check_help "$tool" "$sub"
        done
    done
}

@test "help goes to stdout and exits 0 with -h too" {
    run_mbd mbd-repo -h
    assert_output_contains "Usage: mbd-repo"
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    assert_equal "$stderr" ""
}

@test "ls and list are one command everywhere: each answers to the other's name" {
    local tool path other n=0
    for tool in "${MBD_TOOLS[@]}"; do
        # the path (group names, then ls or list) of every such command of the tool
        while read -r path; do
            other=${path% *}
            [ "$other" = "$path" ] && other=""
            case "${path##* }" in
            ls) other="${other:+$other }list" ;;
            list) other="${other:+$other }ls" ;;
            esac
            # shellcheck disable=SC2086 # a path is words
            run_mbd "$tool" $path --help
            local first=$output
            # shellcheck disable=SC2086
            run_mbd "$tool" $other --help
            assert_equal "$output" "$first"
            n=$((n + 1))
        done < <("$tool" --describe-cli | jq -r '
            def walk_paths(p): .subcommands[]? | (p + [.name]) as $q | ($q, walk_paths($q));
            walk_paths([]) | select(.[-1] == "ls" or .[-1] == "list") | join(" ")')
    done
    [ "$n" -ge 9 ]
}
