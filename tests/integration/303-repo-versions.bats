#!/usr/bin/env bats
# Versions in distributions: rollbacks, migrate, remove, ordering, rules, pool files.

load ../helpers
load ../lib/debian
load ../lib/repo

# "version dist" lines of a source, from show --json
versions() {
    run_mbd mbd-repo show "$1" --json
    printf '%s' "$output" | jq -r '.[] | "\(.version) \(.distribution)"'
}

@test "a new version pushes the previous ones down the rollbacks; the oldest is dropped with its files" {
    run_mbd mbd-repo layout add small --from Default
    run_mbd mbd-repo layout suite small unstable --uploadable --migrates-to testing --rollbacks 2
    run_mbd mbd-repo create small --layout small --dist bookworm:amd64
    run_mbd mbd-repo repository show small --json
    [ "$(printf '%s' "$output" | jq -r '.published | length')" = 39 ] # 6 suites, 33 rollbacks (unstable: 2 now)
    for i in 1 2 3 4; do
        changes=$(mbdt_build_package "$MBDT_PKG" roll "1.$i~small12+1" --dist bookworm-small-unstable)
        mbdt_sign_changes "$changes"
        run_mbd mbd-repo -o publish.pool_grace=0 install "$changes"
    done
    assert_equal "$(versions roll)" "1.4~small12+1 bookworm-small-unstable
1.3~small12+1 bookworm-small-unstable-rollback0
1.2~small12+1 bookworm-small-unstable-rollback1"
    pool="$MBD_HOME/repositories/small/pool/main/r/roll"
    [ -f "$pool/roll_1.2~small12+1_amd64.deb" ]
    [ ! -e "$pool/roll_1.1~small12+1_amd64.deb" ]
    [ ! -e "$pool/roll_1.1~small12+1.dsc" ]
    grep -q '^Version: 1.3~small12+1$' "$(index_file "$MBD_HOME/repositories/small/dists/bookworm-small-unstable-rollback0/main/binary-amd64/Packages")"
    grep -q '^Version: 1.3~small12+1$' "$(index_file "$MBD_HOME/repositories/small/dists/bookworm-small-unstable-rollback0/main/source/Sources")"
    run_mbd mbd-repo check small
}

@test "migrate copies a version along the layout; a suite that does not migrate says so" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo migrate hello bookworm-test-unstable
    assert_output_contains "bookworm-test-unstable -> bookworm-test-testing"
    run_mbd mbd-repo migrate hello bookworm-test-testing
    run_mbd 11 mbd-repo migrate hello bookworm-test-stable
    assert_stderr_contains "suite 'stable' does not migrate"
    run_mbd 5 mbd-repo migrate hello bookworm-test-unstable
    assert_stderr_contains "holds hello 1.0-1~test12+1 already"
    assert_equal "$(versions hello | sort)" "1.0-1~test12+1 bookworm-test-stable
1.0-1~test12+1 bookworm-test-testing
1.0-1~test12+1 bookworm-test-unstable"
    # a newer version in unstable; testing's previous version goes to its rollback0 on migration
    mbdt_install hello 1.0-2~test12+1 bookworm-test-unstable
    run_mbd mbd-repo migrate hello bookworm-test-unstable
    assert_equal "$(versions hello | grep testing)" "1.0-2~test12+1 bookworm-test-testing
1.0-1~test12+1 bookworm-test-testing-rollback0"
    # the same file is in the pool once, named by several distributions
    assert_equal "$(find "$MBD_HOME/repositories/test/pool" -name 'hello_1.0-1~test12+1_amd64.deb' | wc -l)" 1
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-testing bookworm-test-stable
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello=1.0-2~test12+1
    run_mbd mbd-repo check test
    run sqlite3 "$MBD_HOME/config.sqlite" "SELECT type, distribution FROM events ORDER BY id"
    [[ "$output" == *"MIGRATED|bookworm-test-testing"* ]]
    [[ "$output" == *"INSTALLED|bookworm-test-unstable"* ]]
}

