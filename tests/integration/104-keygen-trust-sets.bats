#!/usr/bin/env bats
# Trust sets are independent: uploaders' keys, peers' keys (trust set
# "remotes") and the instance key never verify for one another. Build
# requests and results verify against this instance's key or an active peer's.
# Peer keys have no mbd command yet (the remote domain will drive them): the
# test driver mbd-test-keys calls the library API.

load ../helpers
load ../fixtures/keys/keys

setup_file() { keys_setup_file; }
teardown_file() { keys_teardown_file; }

setup() {
    mbd_setup
    T="$MBDT_BUILD_DIR/tests/tools/mbd-test-keys"
    cd "$BATS_TEST_TMPDIR" || return
    printf 'Build-Request: hello 1.0-1\nArchitecture: amd64\n' >request
    PEER=$(key_fpr peer)
}

@test "peer keys: added inactive, verify only while active, removed" {
    run_mbd "$T" peer add "$(key_file peer)"
    assert_equal "$(printf '%s' "$output" | jq -r '.fingerprint + " " + (.active | tostring) + " " + .state')" \
        "$PEER false valid"
    [ "$(stat -c %a "$MBD_HOME/gnupg/remotes")" = 700 ]
    key_sign peer request >request.asc
    run_mbd 11 "$T" verify-build request.asc
    assert_stderr_contains "the peer key $PEER is not active"
    run_mbd "$T" peer activate "${PEER,,}"
    run_mbd "$T" verify-build request.asc
    assert_equal "$output" "$PEER"
    run_mbd "$T" peer list
    assert_equal "$(printf '%s' "$output" | jq -r '.[] | .fingerprint + " " + (.active | tostring)')" "$PEER true"
    run_mbd "$T" peer deactivate "$PEER"
    run_mbd 11 "$T" verify-build request.asc
    run_mbd "$T" peer remove "$PEER"
    run_mbd 8 "$T" verify-build request.asc
    assert_stderr_contains "signed by unknown key $PEER"
    run_mbd 4 "$T" peer activate "$PEER"
    run_mbd 4 "$T" peer remove "$PEER"
}

@test "build requests signed by this instance verify; tampered or appended ones do not" {
    run_mbd mbd-keygen init --algo ed25519
    fpr=$(mbd-keygen show --json | jq -r .fingerprint)
    run_mbd "$T" clearsign request
    printf '%s' "$output" >request.asc
    run_mbd "$T" verify-build request.asc
    assert_equal "$output" "$fpr"
    sed 's/amd64/i386/' request.asc >tampered.asc
    run_mbd 8 "$T" verify-build tampered.asc
    assert_stderr_contains "bad signature by $fpr"
    { cat request.asc; echo 'Architecture: i386'; } >appended.asc
    run_mbd 8 "$T" verify-build appended.asc
    assert_stderr_contains "unsigned text after the signature"
}

@test "a key of one trust set never verifies for another" {
    run_mbd mbd-keygen init --algo ed25519
    inst=$(mbd-keygen show --json | jq -r .fingerprint)
    mbd_repositories test
    run_mbd mbd-keygen uploader add "$(key_file uploader)" --repo test
    run_mbd "$T" peer add "$(key_file peer)"
    run_mbd "$T" peer activate "$PEER"
    key_sign uploader request >by-uploader.asc
    key_sign peer request >by-peer.asc
    run_mbd "$T" clearsign request
    printf '%s' "$output" >by-instance.asc

    run_mbd mbd-keygen uploader verify by-uploader.asc --repo test
    run_mbd 8 "$T" verify-build by-uploader.asc
    assert_stderr_contains "signed by unknown key $(key_fpr uploader)"
    run_mbd 8 mbd-keygen uploader verify by-peer.asc --repo test
    assert_stderr_contains "signed by unknown key $PEER"
    run_mbd 8 mbd-keygen uploader verify by-instance.asc --repo test
    assert_stderr_contains "signed by unknown key $inst"
    # the same key in two sets is still judged by each set's own record
    run_mbd mbd-keygen uploader add "$(key_file peer)"
    run_mbd 11 mbd-keygen uploader verify by-peer.asc --repo test
}

@test "peers' expired and revoked keys exit 9 and 10" {
    run_mbd "$T" peer add "$(key_file expired)"
    run_mbd "$T" peer activate "$(key_fpr expired)"
    key_sign expired request >expired.asc
    run_mbd 9 "$T" verify-build expired.asc
    run_mbd "$T" peer add "$(key_file revoked)"
    run_mbd "$T" peer activate "$(key_fpr revoked)"
    key_sign revoked request >revoked.asc
    run_mbd 10 "$T" verify-build revoked.asc
}
