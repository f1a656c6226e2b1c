#!/usr/bin/env bats
# mbd-remote run: sending requests and results to peers' incoming/, retries
# with backoff, re-routing when a peer is down or silent, and which builder's
# result is accepted.

load ../helpers
load ../lib/remote
load ../fixtures/keys/keys

setup_file() { keys_setup_file; }
teardown_file() { keys_teardown_file; }
setup() { remote_setup; }
teardown() { remote_teardown; }

# a with peers b (and c when asked), each with a bookworm/amd64 chroot
peers() {
    instance a
    local p
    for p in "$@"; do
        instance "$p"
        fake_chroot "$p" bookworm amd64
        interconnect a "$p"
    done
}

route_of() { on a mbd-remote routes --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .state + " " + (.builder // "-")'; }

@test "run sends a request's files, then its document, and keeps a copy until its result comes" {
    peers b
    # routing rings mbd-remote.path's bell: it watches var/spool/outgoing itself
    touch -d 2001-01-01 "$(home_of a)/var/spool/outgoing"
    route a r1 >/dev/null
    [ "$(stat -c %Y "$(home_of a)/var/spool/outgoing")" -gt 1000000000 ]
    key=$(request_key a r1)
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 1, failed 0, re-routed 0, waiting 0"
    assert_stderr_contains "sent $key.mbd-request to 'b' (3 files, "
    run ls "$(home_of b)/incoming"
    assert_equal "$output" "$key.mbd-request
hello-r1.dsc
hello-r1_1.0.tar.xz"
    cmp "$BATS_TEST_TMPDIR/requests/a-r1/hello-r1_1.0.tar.xz" "$(home_of b)/incoming/hello-r1_1.0.tar.xz"
    # b accepts the request: a is an active peer there
    run_mbd on b mbd-test-keys verify-build "$(home_of b)/incoming/$key.mbd-request"
    assert_equal "$output" "$(fpr_of a)"
    assert_equal "$(route_of r1)" "sent b"
    [ -d "$(home_of a)/var/spool/sent/$key" ]
    [ -z "$(ls "$(home_of a)/var/spool/outgoing/b")" ]
    # only b's result is taken, once
    run_mbd on a mbd-test-remote accept-result r1 "$(key_fpr stranger)"
    assert_equal "$output" "unexpected: build request 'r1' was routed to b ($(fpr_of b)), not to $(key_fpr stranger)"
    run_mbd on a mbd-test-remote accept-result r1 "$(fpr_of b)"
    assert_equal "$output" "current: built by b"
    [ ! -e "$(home_of a)/var/spool/sent/$key" ]
    assert_equal "$(route_of r1)" "returned b"
    run_mbd on a mbd-test-remote accept-result r1 "$(fpr_of b)"
    assert_equal "$output" "duplicate: the result of build request 'r1' from b was accepted already"
}

@test "a peer that is down: retried with backoff, then re-routed to another builder" {
    peers b c
    on a mbd-remote deactivate c >/dev/null
    route a r1 >/dev/null
    key=$(request_key a r1)
    on a mbd-remote activate c >/dev/null
    b=$(fpr_of b)
    mv "$(home_of b)" "$(home_of b).down"
    run_mbd 17 on a mbd-remote run
    assert_equal "$output" "sent 0, failed 1, re-routed 0, waiting 0"
    assert_stderr_contains "cannot send '$key' to 'b' (attempt 1, next in 60 s): cannot reach 'file://$(home_of b)'"
    assert_stderr_contains "items could not be sent; they are retried later"
    # not due yet: nothing is tried
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 0, failed 0, re-routed 0, waiting 0"
    # due again: the wait doubles
    sqlite3 "$(home_of a)/config.sqlite" "UPDATE outgoing SET next_try = 0"
    run_mbd 17 on a mbd-remote run
    assert_stderr_contains "(attempt 2, next in 120 s)"
    # past remote.reroute_timeout it goes to c, and is sent there in the same pass
    run_mbd on a mbd-remote -o remote.reroute_timeout=0 run
    assert_equal "$output" "sent 1, failed 0, re-routed 1, waiting 0"
    [ -f "$(home_of c)/incoming/$key.mbd-request" ]
    run_mbd on a mbd-remote routes --json
    assert_equal "$(jq -r '.[0] | .state + " " + .builder + " " + (.previous | join(" "))' <<<"$output")" \
        "sent c $b"
    [[ "$(jq -r '.[0].message' <<<"$output")" == "'b' did not take it for "*" s; to c (loads: c 0/2); skipped local: no chroot, b: routed away from" ]]
    # b is back and would deliver: its result is late, kept by mbd-incoming, never installed
    mv "$(home_of b).down" "$(home_of b)"
    run_mbd on a mbd-test-remote accept-result r1 "$(fpr_of b)"
    assert_equal "$output" "late: late result of build request 'r1' from $(fpr_of b): it was re-routed to c"
    run_mbd on a mbd-test-remote accept-result r1 "$(fpr_of c)"
    assert_equal "$output" "current: built by c"
}

@test "a request taken but not answered within remote.result_timeout goes to another builder" {
    peers b c
    on a mbd-remote deactivate c >/dev/null
    route a r1 >/dev/null
    on a mbd-remote run >/dev/null 2>&1
    assert_equal "$(route_of r1)" "sent b"
    on a mbd-remote activate c >/dev/null
    run_mbd on a mbd-remote run
    assert_equal "$(route_of r1)" "sent b"
    run_mbd on a mbd-remote -o remote.result_timeout=0 run
    assert_equal "$output" "sent 1, failed 0, re-routed 1, waiting 0"
    assert_equal "$(route_of r1)" "sent c"
    [ -f "$(home_of c)/incoming/$(request_key a r1).mbd-request" ]
    run_mbd on a mbd-test-remote accept-result r1 "$(fpr_of b)"
    assert_output_contains "late: "
}

@test "requests queued for a remote that is deactivated or removed wait, and move on when a builder is back" {
    peers b
    route a r1 >/dev/null
    route a r2 >/dev/null
    on a mbd-remote deactivate b >/dev/null
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 0, failed 0, re-routed 2, waiting 2"
    assert_equal "$(route_of r1)" "waiting -"
    on a mbd-remote activate b >/dev/null
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 2, failed 0, re-routed 2, waiting 0"
    # removed with a request queued: it waits too
    route a r3 >/dev/null
    on a mbd-remote deactivate b >/dev/null
    on a mbd-remote remove b
    fake_chroot a bookworm amd64
    run_mbd on a mbd-remote run
    assert_equal "$(route_of r3)" "local local"
    [ -d "$(home_of a)/var/spool/build/$(request_key a r3)" ]
}

@test "results: ours go to our incoming/, a peer's through its outgoing spool, a stranger's are kept" {
    peers b
    run_mbd on a mbd-test-remote delivery-route "$(fpr_of a)"
    assert_equal "$output" "$(home_of a)/incoming"
    # what mbd-build does with a result for b: files, then the .changes, into the item
    run_mbd on a mbd-test-remote delivery-route "$(fpr_of b)"
    item=$output
    [[ "$item" == "$(home_of a)/var/spool/outgoing/b/result-"* ]]
    printf 'log\n' >"$item/hello_1.0_amd64.mbd.log"
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 0, failed 0, re-routed 0, waiting 0" # no .changes yet: still being written
    printf 'changes\n' >"$item/hello_1.0_amd64.mbd-result.changes"
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 1, failed 0, re-routed 0, waiting 0"
    [ ! -e "$item" ]
    run ls "$(home_of b)/incoming"
    assert_equal "$output" "hello_1.0_amd64.mbd-result.changes
hello_1.0_amd64.mbd.log"
    # for a key no remote has, the result is kept until one does
    run_mbd on a mbd-test-remote delivery-route "$(key_fpr stranger)"
    item=$output
    [[ "$item" == "$(home_of a)/var/spool/outgoing/unknown-$(key_fpr stranger)/result-"* ]]
    printf 'changes\n' >"$item/x_1_amd64.mbd-result.changes"
    run_mbd 17 on a mbd-remote run
    assert_stderr_contains "no remote has key $(key_fpr stranger)"
    [ -f "$item/x_1_amd64.mbd-result.changes" ]
    # an item that never got its .changes (its build died) is cleaned up after build.timeout + 1 h
    run_mbd on a mbd-test-remote delivery-route "$(fpr_of b)"
    run_mbd on a mbd-remote -o build.timeout=-7200 run
    [ ! -e "$output" ]
}
