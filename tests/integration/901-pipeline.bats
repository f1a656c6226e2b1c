#!/usr/bin/env bats
# bats file_tags=slow
# The main job, end to end with real tools: dput -> mbd-incoming -> mbd-build
# (sbuild, unshare, unprivileged) -> mbd-incoming -> installed -> apt-get.

load ../helpers
load ../lib/debian
load ../lib/pipeline

setup() {
    mbd_setup
    mbdt_pipeline_instance test
    mbdt_build_user
    mbd_cached_chroot bookworm amd64
    export PKG="$BATS_TEST_TMPDIR/pkg"
    mkdir -p "$PKG"
}

teardown() {
    mbd_teardown
    mbdt_apt_cacher_stop "$BATS_TEST_TMPDIR/acng" # (a proxy a failed test started)
    mbd_remove_test_users
}

# The passes the systemd units run, in order.
chain() {
    run_mbd mbd-incoming run
    run_mbd mbd-build run
    run_mbd mbd-incoming run
}

# An apt root whose sources are what `mbd-repo sources-list` tells users to paste.
apt_sandbox() {
    mbdt_apt_sandbox "$BATS_TEST_TMPDIR/apt" "$BATS_TEST_TMPDIR/instance.asc"
    mbd-repo sources-list test --codename bookworm --suite unstable --signed-by "$BATS_TEST_TMPDIR/instance.asc" \
        >"$BATS_TEST_TMPDIR/apt/etc/apt/sources.list.d/test.sources"
}

@test "an upload with an arch:any and an arch:all package is built, installed and installable with apt" {
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable --arch-all)
    mbdt_dput "$changes"
    chain
    assert_output_contains "installed 1"
    run_mbd mbd-incoming uploads --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].status')" installed
    run_mbd mbd-incoming events --source tiny --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(.type) | reverse | join(" ")')" "PACKAGING ROUTED BUILDING BUILT INSTALLED"
    run_mbd mbd-build list --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].status')" successful
    # the build ran as the unprivileged build user, never as root
    log=$(printf '%s' "$output" | jq -r '.[0].log')
    [ "$(stat -c %U "$(dirname "$log")")" = "$MBD_BUILD_USER" ]
    grep -q '^Lintian: pass' "$log"
    # the chroot has all it needs: sbuild installs nothing (no dummy package, no resolver)
    grep -q '^mbd: the chroot has every build dependency installed' "$log"
    refute_grep sbuild-build-depends-main-dummy "$log"
    run_mbd mbd-repo ls --json
    printf '%s' "$output" | jq -e 'map(select(.source == "tiny")) | length == 1'
    run_mbd mbd-repo check test

    apt_sandbox
    mbdt_apt "$BATS_TEST_TMPDIR/apt" update
    mbdt_apt "$BATS_TEST_TMPDIR/apt" install tiny tiny-data
    [ "$(cat "$BATS_TEST_TMPDIR/apt/usr/share/tiny/data")" = "tiny 1.0~test12+1" ]
    [ -f "$BATS_TEST_TMPDIR/apt/usr/share/tiny-data/data" ]
}

@test "a package build-depending on one we published earlier in the suite builds against it" {
    mbdt_dput "$(mbdt_source_package "$PKG" mbdtbase 1.0~test12+1 bookworm-test-unstable)"
    chain
    assert_output_contains "installed 1"
    mbdt_dput "$(mbdt_source_package "$PKG" mbdtuser 1.0~test12+1 bookworm-test-unstable --depends mbdtbase)"
    chain
    assert_output_contains "installed 1"
    log=$(mbd-build list --json | jq -r 'map(select(.source == "mbdtuser"))[0].log')
    # mbdtbase is not in the chroot: the session's setup installs it from our archive, with
    # apt-get satisfy (its sources, key and pins copied in), and sbuild's resolver does nothing
    grep -qE "^mbd: build dependencies: build-essential, fakeroot, lintian, .*mbdtbase" "$log"
    grep -qE "Unpacking mbdtbase \(1.0~test12\+1\)" "$log"
    grep -q "^Null resolver: not installing lintian dependencies" "$log"
    refute_grep '^Setup apt archive' "$log"
    refute_grep '^mbd: the chroot has every build dependency installed' "$log"
    # one that is nowhere fails the build, and says which
    mbdt_dput "$(mbdt_source_package "$PKG" mbdtunmet 1.0~test12+1 bookworm-test-unstable --depends mbdt-not-anywhere)"
    chain
    assert_output_contains "failed 1"
    [ "$(mbd-build list --json | jq -r 'map(select(.source == "mbdtunmet"))[0].message')" = \
        "dependency installation failed: Depends: mbdt-not-anywhere but it is not installable" ]
}

