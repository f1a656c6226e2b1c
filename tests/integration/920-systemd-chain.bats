#!/usr/bin/env bats
# The units under a real systemd manager (tests/lib/systemd.bash: `systemd --user` in a
# private mount namespace, with copies of the shipped units pointed at this build and
# this test's home). After a dput, nothing is typed: the path units and the wake flags
# must carry an upload through mbd-incoming, mbd-build and mbd-incoming again.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/systemd
load ../lib/remote

# (lib/remote's instances live in the test's directory; "a" is this test's instance)
home_of() { if [ "$1" = a ]; then printf '%s\n' "$MBD_HOME"; else printf '%s\n' "$BATS_TEST_TMPDIR/$1"; fi; }

setup() {
    mbd_setup
    mbdt_systemd_home
    mbdt_pipeline_instance test
    export PKG="$BATS_TEST_TMPDIR/pkg"
    mkdir -p "$PKG"
}

teardown() {
    mbd_teardown
    mbdt_systemd_stop
    mbd_remove_test_users
}

# start the manager with the path units (and the timers, which must not disturb them)
start_units() {
    mbdt_systemd_units "$@"
    mbdt_systemd_start
    mbdt_systemctl start mbd-incoming.path mbd-incoming-wake.path mbd-build.path mbd-remote.path
}

# wait_until SECONDS COMMAND...: until COMMAND succeeds (polled every second)
wait_until() {
    local limit=$1 end
    shift
    end=$((SECONDS + limit))
    until "$@"; do
        if [ $SECONDS -ge $end ]; then
            echo "still not true after $limit s: $*" >&2
            mbdt_systemctl list-units --all 'mbd-*' >&2
            mbd-incoming uploads >&2
            mbd-build list >&2
            return 1
        fi
        sleep 1
    done
}

# uploads_are STATUS N: N uploads, all with STATUS
uploads_are() {
    [ "$(mbd-incoming uploads --json 2>/dev/null | jq -r --arg s "$1" 'map(select(.status == $s)) | length')" = "$2" ]
}

has_event() {
    [ "$(mbd-incoming events --type "$1" --json 2>/dev/null | jq length)" -ge 1 ]
}

# a oneshot service runs while it is "activating"
running() {
    [ "$(mbdt_systemctl show -p ActiveState --value "$1")" = activating ]
}

starts() {
    local f="$MBD_HOME/var/log/$1.starts"
    [ -f "$f" ] && wc -l <"$f" || echo 0
}

# No two runs of a service overlapped: each start comes after the previous stop.
assert_runs_never_overlap() {
    local unit=$1
    paste "$MBD_HOME/var/log/$unit.starts" "$MBD_HOME/var/log/$unit.stops" |
        awk -v unit="$unit" 'NR > 1 && $1 < stop { printf "%s started at %s before its previous run stopped at %s\n", unit, $1, stop; bad = 1 }
                             { stop = $2 } END { exit bad }'
    assert_equal "$(wc -l <"$MBD_HOME/var/log/$unit.starts")" "$(wc -l <"$MBD_HOME/var/log/$unit.stops")"
}

@test "an upload copied in slowly is taken whole by the pass its first file started" {
    start_units
    changes=$(mbdt_source_package "$PKG" slow 1.0~test12+1 bookworm-test-unstable)
    # what dput does, slowed down: the files the .changes lists first, the .changes a second later
    while read -r f; do
        cp "$PKG/$f" "$MBD_HOME/incoming/"
    done < <(mbdt_changes_files "$changes")
    sleep 1
    cp "$changes" "$MBD_HOME/incoming/"
    wait_until 60 uploads_are building 1
    mbdt_systemd_wait_idle 60
    # the first pass, started by the first file, took the .changes that came during it
    assert_equal "$(grep '^accepted' "$MBD_HOME/var/log/mbd-incoming.service.out" | head -n 1)" \
        "accepted 1, results 0, installed 0, failed 0, rejected 0, waiting 0"
    run_mbd mbd-incoming events --source slow --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(.type) | reverse | .[0]')" PACKAGING
    [ -z "$(ls -A "$MBD_HOME/incoming")" ]
}

@test "the timers are scheduled; the services they start run their real command under the hardening" {
    start_units
    mbdt_systemctl start mbd-incoming.timer mbd-chroot-update.timer mbd-remote.timer mbd-remote-check.timer \
        mbd-repo-maintain.timer
    run mbdt_systemctl list-timers --all --no-legend 'mbd-*'
    printf '%s\n' "$output"
    for t in mbd-incoming mbd-chroot-update mbd-remote mbd-remote-check mbd-repo-maintain; do
        printf '%s\n' "$output" | grep -q " $t.timer " || { echo "$t.timer is not scheduled" >&2; return 1; }
    done
    # each timer's service, started as its timer would (oneshot: start returns when it ended);
    # with Valid-Until newly configured, maintain signs every Release again
    echo "publish.valid_until = 172800" >"$MBD_HOME/etc/mbd.conf"
    for s in mbd-chroot-update mbd-remote-check mbd-repo-maintain; do
        mbdt_systemctl start "$s.service" || { mbdt_systemctl status "$s.service" >&2; return 1; }
        assert_equal "$(mbdt_systemctl show -p Result --value "$s.service")" success
    done
    grep -q '^bookworm-test-unstable$' "$MBD_HOME/var/log/mbd-repo-maintain.service.out"
    grep -q '^Valid-Until: ' "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    run_mbd mbd-repo check test
}

