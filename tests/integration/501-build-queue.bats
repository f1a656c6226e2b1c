#!/usr/bin/env bats
# mbd-build without sbuild getting to build (fast tier): ids that are not build ids
# are refused before anything is touched; as root it builds only as build.user; a
# build that ends before sbuild could build it still sends its requester a failed
# result, and a peer's request sees no path of this host.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/remote

setup() {
    remote_setup
    # this instance is "home" to the remote helpers: a repository, an uploader, dput.cf
    mbdt_pipeline_instance test
    fake_chroot home bookworm amd64
    export PKG="$BATS_TEST_TMPDIR/pkg"
    mkdir -p "$PKG"
}
teardown() {
    remote_teardown
    mbd_remove_test_users
}

# An upload to bookworm-test-unstable, accepted and queued for a local build.
queued_upload() {
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)"
    run_mbd mbd-incoming run
    assert_equal "$(ls "$MBD_HOME/var/spool/build" | wc -l)" 1
}

@test "build ids that are paths are refused with exit 2 before anything is touched" {
    mkdir -p "$BATS_TEST_TMPDIR/victim"
    queued_upload
    before=$(find "$MBD_HOME" "$BATS_TEST_TMPDIR/victim" ! -name '*.log' | sort)
    for id in ../../../gnupg .. . "$BATS_TEST_TMPDIR/victim" a/b 'x y' "$(fpr_of home | cut -c1-16)-.."; do
        for cmd in cancel log retry; do
            run_mbd 2 mbd-build "$cmd" "$id"
            assert_stderr_contains "invalid build id"
        done
    done
    assert_equal "$(find "$MBD_HOME" "$BATS_TEST_TMPDIR/victim" ! -name '*.log' | sort)" "$before"
    run_mbd mbd-keygen show
    # a well-formed id of no build is not found
    run_mbd 4 mbd-build cancel 99-amd64
    run_mbd 4 mbd-build log 99-amd64
    run_mbd 4 mbd-build retry 99-amd64
}

@test "as root, mbd-build refuses to build without build.user (exit 14); the request stays queued" {
    [ "$(id -u)" = 0 ] || skip "needs root"
    queued_upload
    run_mbd 14 mbd-build -o build.user= run
    assert_stderr_contains "refusing to build as root: set 'build.user'"
    assert_equal "$(ls "$MBD_HOME/var/spool/build" | wc -l)" 1
    assert_equal "$(mbd-build list --json | jq length)" 0
}

@test "as root, a home the build user cannot reach is refused up front (exit 14), naming the directory" {
    [ "$(id -u)" = 0 ] || skip "needs root"
    mbd_test_user mbdt-reach
    queued_upload
    chmod 700 "$BATS_TEST_TMPDIR"
    run_mbd 14 mbd-build -o build.user=mbdt-reach run
    chmod 755 "$BATS_TEST_TMPDIR"
    assert_stderr_contains "build user 'mbdt-reach' cannot enter '$BATS_TEST_TMPDIR' (mode 0700, owner root)"
    assert_stderr_contains "chmod o+x '$BATS_TEST_TMPDIR'"
    assert_equal "$(ls "$MBD_HOME/var/spool/build" | wc -l)" 1
    assert_equal "$(mbd-build list --json | jq length)" 0
}

@test "a build that fails before sbuild starts (no such build user) fails its upload, with the reason" {
    queued_upload
    run_mbd 14 mbd-build -o build.user=mbdt-nosuchuser run
    assert_stderr_contains "build user 'mbdt-nosuchuser' does not exist"
    run_mbd mbd-build list --json
    assert_equal "$(jq -r '.[0].status' <<<"$output")" failed
    assert_equal "$(ls "$MBD_HOME/var/spool/build")" ""
    # its failed result, signed like the others, went to our incoming/
    run_mbd mbd-incoming run
    assert_output_contains "failed 1"
    run_mbd mbd-incoming uploads --json
    assert_equal "$(jq -r '.[0].status' <<<"$output")" failed
    [[ "$(jq -r '.[0].message' <<<"$output")" == *"build user 'mbdt-nosuchuser' does not exist"* ]]
    run_mbd mbd-incoming events --type FAILED --json
    [[ "$(jq -r 'map(.message) | join("\n")' <<<"$output")" == *"build user 'mbdt-nosuchuser' does not exist"* ]]
    # nothing left to build: the next pass has nothing to do
    run_mbd mbd-build run
    assert_equal "$output" "started 0, successful 0, failed 0"
}

@test "a peer's request naming a path of this host (its home) fails without sbuild; the peer gets why" {
    mbd-remote status >/dev/null # what a peer adding us reads
    instance a
    interconnect a home
    MBDT_REQUEST_SOURCES="deb file://$MBD_HOME bookworm main" route a r1 >/dev/null
    run_mbd on a mbd-remote run
    run_mbd mbd-incoming run # the request, from an active remote, into the build spool
    run_mbd 11 mbd-build run
    assert_stderr_contains "apt source 'file://$MBD_HOME' is not an http or https URL"
    key=$(request_key a r1)
    # sbuild never ran: no config, no command line, nothing mounted
    [ ! -e "$MBD_HOME/var/builds/$key/sbuild.conf" ]
    [ ! -e "$MBD_HOME/var/builds/$key/sbuild.command" ]
    result=$(find "$MBD_HOME/var/spool/outgoing/a" -name '*.mbd-result.changes')
    grep -q '^Mbd-Build-Status: failed$' "$result"
    grep -q "^Mbd-Build-Reason: .*file://$MBD_HOME.* is not an http or https URL" "$result"
    gpg --dearmor <"$BATS_TEST_TMPDIR/instance.asc" >"$BATS_TEST_TMPDIR/instance.gpg"
    gpgv --keyring "$BATS_TEST_TMPDIR/instance.gpg" "$result" 2>/dev/null
    # the key ring's secrets are in no log and no result
    secret=$(sed -n 's/.*(d #\([0-9A-F]*\)#).*/\1/p' "$MBD_HOME"/gnupg/private-keys-v1.d/*.key)
    [ -n "$secret" ]
    run ! grep -rqF "$secret" "$MBD_HOME/var/builds" "$MBD_HOME/var/spool/outgoing"
}