@test "an upload builds on an imported archive: sbuild installs its build dependency from what was imported" {
    mbdt_reprepro "$BATS_TEST_TMPDIR/old" bookworm-old-unstable
    mbdt_reprepro_include "$BATS_TEST_TMPDIR/old" bookworm-old-unstable oldbase 1.0-1 --no-all
    run_mbd mbd-repo import "$BATS_TEST_TMPDIR/old/archive" --repository test --keyring "$BATS_TEST_TMPDIR/old/key.asc"
    assert_output_contains "bookworm-old-unstable -> bookworm-test-unstable: 1 installed"
    mbdt_dput "$(mbdt_source_package "$PKG" mbdtonold 1.0~test12+1 bookworm-test-unstable --depends oldbase)"
    chain
    assert_output_contains "installed 1"
    log=$(mbd-build list --json | jq -r 'map(select(.source == "mbdtonold"))[0].log')
    # oldbase is not in the chroot: the session installs it from the imported suite
    grep -qE "Unpacking oldbase \(1.0-1\)" "$log"
    stop_gpg_agent "$BATS_TEST_TMPDIR/old/gnupg"
}

@test "apt.proxy: build dependencies come through a caching proxy once; apt still checks what it serves" {
    local acng=$BATS_TEST_TMPDIR/acng deb
    MBD_APT_PROXY=$(mbdt_apt_cacher "$acng")
    export MBD_APT_PROXY
    # bc is not in the chroot: the session downloads it, through the proxy
    mbdt_dput "$(mbdt_source_package "$PKG" mbdtcalc 1.0~test12+1 bookworm-test-unstable --depends bc)"
    chain
    assert_output_contains "installed 1"
    log=$(mbd-build list --json | jq -r 'map(select(.version == "1.0~test12+1"))[0].log')
    grep -qE "^Get:[0-9]+ http://[^ ]+ bookworm/main amd64 bc " "$log"
    grep -qE "^Unpacking bc " "$log"
    deb=$(find "$acng/cache" -name 'bc_*_amd64.deb')
    [ -n "$deb" ]
    grep -q "|I|.*/bc_.*_amd64.deb" "$acng/log/apt-cacher.log" # fetched from the mirror, once
    mbdt_apt_cacher_stop "$acng"

    # offline, the proxy serves only its cache: the next build still gets bc (and the indices)
    MBD_APT_PROXY=$(mbdt_apt_cacher "$acng" Offlinemode=1)
    mbdt_dput "$(mbdt_source_package "$PKG" mbdtcalc 1.0~test12+2 bookworm-test-unstable --depends bc)"
    chain
    assert_output_contains "installed 1"
    log=$(mbd-build list --json | jq -r 'map(select(.version == "1.0~test12+2"))[0].log')
    grep -qE "^Unpacking bc " "$log"

    # a proxy serving a changed package fails the download (apt checks it against the signed index)
    printf 'X' | dd of="$deb" bs=1 seek=100 conv=notrunc status=none
    mbdt_dput "$(mbdt_source_package "$PKG" mbdtcalc 1.0~test12+3 bookworm-test-unstable --depends bc)"
    run_mbd mbd-incoming run
    run_mbd mbd-build run
    assert_output_contains "failed 1"
    log=$(mbd-build list --json | jq -r 'map(select(.version == "1.0~test12+3"))[0].log')
    grep -qE "Hash Sum mismatch|hash sum mismatch|Hashes of expected file" "$log"
    [[ "$(mbd-build list --json | jq -r 'map(select(.version == "1.0~test12+3"))[0].message')" == \
        "dependency installation failed: E: Failed to fetch "*bc_* ]]
    mbdt_apt_cacher_stop "$acng"

    # nothing of the proxy is left in the chroot, and a malformed URL is a configuration error
    run_mbd 3 mbd-chroot -o apt.proxy='http://h;rm -rf /' check bookworm amd64
    assert_stderr_contains "apt.proxy 'http://h;rm -rf /' is not an http:// proxy URL"
    run_mbd 3 mbd-build -o apt.proxy=ftp://127.0.0.1/ run
}