@test "remove takes a version out of one distribution; the others keep it" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo migrate hello bookworm-test-unstable
    run_mbd 4 mbd-repo remove hello bookworm-test-unstable --version 9.9
    assert_stderr_contains "holds hello 1.0-1~test12+1, not 9.9"
    run_mbd mbd-repo -o publish.pool_grace=0 remove hello bookworm-test-unstable --version 1.0-1~test12+1
    assert_equal "$(versions hello)" "1.0-1~test12+1 bookworm-test-testing"
    refute_grep '^Package: hello' "$(index_file "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/binary-amd64/Packages")"
    [ -f "$MBD_HOME/repositories/test/pool/main/h/hello/hello_1.0-1~test12+1.dsc" ]
    run_mbd mbd-repo -o publish.pool_grace=0 remove hello bookworm-test-testing
    run_mbd 4 mbd-repo show hello
    [ ! -e "$MBD_HOME/repositories/test/pool/main/h/hello" ]
    run_mbd 4 mbd-repo remove hello bookworm-test-testing
    run sqlite3 "$MBD_HOME/config.sqlite" "SELECT COUNT(*) FROM events WHERE type = 'REMOVED'"
    assert_equal "$output" 2
    run_mbd mbd-repo check test
}

@test "a lower or equal version cannot replace a higher one" {
    mbdt_install hello 1.0-2~test12+1 bookworm-test-unstable
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable)
    mbdt_sign_changes "$changes"
    run_mbd 7 mbd-repo install "$changes"
    assert_stderr_contains "holds hello 1.0-2~test12+1, which is not older than 1.0-1~test12+1"
    run_mbd 7 mbd-repo install "$MBDT_PKG/hello_1.0-2~test12+1_amd64.changes"
    # the epoch wins over everything after it
    mbdt_install hello 1:0.1-1~test12+1 bookworm-test-unstable
    assert_equal "$(versions hello | head -1)" "1:0.1-1~test12+1 bookworm-test-unstable"
    grep -q '^Version: 1:0.1-1~test12+1$' "$(index_file "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/binary-amd64/Packages")"
}

@test "the layout's version rule, uploadable suites and the upload's checksums are enforced" {
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1 --dist bookworm-test-unstable)
    mbdt_sign_changes "$changes"
    run_mbd 7 mbd-repo install "$changes"
    assert_stderr_contains "does not match the version rule '~test12\+[1-9]'"
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-experimental)
    mbdt_sign_changes "$changes"
    run_mbd 7 mbd-repo install "$changes"
    assert_stderr_contains "version rule '~test12\+0'"
    run_mbd 7 mbd-repo install "$changes" --dist bookworm-test-stable
    assert_stderr_contains "'bookworm-test-stable' is not uploadable"
    run_mbd 4 mbd-repo install "$changes" --dist bookworm-nope-unstable
    # a file changed after signing
    changes=$(mbdt_build_package "$MBDT_PKG" other 2.0~test12+1 --dist bookworm-test-unstable)
    mbdt_sign_changes "$changes"
    printf 'x' >>"$MBDT_PKG/other_2.0~test12+1_amd64.deb"
    run_mbd 7 mbd-repo install "$changes"
    assert_stderr_contains "'other_2.0~test12+1_amd64.deb' has"
    run_mbd mbd-repo ls test
    assert_equal "$output" ""
    run_mbd mbd-repo check test
}

@test "a pool file of the same name with other content is refused" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    # another upstream tarball under the same name (same files, other bytes)
    orig="$MBDT_PKG/hello_1.0.orig.tar.gz"
    old=$(sha256sum <"$orig")
    tar -C "$MBDT_PKG" --exclude=debian --mtime=@86400 -cf - hello-1.0 | gzip -9n >"$orig"
    [ "$(sha256sum <"$orig")" != "$old" ]
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-2~test12+1 --dist bookworm-test-unstable)
    mbdt_sign_changes "$changes"
    run_mbd 5 mbd-repo install "$changes"
    assert_stderr_contains "pool file 'pool/main/h/hello/hello_1.0.orig.tar.gz' exists with other content"
    assert_equal "$(versions hello)" "1.0-1~test12+1 bookworm-test-unstable"
    run_mbd mbd-repo check test
}

@test "a -2 upload without the orig tarball reuses the one in the pool" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    tree="$MBDT_PKG/hello-1.0"
    sed -i 's/1.0-1~test12+1/1.0-2~test12+1/' "$tree/debian/changelog"
    (cd "$tree" && dpkg-buildpackage -us -uc -d -sd >/dev/null 2>&1)
    changes="$MBDT_PKG/hello_1.0-2~test12+1_amd64.changes"
    refute_grep 'orig.tar.gz' "$changes"
    mbdt_sign_changes "$changes"
    run_mbd mbd-repo install "$changes"
    grep -q 'hello_1.0.orig.tar.gz' "$(index_file "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/source/Sources")"
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable
    mbdt_apt_ok "$apt" update
    (cd "$BATS_TEST_TMPDIR" && mbdt_apt_ok "$apt" source hello)
    run_mbd mbd-repo check test
}

