#!/usr/bin/env bats
# --show-config: every key, its value and where it came from; unknown keys are errors.

load ../helpers

@test "--show-config lists every key with its origin" {
    run_mbd mbd-repo --show-config
    assert_output_contains "home"
    printf '%s\n' "$output" | grep -E "^home +=  *$MBD_HOME +\(environment MBD_HOME\)$"
    printf '%s\n' "$output" | grep -E '^build\.jobs += [0-9]+ +\(default\)$'
}

@test "precedence: file < environment < -o < flag" {
    mkdir -p "$MBD_HOME/etc"
    printf 'identity = fromfile\nemail = file@example.org\nbuild.jobs = 3\n' > "$MBD_HOME/etc/mbd.conf"
    MBD_EMAIL=env@example.org MBD_BUILD_JOBS=5 run_mbd mbd-repo --show-config -o build.jobs=9 --home "$MBD_HOME"
    printf '%s\n' "$output" | grep -E "^identity += fromfile +\(file $MBD_HOME/etc/mbd.conf:1\)$"
    printf '%s\n' "$output" | grep -E '^email += env@example.org +\(environment MBD_EMAIL\)$'
    printf '%s\n' "$output" | grep -E '^build\.jobs += 9 +\(option -o build.jobs\)$'
    printf '%s\n' "$output" | grep -E "^home += $MBD_HOME +\(flag\)$"
}

@test "MBD_CONFIG names another configuration file" {
    printf 'identity = elsewhere\n' > "$BATS_TEST_TMPDIR/other.conf"
    MBD_CONFIG="$BATS_TEST_TMPDIR/other.conf" run_mbd mbd-build --show-config
    printf '%s\n' "$output" | grep -E '^identity += elsewhere '
}

@test "unknown keys are configuration errors (exit 3)" {
    run_mbd 3 mbd-repo -o no.such.key=1 --show-config
    assert_stderr_contains "unknown configuration key 'no.such.key'"
    MBD_NO_SUCH=1 run_mbd 3 mbd-repo --show-config
    assert_stderr_contains "unknown environment variable 'MBD_NO_SUCH'"
    mkdir -p "$MBD_HOME/etc"
    printf 'typo = 1\n' > "$MBD_HOME/etc/mbd.conf"
    run_mbd 3 mbd-keygen --show-config
    assert_stderr_contains "mbd.conf:1: unknown configuration key 'typo'"
}

@test "bad values are configuration errors (exit 3), malformed -o is a usage error (exit 2)" {
    run_mbd 3 mbd-repo -o build.jobs=lots --show-config
    assert_stderr_contains "'build.jobs' must be an integer"
    run_mbd 3 mbd-repo --home relative/dir --show-config
    run_mbd 2 mbd-repo -o just-a-word --show-config
    run_mbd 3 mbd-repo --log nosuchcategory --show-config
    assert_stderr_contains "unknown log category 'nosuchcategory'"
}

@test "the home cannot be moved from the configuration file" {
    mkdir -p "$MBD_HOME/etc"
    printf 'home = /tmp/elsewhere\n' > "$MBD_HOME/etc/mbd.conf"
    run_mbd 3 mbd-repo --show-config
    assert_stderr_contains "'home' cannot be set in the configuration file"
}

@test "without MBD_HOME or --home, a default home that does not exist is an error (exit 3), never made" {
    [ "$(id -u)" -eq 0 ] || skip "needs root (hides /var/lib behind a tmpfs in a mount namespace of its own)"
    # a root shell on a host without the package: nothing may leave a root-owned /var/lib/mbd
    # shellcheck disable=SC2016 # (the inner sh expands them)
    run unshare --mount sh -c 'mount -t tmpfs tmpfs /var/lib && env -u MBD_HOME "$@"; rc=$?;
        [ ! -e /var/lib/mbd ] || echo "made /var/lib/mbd" >&2; exit $rc' sh mbd-repo ls
    echo "$output"
    [ "$status" -eq 3 ]
    assert_output_contains "there is no instance at /var/lib/mbd"
    refute grep -q "made /var/lib/mbd" <<<"$output"
    # a home named by MBD_HOME or --home is made on first use, as before
    run_mbd mbd-repo --home "$BATS_TEST_TMPDIR/by-flag" ls
    [ -f "$BATS_TEST_TMPDIR/by-flag/config.sqlite" ]
}