@test "a failing build keeps its log, installs nothing, and says which stage failed and why" {
    mbdt_dput "$(mbdt_source_package "$PKG" broken 1.0~test12+1 bookworm-test-unstable --fail)"
    mbdt_dput "$(mbdt_source_package "$PKG" nocopy 1.0~test12+1 bookworm-test-unstable --no-copyright)"
    mbdt_dput "$(mbdt_source_package "$PKG" unmet 1.0~test12+1 bookworm-test-unstable --depends mbdt-not-anywhere)"
    run_mbd mbd-incoming run
    # a stale chroot (chroot.max_age) is not used silently: the build upgrades it in its session
    run --separate-stderr env MBD_CHROOT_MAX_AGE=1 mbd-build run
    [ "$status" -eq 0 ]
    assert_output_contains "failed 3"
    assert_stderr_contains "chroot 'bookworm/amd64' is older than chroot.max_age"
    run_mbd mbd-incoming run
    assert_output_contains "failed 3"

    # the stage and the cause, in mbd-build list, the events and the upload's record
    local reason
    declare -A want=([broken]="build failed: this build fails on purpose | "
        [nocopy]="lintian: E: no-copyright-file" [unmet]="dependency installation failed: ")
    for name in broken nocopy unmet; do
        reason=$(mbd-build list --json | jq -r --arg s "$name" 'map(select(.source == $s))[0].message')
        [[ "$reason" == "${want[$name]}"* ]] || { echo "$name: mbd-build list says '$reason'" >&2; false; }
        mbd-incoming events --type FAILED --source "$name" | grep -qF "${want[$name]}"
        mbd-incoming uploads --json | jq -r --arg s "$name" 'map(select(.source == $s))[0].message' |
            grep -qF "${want[$name]}"
    done
    mbd-build list --json | jq -r 'map(select(.source == "unmet"))[0].message' | grep -q "mbdt-not-anywhere"
    mbd-build list | grep -E "^[^ ]+ +failed +nocopy .* lintian: E: no-copyright-file$"

    run_mbd mbd-incoming uploads --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(select(.source == "broken"))[0].status')" failed
    run_mbd mbd-incoming events --type FAILED --source broken --json
    log=$(printf '%s' "$output" | jq -r 'map(select(.architecture == "amd64"))[0].detail')
    grep -q "this build fails on purpose" "$log"
    grep -q "^Calculating upgrade" "$log"
    run_mbd mbd-repo ls --json
    printf '%s' "$output" | jq -e 'map(select(.source == "broken" or .source == "nocopy" or .source == "unmet")) | length == 0'
    # retried, it fails again, and is still kept apart
    run_mbd mbd-build retry "$(mbd-incoming uploads --json | jq -r 'map(select(.source == "broken"))[0].builds[0].id')"
    run_mbd mbd-build run
    run_mbd mbd-incoming run
    [ -d "$(dirname "$(dirname "$log")")/result-amd64.1" ]
}

@test "uploads arriving while passes run are each built and installed once" {
    for n in 1 2; do
        mbdt_dput "$(mbdt_source_package "$PKG" p$n 1.0~test12+1 bookworm-test-unstable)"
    done
    # only an Architecture: all binary: sbuild's result is p3_..._all.changes
    mbdt_dput "$(mbdt_source_package "$PKG" p3 1.0~test12+1 bookworm-test-unstable --all-only)"
    mbd-incoming run >/dev/null 2>&1 & a=$!
    mbd-incoming run >/dev/null 2>&1 & b=$!
    wait $a; wait $b
    run_mbd mbd-incoming uploads --json
    assert_equal "$(printf '%s' "$output" | jq length)" 3
    mbd-build run >/dev/null 2>&1 & a=$!
    mbd-build run >/dev/null 2>&1 & b=$!
    wait $a; wait $b
    run_mbd mbd-incoming run
    run_mbd mbd-incoming uploads --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(.status) | unique | join(",")')" installed
    run_mbd mbd-build list --json
    assert_equal "$(printf '%s' "$output" | jq length)" 3
    run_mbd mbd-incoming events --type INSTALLED --json
    assert_equal "$(printf '%s' "$output" | jq length)" 3
}