@test "binaries of another architecture join the source version later" {
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable --arch amd64)
    mbdt_sign_changes "$changes"
    run_mbd mbd-repo install "$changes"
    # the repository publishes amd64 only: an i386 build is refused
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable --arch i386 --binary-only --no-all)
    mbdt_sign_changes "$changes"
    run_mbd 7 mbd-repo install "$changes"
    assert_stderr_contains "is for architecture 'i386', not one of 'bookworm-test-unstable' (amd64)"
    # binaries already there are refused
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable --binary-only)
    mbdt_sign_changes "$changes"
    run_mbd 5 mbd-repo install "$changes"
    assert_stderr_contains "has a binary package"
}

@test "an architecture built later joins the source version in every distribution holding it" {
    run_mbd mbd-repo dist add trixie --source debian-bookworm --arch amd64,i386
    run_mbd mbd-repo create multi --dist trixie
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~multi12+1 --dist trixie-multi-unstable --arch amd64)
    mbdt_sign_changes "$changes"
    run_mbd mbd-repo install "$changes"
    run_mbd mbd-repo migrate hello trixie-multi-unstable
    dists="$MBD_HOME/repositories/multi/dists"
    refute_grep '^Architecture: i386' "$(index_file "$dists/trixie-multi-testing/main/binary-i386/Packages")"
    grep -q '^Package: hello-doc$' "$(index_file "$dists/trixie-multi-testing/main/binary-i386/Packages")"
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~multi12+1 --dist trixie-multi-unstable --arch i386 --binary-only --no-all)
    mbdt_sign_changes "$changes"
    run_mbd mbd-repo install "$changes"
    for d in trixie-multi-unstable trixie-multi-testing; do
        grep -q '^Architecture: i386' "$(index_file "$dists/$d/main/binary-i386/Packages")"
        grep -q 'hello_1.0-1~multi12+1_i386.deb' "$(index_file "$dists/$d/main/binary-i386/Packages")"
        grep -qE '^usr/bin/hello +misc/hello$' "$(index_file "$dists/$d/main/Contents-i386")"
        refute_grep '_i386.deb' "$(index_file "$dists/$d/main/binary-amd64/Packages")"
    done
    run_mbd mbd-repo check multi
}

@test "debdiff: what devscripts' debdiff says of the same pool files, by versions or by distributions" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    mbdt_install hello 1.0-2~test12+1 bookworm-test-unstable --content "hello, again"
    pool="$MBD_HOME/repositories/test/pool/main/h/hello"
    run --separate-stderr debdiff "$pool/hello_1.0-1~test12+1.dsc" "$pool/hello_1.0-2~test12+1.dsc"
    [ "$status" -eq 1 ]
    expected=$output
    run_mbd mbd-repo debdiff hello 1.0-1~test12+1 1.0-2~test12+1
    assert_equal "$output" "$expected"
    assert_output_contains "hello, again"
    run_mbd mbd-repo debdiff hello --dist bookworm-test-unstable-rollback0 --dist bookworm-test-unstable
    assert_equal "$output" "$expected"
    # the binaries of amd64 (with the arch: all ones)
    run --separate-stderr debdiff --from "$pool"/*_1.0-1~test12+1_{amd64,all}.deb --to "$pool"/*_1.0-2~test12+1_{amd64,all}.deb
    [ "$status" -eq 1 ]
    expected=$output
    run_mbd mbd-repo debdiff hello 1.0-1~test12+1 1.0-2~test12+1 --binary amd64
    assert_equal "$output" "$expected"
    # the same version twice: no difference, said so
    run_mbd mbd-repo debdiff hello 1.0-2~test12+1 1.0-2~test12+1
    assert_stderr_contains "do not differ"
    run_mbd 4 mbd-repo debdiff hello 1.0-1~test12+1 9.9
    assert_stderr_contains "no hello 9.9 in any repository"
    run_mbd 4 mbd-repo debdiff hello --dist bookworm-test-unstable --dist bookworm-test-stable
    assert_stderr_contains "'bookworm-test-stable' holds no source 'hello'"
    run_mbd 2 mbd-repo debdiff hello 1.0-1~test12+1
}
