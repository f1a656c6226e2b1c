#!/usr/bin/env bats
# mbd-repo check finds what is wrong; a writer killed anywhere (kill -9) leaves an
# archive apt accepts, and the next publish makes check pass again.

load ../helpers
load ../lib/debian
load ../lib/repo

# A repository 'crash' with a small layout (unstable -> testing, one rollback each).
small_repository() {
    run_mbd mbd-repo layout add tiny
    run_mbd mbd-repo layout suite tiny testing --rollbacks 1
    run_mbd mbd-repo layout suite tiny unstable --uploadable --migrates-to testing --rollbacks 1
    run_mbd mbd-repo layout rules tiny --version-rule '~%ID%%CODEVERSION%\+[1-9]'
    run_mbd mbd-repo create crash --layout tiny --dist bookworm
    export MBDT_REPO=crash
}

# After a kill: apt-get update accepts the archive; publish and check pass.
after_kill() {
    local apt=$1
    mbdt_apt_ok "$apt" update
    run_mbd mbd-repo publish crash
    run_mbd mbd-repo check crash
    mbdt_assert_release_ok bookworm-crash-testing
}

# The next operation of the cycle: migrate to testing, or remove from testing.
next_operation() {
    if mbd-repo show hello --json 2>/dev/null | jq -e '.[] | select(.distribution == "bookworm-crash-testing")' >/dev/null; then
        echo "remove hello bookworm-crash-testing"
    else
        echo "migrate hello bookworm-crash-unstable"
    fi
}

@test "check passes on a good archive and reports each kind of damage" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo check --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].ok')" true
    repo="$MBD_HOME/repositories/test"
    deb="$repo/pool/main/h/hello/hello_1.0-1~test12+1_amd64.deb"
    cp "$deb" "$BATS_TEST_TMPDIR/saved.deb"
    printf 'x' >>"$deb"
    run_mbd 12 mbd-repo check test
    assert_stderr_contains "pool file 'pool/main/h/hello/hello_1.0-1~test12+1_amd64.deb' does not match its size and SHA256"
    cp "$BATS_TEST_TMPDIR/saved.deb" "$deb"
    touch "$repo/pool/main/h/hello/stray.deb"
    run_mbd 12 mbd-repo check test
    assert_stderr_contains "pool file 'pool/main/h/hello/stray.deb' is not in the state database"
    rm "$repo/pool/main/h/hello/stray.deb"
    pk="$repo/dists/bookworm-test-unstable/main/binary-amd64/Packages.xz"
    cp "$pk" "$BATS_TEST_TMPDIR/Packages"
    rm "$pk"
    printf 'Package: intruder\n\n' | xz >"$pk"
    run_mbd 12 mbd-repo check test --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].ok')" false
    assert_stderr_contains "'main/binary-amd64/Packages.xz' does not match its size and checksums in Release"
    assert_stderr_contains "'main/binary-amd64/Packages.xz' does not decompress to 'main/binary-amd64/Packages'"
    rm "$pk"
    cp "$BATS_TEST_TMPDIR/Packages" "$pk"
    rm -r "$repo/dists/bookworm-test-unstable/main/source/by-hash"
    run_mbd 12 mbd-repo check test
    assert_stderr_contains "'main/source/Sources.xz' has no by-hash/SHA256 copy"
    sed -i 's/^Label: test/Label: forged/' "$repo/dists/bookworm-test-unstable/Release"
    run_mbd 12 mbd-repo check test
    assert_stderr_contains "Release.gpg: bad signature"
    assert_stderr_contains "Release has Label: 'forged', expected 'test'"
    # the repository's status records the failed check
    run_mbd mbd-repo repository show test --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.check_flag')" failed-reactivate
    run_mbd mbd-repo publish test --rebuild --dist bookworm-test-unstable
    run_mbd mbd-repo check test
    run_mbd mbd-repo repository show test --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.status')" active
}

@test "unpublished changes fail check until the next publish" {
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable)
    mbdt_sign_changes "$changes"
    run_mbd mbd-repo install --no-publish "$changes"
    run_mbd 12 mbd-repo check test
    assert_stderr_contains "'bookworm-test-unstable': has changes that are not published yet"
    run_mbd mbd-repo publish
    assert_output_contains "bookworm-test-unstable"
    run_mbd mbd-repo check test
}

@test "an index that returns to an earlier content replaces its by-hash file, also one a power cut left empty" {
    # (found by 923: a power cut kept the by-hash name of an interrupted publish but lost
    # its data; the next publish built the same index and kept the empty file)
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable)
    mbdt_sign_changes "$changes"
    run_mbd mbd-repo install "$changes"
    dir="$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/source"
    with=$(sha256sum "$dir/Sources.gz" | cut -d' ' -f1)
    run_mbd mbd-repo remove hello bookworm-test-unstable
    [ "$(sha256sum "$dir/Sources.gz" | cut -d' ' -f1)" != "$with" ]
    # the superseded file is kept for its grace period: empty it, as a lost write would
    [ -s "$dir/by-hash/SHA256/$with" ]
    : >"$dir/by-hash/SHA256/$with"
    run_mbd mbd-repo install "$changes"
    assert_equal "$(sha256sum "$dir/Sources.gz" | cut -d' ' -f1)" "$with"
    assert_equal "$(sha256sum <"$dir/by-hash/SHA256/$with" | cut -d' ' -f1)" "$with"
    run_mbd mbd-repo check test
    mbdt_assert_release_ok bookworm-test-unstable
}

