#!/usr/bin/env bats
# What arrives from peers goes through mbd-incoming: a build request is taken
# only from an active remote, a result only from the builder its request was
# routed to; anything else is rejected and kept in var/rejected/ with a REASON.
# mbd-incoming run exits 7 when it rejected something.

load ../helpers
load ../lib/remote
load ../fixtures/keys/keys

setup_file() { keys_setup_file; }
teardown_file() { keys_teardown_file; }
setup() {
    remote_setup
    instance a
    instance b
    fake_chroot b bookworm amd64
    interconnect a b
}
teardown() { remote_teardown; }

# The REASON of the one rejected item of an instance that holds FILE.
reason_for() {
    local dir
    dir=$(dirname "$(find "$(home_of "$1")/var/rejected" -name "$2" | head -n1)")
    [ -f "$dir/REASON" ] && cat "$dir/REASON"
}

@test "a build request signed by a stranger, or by a remote that is no longer active, is rejected and kept" {
    dir=$(make_request a r1)
    key=$(request_key a r1)
    key_sign stranger "$dir/request.txt" >"$dir/forged.asc"
    cp "$dir"/hello-r1* "$(home_of b)/incoming/"
    cp "$dir/forged.asc" "$(home_of b)/incoming/$key.mbd-request"
    run_mbd 7 on b mbd-incoming run
    [ ! -e "$(home_of b)/incoming/$key.mbd-request" ]
    [ ! -e "$(home_of b)/var/spool/build/$key" ]
    [[ "$(reason_for b "$key.mbd-request")" == *"$(key_fpr stranger)"* ]]
    # a's own request, but b has deactivated a meanwhile
    route a r2 >/dev/null
    on a mbd-remote run >/dev/null 2>&1
    on b mbd-remote deactivate a >/dev/null
    run_mbd 7 on b mbd-incoming run
    [ ! -e "$(home_of b)/var/spool/build/$(request_key a r2)" ]
    [[ "$(reason_for b "$(request_key a r2).mbd-request")" == *"not active"* ]]
}

@test "a result signed by a stranger is rejected and kept; the request still waits for its builder" {
    route a r1 >/dev/null
    on a mbd-remote run >/dev/null 2>&1
    {
        printf 'Format: 1.8\nDate: %s\nSource: hello-r1\nArchitecture: amd64\nVersion: 1.0\n' "$(date -R)"
        printf 'Distribution: bookworm-test-unstable\nMaintainer: x <x@example.org>\nChanges:\n .\nFiles:\n'
        printf 'Checksums-Sha1:\nChecksums-Sha256:\nMbd-Build-Id: r1\nMbd-Build-Status: successful\n'
        printf 'Mbd-Builder: %s\n' "$(key_fpr stranger)"
    } >result
    key_sign stranger result >"$(home_of a)/incoming/hello-r1_1.0_amd64.mbd-result.changes"
    run_mbd 7 on a mbd-incoming run
    [ ! -e "$(home_of a)/incoming/hello-r1_1.0_amd64.mbd-result.changes" ]
    [ -n "$(reason_for a hello-r1_1.0_amd64.mbd-result.changes)" ]
    assert_equal "$(on a mbd-remote routes --json | jq -r '.[0].state')" sent
}