@test "routine outcomes leave no unit failed: a rejected upload (exit 7), a peer that is down (exit 17)" {
    start_units
    # an unsigned upload: the pass the path unit starts rejects it, and still exits 7 (for scripts)
    mbdt_dput "$(mbdt_source_package "$PKG" bad 1.0~test12+1 bookworm-test-unstable --unsigned)"
    wait_until 60 has_event REJECTED
    mbdt_systemd_wait_idle 60
    grep -q '^accepted 0, .* rejected 1, ' "$MBD_HOME/var/log/mbd-incoming.service.out"
    grep -qx '7 success' "$MBD_HOME/var/log/mbd-incoming.service.results"
    # a peer b with a request of ours waiting for it, then b is gone
    export PATH="$MBDT_BUILD_DIR/tests/tools:$PATH"
    instance b
    fake_chroot b bookworm amd64
    interconnect a b
    route a r1 >/dev/null
    rm -rf "$(home_of b)"
    # (one after the other: a failed check takes b out of service, and the request elsewhere)
    mbdt_systemctl start mbd-remote.service
    mbdt_systemctl start mbd-remote-check.service
    grep -q '^sent 0, failed 1, ' "$MBD_HOME/var/log/mbd-remote.service.out"
    grep -qx '17 success' "$MBD_HOME/var/log/mbd-remote.service.results"
    grep -qx '17 success' "$MBD_HOME/var/log/mbd-remote-check.service.results"
    mbdt_systemd_wait_idle 60
    run mbdt_systemctl list-units --failed --all --no-legend --plain 'mbd-*'
    assert_equal "$output" ""
}

# bats test_tags=slow
@test "a dput upload ends up installed with no command typed after it" {
    mbdt_build_user
    mbd_cached_chroot bookworm amd64
    start_units "MBD_BUILD_USER=$MBD_BUILD_USER"
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable --arch-all)"
    wait_until 600 uploads_are installed 1
    run_mbd mbd-incoming events --source tiny --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(.type) | reverse | join(" ")')" "PACKAGING ROUTED BUILDING BUILT INSTALLED"
    # the chain: incoming (the upload), build (the request), incoming (the result)
    [ "$(starts mbd-incoming.service)" -ge 2 ]
    [ "$(starts mbd-build.service)" -ge 1 ]
    mbdt_systemd_wait_idle 60
    run_mbd mbd-repo check test

    mbdt_apt_sandbox "$BATS_TEST_TMPDIR/apt" "$BATS_TEST_TMPDIR/instance.asc"
    mbd-repo sources-list test --codename bookworm --suite unstable --signed-by "$BATS_TEST_TMPDIR/instance.asc" \
        >"$BATS_TEST_TMPDIR/apt/etc/apt/sources.list.d/test.sources"
    mbdt_apt "$BATS_TEST_TMPDIR/apt" update
    mbdt_apt "$BATS_TEST_TMPDIR/apt" install tiny tiny-data
    [ "$(cat "$BATS_TEST_TMPDIR/apt/usr/share/tiny/data")" = "tiny 1.0~test12+1" ]
}

# bats test_tags=slow
@test "uploads arriving while passes run are all installed; runs of one service never overlap" {
    mbdt_build_user
    mbd_cached_chroot bookworm amd64
    start_units "MBD_BUILD_USER=$MBD_BUILD_USER"
    for n in 1 2 3; do
        mbdt_source_package "$PKG" p$n 1.0~test12+1 bookworm-test-unstable >"$PKG/p$n.path"
    done
    mbdt_dput "$(cat "$PKG/p1.path")"
    # p2 while p1 builds, p3 right after it
    wait_until 120 running mbd-build.service
    mbdt_dput "$(cat "$PKG/p2.path")"
    mbdt_dput "$(cat "$PKG/p3.path")"
    wait_until 900 uploads_are installed 3
    mbdt_systemd_wait_idle 60
    run_mbd mbd-incoming events --type INSTALLED --json
    assert_equal "$(printf '%s' "$output" | jq length)" 3
    # each upload was taken when it came, not when the next event (a build ending) woke a pass
    run_mbd mbd-incoming events --json
    assert_equal "$(printf '%s' "$output" | jq -r 'reverse | map(select(.type == "PACKAGING" or .type == "BUILT") | .type)[0:4] | join(" ")')" \
        "PACKAGING PACKAGING PACKAGING BUILT"
    run_mbd mbd-build list --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(.status) | join(",")')" successful,successful,successful
    for s in mbd-incoming.service mbd-build.service; do
        assert_runs_never_overlap "$s"
    done
}