@test "kill -9 at every step of a publish and of an install leaves a valid archive" {
    small_repository
    mbdt_install hello 1.0-1~crash12+1 bookworm-crash-unstable
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-crash-unstable bookworm-crash-testing bookworm-crash-testing-rollback0
    mbdt_apt_ok "$apt" update
    kills=0
    # every fault point of the publish that follows a migration (then a removal, ...)
    n=1
    while :; do
        read -ra op <<<"$(next_operation)"
        run env MBD_FAULT="publish:$n" mbd-repo "${op[@]}"
        [ "$status" -eq 0 ] && break
        [ "$status" -eq 137 ] || { echo "mbd-repo ${op[*]}: exit $status: $output" >&2; false; }
        kills=$((kills + 1))
        after_kill "$apt"
        n=$((n + 1))
    done
    # every fault point of an install: pool copies, the transaction
    changes=$(mbdt_build_package "$MBDT_PKG" hello 1.0-2~crash12+1 --dist bookworm-crash-unstable)
    mbdt_sign_changes "$changes"
    n=1
    while :; do
        run env MBD_FAULT="install:$n" mbd-repo install "$changes"
        [ "$status" -eq 0 ] && break
        [ "$status" -eq 137 ] || { echo "mbd-repo install: exit $status: $output" >&2; false; }
        kills=$((kills + 1))
        after_kill "$apt"
        n=$((n + 1))
    done
    [ "$kills" -ge 20 ]
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello
}

@test "kill -9 at every step of an install --each --link batch leaves none of the batch, and its files intact" {
    small_repository
    mbdt_install hello 1.0-1~crash12+1 bookworm-crash-unstable
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-crash-unstable
    mbdt_apt_ok "$apt" update
    batch=()
    for p in alpha beta gamma; do
        batch+=("$(mbdt_build_package "$MBDT_PKG" "$p" 1.0~crash12+1 --dist bookworm-crash-unstable --no-all)")
    done
    sums=$(cd "$(dirname "${batch[0]}")" && sha256sum ./*.deb ./*.dsc)
    held() {
        mbd-repo ls crash --dist bookworm-crash-unstable --json |
            jq '[.[] | select(.source == "alpha" or .source == "beta" or .source == "gamma")] | length'
    }
    kills=0
    n=1
    while :; do
        run env MBD_FAULT="install:$n" mbd-repo install --each --link "${batch[@]}"
        [ "$status" -eq 0 ] && break
        [ "$status" -eq 137 ] || { echo "mbd-repo install --each: exit $status: $output" >&2; false; }
        kills=$((kills + 1))
        # one batch, one transaction: killed before its commit, none of it is in
        assert_equal "$(held)" 0
        after_kill "$apt"
        n=$((n + 1))
    done
    # a pool point per file (3 uploads, 3 files each) and a commit point per upload
    [ "$kills" -ge 12 ]
    assert_equal "$(held)" 3
    # --link: the pool holds the uploaded files themselves (a file of this user that only it can change)
    deb=alpha_1.0~crash12+1_amd64.deb
    assert_equal "$(stat -c %i "$MBD_HOME/repositories/crash/pool/main/a/alpha/$deb")" \
        "$(stat -c %i "$(dirname "${batch[0]}")/$deb")"
    # The publishes after the kills deleted the pool's links, never the files they linked.
    assert_equal "$(cd "$(dirname "${batch[0]}")" && sha256sum ./*.deb ./*.dsc)" "$sums"
    run_mbd mbd-repo check crash
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install alpha gamma
}

@test "kill -9 at random moments of installs, migrations and removals leaves a valid archive" {
    small_repository
    mbdt_install hello 1.0-1~crash12+1 bookworm-crash-unstable
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-crash-unstable bookworm-crash-testing bookworm-crash-testing-rollback0
    for _ in $(seq 1 24); do
        read -ra op <<<"$(next_operation)"
        mbd-repo "${op[@]}" >/dev/null 2>&1 &
        pid=$!
        sleep "0.$((RANDOM % 25))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        after_kill "$apt"
    done
    mbdt_apt_ok "$apt" install hello
}

@test "writers of one repository queue on its lock; readers never wait" {
    a=$(mbdt_build_package "$MBDT_PKG" alpha 1.0~test12+1 --dist bookworm-test-unstable --no-all)
    b=$(mbdt_build_package "$MBDT_PKG" beta 1.0~test12+1 --dist bookworm-test-unstable --no-all)
    mbd-repo install "$a" >"$BATS_TEST_TMPDIR/a.log" 2>&1 &
    pa=$!
    mbd-repo install "$b" >"$BATS_TEST_TMPDIR/b.log" 2>&1 &
    pb=$!
    wait "$pa"
    wait "$pb"
    assert_equal "$(grep -c '^Package: ' "$(index_file "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/binary-amd64/Packages")")" 2
    run_mbd mbd-repo check test
    # while another process holds the lock, a writer waits and a reader does not
    setsid flock "$MBD_HOME/var/lock/repository-test.lock" sleep 30 &
    holder=$!
    sleep 0.5
    run timeout 2 mbd-repo remove alpha bookworm-test-unstable
    assert_equal "$status" 124
    run timeout 2 mbd-repo show alpha
    assert_equal "$status" 0
    run timeout 2 mbd-repo sources-list test
    assert_equal "$status" 0
    kill -- "-$holder"
    wait "$holder" || true
    run_mbd mbd-repo remove alpha bookworm-test-unstable
}
