#!/usr/bin/env bats
# Routing: each build request of instance a goes to the builder with the
# lowest load that has an active chroot for it, a included; equal loads
# alternate; a request no builder can take waits. The requests are made by
# hand (tests/lib/remote.bash) and routed through mbd-test-remote, the way
# mbd-incoming routes the requests of a source upload.

load ../helpers
load ../lib/remote

setup() { remote_setup; }
teardown() { remote_teardown; }

builders() { on a mbd-remote routes --json | jq -r '[.[] | .builder // "waiting"] | join(" ")'; }

@test "equal loads alternate between builders, with and without fresh status documents" {
    instance a
    instance b 1
    instance c 1
    fake_chroot b bookworm amd64
    fake_chroot c bookworm amd64
    interconnect a b
    interconnect a c
    for i in 1 2 3 4 5 6; do
        route a "r$i" >/dev/null
    done
    assert_equal "$(builders)" "b c b c b c"
    # requests a routed since a remote's last status count towards its load; once
    # the statuses are fresh again (nothing was taken yet) the loads are equal,
    # and the builder given a request least recently goes first
    for i in 7 8 9 10; do
        on a mbd-remote check >/dev/null
        route a "r$i" >/dev/null
    done
    assert_equal "$(builders)" "b c b c b c b c b c"
    run_mbd on a mbd-remote routes
    assert_output_contains "r7 outgoing b hello-r7 1.0 bookworm/amd64 to b (loads: b 0/1, c 0/1); skipped local: no chroot"
    [ "$(ls "$(home_of a)/var/spool/outgoing/b" | wc -l)" -eq 5 ]
    [ -f "$(home_of a)/var/spool/outgoing/c/$(request_key a r2)/$(request_key a r2).mbd-request" ]
}

@test "the lowest load wins, as running and queued builds against capacity" {
    instance a
    instance b 4
    instance c 1
    fake_chroot b bookworm amd64
    fake_chroot c bookworm amd64
    # b has two builds queued (of 4), c none (of 1)
    mkdir -p "$(home_of b)/var/spool/build/x1" "$(home_of b)/var/spool/build/x2"
    interconnect a b
    interconnect a c
    assert_equal "$(on a mbd-remote show b --json | jq -r '.peer | "\(.queued)/\(.capacity)"')" "2/4"
    for i in 1 2 3 4 5; do
        route a "r$i" >/dev/null
    done
    # c 0/1 < b 2/4; then b 2/4 < c 1/1; b 3/4 < c 1/1; b 4/4 = c 1/1: c had its turn longer ago
    assert_equal "$(builders)" "c b b c b"
}

@test "this instance builds too: its load is its build spool" {
    instance a 1
    instance b 1
    fake_chroot a bookworm amd64
    fake_chroot b bookworm amd64
    interconnect a b
    for i in 1 2 3 4; do
        route a "r$i" >/dev/null
    done
    assert_equal "$(builders)" "local b local b"
    run ls "$(home_of a)/var/spool/build"
    assert_equal "$output" "$(request_key a r1)
$(request_key a r3)"
    [ -f "$(home_of a)/var/spool/build/$(request_key a r1)/request.asc" ]
}

@test "a request no builder can take waits; a later run routes it once one can" {
    instance a
    instance b
    interconnect a b
    run_mbd on a mbd-test-remote route "$(make_request a r1)/request.asc" "$BATS_TEST_TMPDIR/requests/a-r1"
    assert_equal "$output" "waiting"
    run_mbd on a mbd-remote routes --json
    assert_equal "$(jq -r '.[0].message' <<<"$output")" \
        "waiting: no builder for bookworm/amd64; skipped local: no chroot, b: no chroot"
    [ -d "$(home_of a)/var/spool/waiting/$(request_key a r1)" ]
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 0, failed 0, re-routed 0, waiting 1"
    # b gets the chroot: the next check learns it, the next run routes and sends
    fake_chroot b bookworm amd64
    on b mbd-remote status >/dev/null
    on a mbd-remote check b >/dev/null
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 1, failed 0, re-routed 1, waiting 0"
    [ -f "$(home_of b)/incoming/$(request_key a r1).mbd-request" ]
    [ ! -e "$(home_of a)/var/spool/waiting/$(request_key a r1)" ]
    assert_equal "$(on a mbd-remote routes --json | jq -r '.[0] | .state + " " + .builder')" "sent b"
}

@test "routing skips remotes that are inactive, have not activated us, or whose status is stale" {
    instance a
    instance b
    instance c
    fake_chroot a bookworm amd64
    fake_chroot b bookworm amd64
    fake_chroot c bookworm amd64
    interconnect a b
    interconnect a c
    on a mbd-remote deactivate b >/dev/null
    on c mbd-remote deactivate a >/dev/null
    on a mbd-remote check c >/dev/null
    route a r1 >/dev/null
    run_mbd on a mbd-remote routes --json
    assert_equal "$(jq -r '.[0] | .builder + ": " + .message' <<<"$output")" \
        "local: to local (loads: local 0/2); skipped b: it is prepared, c: it has not activated this instance"
    on a mbd-remote activate b >/dev/null
    run_mbd on a mbd-test-remote -o remote.status_max_age=-1 route "$(make_request a r2)/request.asc" \
        "$BATS_TEST_TMPDIR/requests/a-r2"
    assert_equal "$output" "local"
    run_mbd on a mbd-remote routes --json
    [[ "$(jq -r '.[1].message' <<<"$output")" == *"skipped b: its status is "*" s old, c: its status is "*" s old" ]]
}

@test "routing a request again never routes it twice" {
    instance a
    instance b
    fake_chroot b bookworm amd64
    interconnect a b
    dir=$(make_request a r1)
    run_mbd on a mbd-test-remote route "$dir/request.asc" "$dir"
    assert_equal "$output" "b"
    rm -r "$(home_of a)/var/spool/outgoing/b/$(request_key a r1)" # as if a crash came before the files
    fake_chroot a bookworm amd64
    run_mbd on a mbd-test-remote route "$dir/request.asc" "$dir"
    assert_equal "$output" "b"
    [ -f "$(home_of a)/var/spool/outgoing/b/$(request_key a r1)/$(request_key a r1).mbd-request" ]
    assert_equal "$(on a mbd-remote routes --json | jq length)" 1
    assert_equal "$(sqlite3 "$(home_of a)/config.sqlite" "SELECT COUNT(*) FROM events WHERE type = 'ROUTED'")" 1
}