@test "a queued build can be cancelled: the upload fails, nothing is built or installed" {
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)"
    run_mbd mbd-incoming run
    id=$(mbd-incoming uploads --json | jq -r '.[0].builds[0].id')
    run_mbd mbd-build cancel "$id"
    run_mbd mbd-build list --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].status')" cancelled
    assert_equal "$(ls "$MBD_HOME/var/spool/build")" ""
    run_mbd mbd-incoming run
    assert_output_contains "failed 1"
    run_mbd mbd-incoming uploads --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].builds[0].message')" cancelled
    run_mbd 4 mbd-build cancel "$id"
}

@test "auto-ports: once installed, the source is ported, built and installed in the other distribution" {
    # the port's changelog entry is signed off by the instance: lintian wants a real mail domain
    export MBD_EMAIL=mbd@example.org
    mbd-repo setup other --codename bookworm --arch amd64 --no-check >/dev/null
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable \
        --option auto-ports=bookworm-other-unstable)"
    chain
    assert_output_contains "installed 1"
    run_mbd mbd-incoming events --type PORTING --json
    printf '%s' "$output" | jq -e '.[0].version == "1.0~other12+1"'
    chain
    assert_output_contains "installed 1"
    run_mbd mbd-repo show tiny --json
    printf '%s' "$output" | jq -e 'map(select(.distribution == "bookworm-other-unstable" and .version == "1.0~other12+1")) | length == 1'
    run_mbd mbd-repo check other
}

@test "autopkgtest-mode: the package's tests run unprivileged after the build; errfail fails a build whose test fails" {
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable \
        --test 'grep -q "tiny 1.0" /usr/share/tiny/data' --option autopkgtest-mode=errfail)"
    chain
    assert_output_contains "installed 1"
    log=$(mbd-build list --json | jq -r '.[0].log')
    grep -q '^Autopkgtest: pass' "$log"
    grep -qE '^command1 +PASS' "$log"

    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test12+2 bookworm-test-unstable \
        --test 'grep -q "not there" /usr/share/tiny/data' --option autopkgtest-mode=errfail)"
    chain
    assert_output_contains "failed 1"
    log=$(mbd-build list --json | jq -r 'map(select(.version == "1.0~test12+2"))[0].log')
    grep -q '^Autopkgtest: fail' "$log"
    grep -qE '^command1 +FAIL' "$log"
    run_mbd mbd-repo show tiny --json
    printf '%s' "$output" | jq -e 'map(select(.distribution == "bookworm-test-unstable"))[0].version == "1.0~test12+1"'
}

@test "a build sees this instance's repositories read-only: a needs-root autopkgtest can neither change the archive nor read the key ring" {
    # as the shipped units have it: the build user owns the home (autopkgtest's testbed root is that user)
    chown -R "$MBD_BUILD_USER:" "$MBD_HOME/repositories" "$MBD_HOME/gnupg"
    local repo="$MBD_HOME/repositories/test" release="$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    cp "$release" "$BATS_TEST_TMPDIR/Release.before"
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable \
        --restrictions 'needs-root, allow-stderr' \
        --option autopkgtest-mode=errfail \
        --test "touch $repo/mbdt-written || :; echo changed >>$release || :; cat $MBD_HOME/gnupg/private-keys-v1.d/* || :")"
    run_mbd mbd-incoming run
    run_mbd mbd-build run
    log=$(mbd-build list --json | jq -r '.[0].log')
    grep -qE '^command1 +PASS' "$log"
    # each write was refused by the read-only mount, and the key ring is not in the testbed
    grep -q "mbdt-written.*Read-only file system" "$log"
    grep -q "Release.*Read-only file system" "$log"
    [ ! -e "$repo/mbdt-written" ]
    cmp "$release" "$BATS_TEST_TMPDIR/Release.before"
    secret=$(sed -n 's/.*(d #\([0-9A-F]*\)#).*/\1/p' "$MBD_HOME"/gnupg/private-keys-v1.d/*.key)
    [ -n "$secret" ]
    run ! grep -rqF "$secret" "$MBD_HOME/var/builds"
    run_mbd mbd-incoming run
    assert_output_contains "installed 1"
    run_mbd mbd-repo check test
}
