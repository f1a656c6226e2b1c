#!/usr/bin/env bats
# mbd-repo selftest (app/selftest): three packages made by the instance go through the
# pipeline (the passes run here in the background as the units would; builds are
# prebuilt on the host for mbd-test-build, a build that fails on the host leaves none, so
# mbd-test-build fails it); the report says, per package and architecture, what was
# built, published and fetched by the real apt, and the exit status whether all behaved.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/crash

setup() {
    mbd_setup
    CRASH_CHROOT=fake crash_setup
    echo 'incoming.settle = 0' >>"$MBD_HOME/etc/mbd.conf"
    echo 'email = mbd@build.example.org' >>"$MBD_HOME/etc/mbd.conf"
    run_mbd mbd-repo create kr --layout Default --dist bookworm
    run_mbd mbd-repo check kr
    run_mbd mbd-repo repository activate kr
}

teardown() {
    touch "$BATS_TEST_TMPDIR/stop"
    [ -z "${units_pid:-}" ] || wait "$units_pid" 2>/dev/null || true
    mbd_teardown
}

# What the units do, until $BATS_TEST_TMPDIR/stop exists: each source upload built on the
# host, then the incoming, build and incoming passes.
units() {
    local dsc name d
    mkdir -p "$BATS_TEST_TMPDIR/seen" "$BATS_TEST_TMPDIR/b"
    while [ ! -e "$BATS_TEST_TMPDIR/stop" ]; do
        mbd-incoming run >/dev/null 2>&1 || true
        # (the uploads the pass took, before the build pass looks for their results)
        while read -r dsc; do
            name=$(basename "$dsc" .dsc)
            [ ! -e "$BATS_TEST_TMPDIR/seen/$name" ] || continue
            touch "$BATS_TEST_TMPDIR/seen/$name"
            d="$BATS_TEST_TMPDIR/b/$name"
            mkdir -p "$d"
            dpkg-source -x "$dsc" "$d/src" >/dev/null 2>&1 || continue
            if (cd "$d/src" && dpkg-buildpackage -us -uc -b -d >"$d/build.log" 2>&1); then
                mv "$d"/*.changes "$d"/*.deb "$d"/*.buildinfo "$CRASH_DIR/prebuilt/"
            fi
        done < <(find "$MBD_HOME/var/builds" -name '*.dsc')
        mbd-test-build run "$CRASH_DIR/prebuilt" >/dev/null 2>&1 || true
        mbd-incoming run >/dev/null 2>&1 || true
        sleep 1
    done
}

@test "selftest on a good instance: the packages are built, published and fetched by apt; the failing one fails" {
    units &
    units_pid=$!
    run_mbd mbd-repo selftest kr --timeout 300 --json
    printf '%s\n' "$output" | jq . >&3
    assert_equal "$(jq -r .distribution <<<"$output")" bookworm-kr-experimental
    assert_equal "$(jq -r .ok <<<"$output")" true
    assert_equal "$(jq -c '[.packages[] | [.source, .state, .fetched_by_apt]]' <<<"$output")" \
        '[["mbd-selftest-all","installed",["all"]],["mbd-selftest-any","installed",["amd64"]],["mbd-selftest-fail","failed",[]]]'
    # the versions follow the experimental rule; the failed build's log is kept (here: the harness's)
    assert_equal "$(jq -r '.packages[].version' <<<"$output" | grep -cE '^[0-9]+~kr12\+0$')" 3
    log=$(jq -r '.packages[2].log' <<<"$output")
    run_mbd mbd-build log "$log"
    assert_output_contains "Status: failed"
    # what apt fetched is what the archive publishes
    grep -q '^Package: mbd-selftest-any$' \
        "$(index_file "$MBD_HOME/repositories/kr/dists/bookworm-kr-experimental/main/binary-amd64/Packages")"
    # the text report
    run_mbd mbd-repo selftest kr --timeout 300
    assert_output_contains "mbd-selftest-fail"
    assert_output_contains "failed as expected, ok"
    assert_output_contains "fetched by apt (amd64)"
}

@test "selftest with the chroot deactivated: a clear report of what did not happen, exit 12" {
    run_mbd mbd-chroot deactivate bookworm amd64
    units &
    units_pid=$!
    run_mbd 12 mbd-repo selftest kr --timeout 15
    assert_output_contains "FAILED: not finished within 15 s"
    assert_stderr_contains "selftest of bookworm-kr-experimental: not every package behaved as expected"
    run_mbd 4 mbd-repo selftest nosuch
    run_mbd 4 mbd-repo selftest kr --dist bookworm-kr-nosuch
    run_mbd 7 mbd-repo selftest kr --dist bookworm-kr-testing
}
