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
teardown() { remote_teardown; }

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
