#!/usr/bin/env bats
# End to end over two instances (slow tier): a has a repository and no chroot,
# b has a bookworm/amd64 chroot and builds for a. An upload to a is routed to
# b, built there, sent back, installed in a, and apt installs it from a.

load ../helpers
load ../lib/remote
load ../lib/debian
load ../lib/pipeline

setup() { remote_setup; }
teardown() {
    remote_teardown
    mbd_remove_test_users
}

# bats test_tags=slow
@test "an upload to a (no chroot) is built on b, installed in a, and apt installs it from a" {
    instance a
    instance b 1
    on a mbd-repo setup test --no-check --arch amd64 >/dev/null
    # a peer's builds see a's repositories only as a publishes them (b never reads a's files): this
    # package has no build dependencies, so b's build does not fetch from there
    printf 'publish.url = http://127.0.0.1:9/mbd-a\n' >>"$(home_of a)/etc/mbd.conf"
    mbd_test_user mbdt-builder
    printf 'build.user = mbdt-builder\n' >>"$(home_of b)/etc/mbd.conf"
    MBD_HOME=$(home_of b) mbd_cached_chroot bookworm amd64
    on b mbd-remote status >/dev/null
    interconnect a b
    uploader=$(mbdt_uploader_key)
    gpg --export --armor "$uploader" >uploader.asc
    run_mbd on a mbd-keygen uploader add uploader.asc --repo test
    mkdir -p pkg
    changes=$(mbdt_source_package "$PWD/pkg" hello 1.0~test12+1 bookworm-test-unstable --unsigned)
    mbdt_sign_changes "$changes" "$uploader"
    # dput's order: the files, then the .changes
    while read -r f; do
        cp "pkg/$f" "$(home_of a)/incoming/"
    done < <(mbdt_changes_files "$changes")
    cp "$changes" "$(home_of a)/incoming/"

    run_mbd on a mbd-incoming run
    assert_equal "$(on a mbd-remote routes --json | jq -r '.[0] | .state + " " + .builder')" "outgoing b"
    run_mbd on a mbd-remote run
    assert_equal "$(on a mbd-remote routes --json | jq -r '.[0].state')" sent
    run_mbd on b mbd-incoming run # the request, from an active remote, into b's build spool
    run_mbd on b mbd-build run    # built; the result goes to b's outgoing spool for a
    run_mbd on b mbd-remote run   # and into a's incoming/
    run_mbd on a mbd-incoming run # installed in a
    assert_equal "$(on a mbd-remote routes --json | jq -r '.[0].state')" returned

    on a mbd-keygen export --output archive.asc
    mbdt_apt_sandbox "$PWD/apt" "$PWD/archive.asc" "deb file://$(home_of a)/repositories/test bookworm-test-unstable main"
    mbdt_apt "$PWD/apt" update
    mbdt_apt "$PWD/apt" install -y hello
    [ "$(cat apt/usr/share/hello/data)" = "hello 1.0~test12+1" ]
}
