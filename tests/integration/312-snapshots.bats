#!/usr/bin/env bats
# mbd-repo snapshot: a distribution frozen as DIST@NAME, published once (signed,
# NotAutomatic, the same pool files and index inodes), that apt installs from, that
# installs and removes never change, whose pool files GC keeps; snapshot.keep expires
# unnamed snapshots in maintain; check verifies them; the error paths' exit codes.

load ../helpers
load ../lib/debian
load ../lib/repo

dists() { printf '%s' "$MBD_HOME/repositories/test/dists"; }

# sha256 of a snapshot's index file
index_sum() { sha256sum <"$(dists)/$1/main/binary-amd64/Packages.xz" | cut -d' ' -f1; }

@test "a snapshot is a signed NotAutomatic distribution apt installs from, linking the same index files" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo snapshot create bookworm-test-unstable rel-1.0 --json
    assert_equal "$(jq -r .snapshot <<<"$output")" bookworm-test-unstable@rel-1.0
    assert_equal "$(jq -r '[.named, .sources, .binaries] | join(" ")' <<<"$output")" "true 1 2"
    snap="$(dists)/bookworm-test-unstable@rel-1.0"
    mbdt_assert_release_ok bookworm-test-unstable@rel-1.0
    grep -qx 'Suite: bookworm-test-unstable@rel-1.0' "$snap/Release"
    grep -qx 'Codename: bookworm-test-unstable@rel-1.0' "$snap/Release"
    grep -qx 'NotAutomatic: yes' "$snap/Release"
    grep -q '^Description: .* snapshot rel-1.0$' "$snap/Release"
    refute_grep -E '^(Valid-Until|ButAutomaticUpgrades):' "$snap/Release"
    # no copies: the snapshot's indices are the distribution's files (hard links)
    for f in main/binary-amd64/Packages.xz main/source/Sources.gz main/Contents-amd64; do
        assert_equal "$(stat -c %i "$snap/$f")" "$(stat -c %i "$(dists)/bookworm-test-unstable/$f")"
    done
    # the real apt, with a sources line naming DIST@NAME
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable@rel-1.0
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello
    grep -q "hello 1.0-1~test12+1" "$apt/usr/share/hello/data"
    MBDT_APT_TOOL=apt-cache run mbdt_apt "$apt" policy hello
    assert_output_contains " 1 file:$MBD_HOME/repositories/test bookworm-test-unstable@rel-1.0/main amd64 Packages"
    run_mbd mbd-repo snapshot ls test
    assert_output_contains "bookworm-test-unstable@rel-1.0"
    assert_output_contains "named 1 sources, 2 binaries"
    run_mbd mbd-repo check test
    assert_output_contains "test: ok ("
    assert_output_contains ", 1 snapshots)"
}

@test "installs, migrations and removes never change a snapshot; GC keeps its pool files; apt still downloads them" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    mbdt_install other 1.0~test12+1 bookworm-test-unstable --no-all
    run_mbd mbd-repo snapshot create bookworm-test-unstable shipped
    before=$(index_sum bookworm-test-unstable@shipped)
    release=$(sha256sum <"$(dists)/bookworm-test-unstable@shipped/InRelease")
    mbdt_install hello 1.1-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo migrate hello bookworm-test-unstable
    run_mbd mbd-repo remove other bookworm-test-unstable
    # 1.0 went to rollback0: take it out of there too, and drop unreferenced pool files now
    run_mbd mbd-repo remove hello bookworm-test-unstable-rollback0
    run_mbd mbd-repo -o publish.pool_grace=0 maintain
    [ -n "$(find "$MBD_HOME/repositories/test/pool" -name 'hello_1.0-1~test12+1_amd64.deb')" ]
    [ -n "$(find "$MBD_HOME/repositories/test/pool" -name 'other_1.0~test12+1_amd64.deb')" ]
    assert_equal "$(index_sum bookworm-test-unstable@shipped)" "$before"
    assert_equal "$(sha256sum <"$(dists)/bookworm-test-unstable@shipped/InRelease")" "$release"
    refute_grep -q 'Version: 1.0-1' "$(index_file "$(dists)/bookworm-test-unstable/main/binary-amd64/Packages")"
    run_mbd mbd-repo ls test --dist bookworm-test-unstable
    refute_grep -q other <<<"$output"
    # a fresh apt: update and install from the snapshot, the .debs GC did not delete
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable@shipped
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello other
    grep -q "hello 1.0-1~test12+1" "$apt/usr/share/hello/data"
    (cd "$BATS_TEST_TMPDIR" && mbdt_apt_ok "$apt" source --download-only hello)
    [ -f "$BATS_TEST_TMPDIR/hello_1.0-1~test12+1.dsc" ]
    run_mbd mbd-repo check test
}

@test "snapshot remove deletes it; its pool files then go like any others" {
    mbdt_install other 1.0~test12+1 bookworm-test-unstable --no-all
    run_mbd mbd-repo snapshot create bookworm-test-unstable
    full=$(mbd-repo snapshot ls test --json | jq -r '.[0].snapshot')
    [[ "$full" =~ ^bookworm-test-unstable@[0-9]{8}-[0-9]{6}$ ]]
    run_mbd mbd-repo remove other bookworm-test-unstable
    run_mbd mbd-repo -o publish.pool_grace=0 maintain
    [ -n "$(find "$MBD_HOME/repositories/test/pool" -name 'other_*')" ]
    run_mbd mbd-repo -o publish.pool_grace=0 snapshot remove "$full"
    assert_equal "$output" "$full: removed"
    [ ! -e "$(dists)/$full" ]
    [ -z "$(find "$MBD_HOME/repositories/test/pool" -name 'other_*')" ]
    run_mbd mbd-repo snapshot ls --json
    assert_equal "$output" "[]"
    run sqlite3 "$MBD_HOME/config.sqlite" "SELECT type FROM events WHERE type LIKE 'SNAPSHOT%' ORDER BY id"
    assert_equal "$(printf '%s' "$output" | tr '\n' ' ')" "SNAPSHOT SNAPSHOT_REMOVED"
    run_mbd mbd-repo check test
}

# shellcheck disable=SC2030 # (output is bats' own, per test)
@test "sources-list --snapshot prints a snapshot's apt lines, by full or short name; --install writes them" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo snapshot create bookworm-test-unstable v1
    run_mbd mbd-repo snapshot create bookworm-test-testing v1
    run_mbd mbd-repo sources-list test --snapshot bookworm-test-unstable@v1
    assert_equal "$(sed '$d' <<<"$output")" "Types: deb deb-src
URIs: file://$MBD_HOME/repositories/test
Suites: bookworm-test-unstable@v1
Components: main"
    [[ "$(tail -n 1 <<<"$output")" =~ ^Signed-By:\ /etc/apt/keyrings/mbd-[a-z0-9-]+\.asc$ ]]
    run_mbd mbd-repo sources-list test --snapshot v1 --one-line --no-src
    assert_equal "$(grep -c '^deb ' <<<"$output")" 2
    assert_output_contains " bookworm-test-testing@v1 main"
    assert_output_contains " bookworm-test-unstable@v1 main"
    run_mbd mbd-repo sources-list test --snapshot v1 --suite testing --one-line --no-src
    assert_equal "$(wc -l <<<"$output")" 1
    root="$BATS_TEST_TMPDIR/root"
    mkdir -p "$root/etc/apt/keyrings" "$root/etc/apt/sources.list.d"
    run_mbd mbd-repo sources-list test --snapshot bookworm-test-unstable@v1 --install --root "$root"
    file=$(ls "$root/etc/apt/sources.list.d")
    [[ "$file" =~ ^mbd-.*-test-snapshot-bookworm-test-unstable_v1\.sources$ ]]
    grep -qx 'Suites: bookworm-test-unstable@v1' "$root/etc/apt/sources.list.d/$file"
    run_mbd 4 mbd-repo sources-list test --snapshot v2
    assert_stderr_contains "E: repository 'test' has no snapshot 'v2'"
    run_mbd 2 mbd-repo sources-list test --snapshot '../x'
}

# age_snapshot DIST TIME NAME: an unnamed snapshot of DIST made at TIME (unix seconds), renamed
# NAME (in the database and on disk: its Release keeps the name it was made with)
age_snapshot() {
    local full
    run_mbd mbd-repo snapshot create "$1" --json || return 1
    # shellcheck disable=SC2031 # run_mbd sets output here, in this function's shell
    full=$(jq -r .snapshot <<<"$output")
    sqlite3 "$MBD_HOME/config.sqlite" "UPDATE snapshots SET created = $2, name = '$3' WHERE dist = '$1' AND dist || '@' || name = '$full'"
    mv "$(dists)/$full" "$(dists)/$1@$3"
}

@test "maintain expires unnamed snapshots by snapshot.keep, per suite; named ones stay" {
    db="$MBD_HOME/config.sqlite"
    # 2026-01-15 12:00 UTC (a Thursday), then the 14th, 13th, 6th (the week before), Dec 10th
    t=1768478400 d=86400
    for age in 0 1 2 9 36; do
        age_snapshot bookworm-test-unstable "$((t - age * d))" "age$age"
    done
    for age in 0 1; do
        age_snapshot bookworm-test-testing "$((t - age * d))" "age$age"
    done
    run_mbd mbd-repo snapshot create bookworm-test-unstable keep-me
    sqlite3 "$db" "UPDATE snapshots SET created = $((t - 400 * d)) WHERE name = 'keep-me'"
    run_mbd mbd-repo check test
    # no policy: everything stays
    run_mbd mbd-repo maintain --json
    assert_equal "$(jq -c .snapshots_removed <<<"$output")" "[]"
    # a malformed policy is a configuration error
    run_mbd 3 mbd-repo -o snapshot.keep='daily=x' maintain
    assert_stderr_contains "snapshot.keep: 'daily=x' is not KIND=N"
    run_mbd mbd-repo -o snapshot.keep='daily=2 weekly=2 monthly=2 testing:daily=1' maintain --json
    assert_equal "$(jq -c '.snapshots_removed | sort' <<<"$output")" \
        '["bookworm-test-testing@age1","bookworm-test-unstable@age2"]'
    [ ! -e "$(dists)/bookworm-test-unstable@age2" ]
    [ ! -e "$(dists)/bookworm-test-testing@age1" ]
    run_mbd mbd-repo snapshot ls test --json
    assert_equal "$(jq -c '[.[].snapshot]' <<<"$output")" \
        '["bookworm-test-testing@age0","bookworm-test-unstable@keep-me","bookworm-test-unstable@age36","bookworm-test-unstable@age9","bookworm-test-unstable@age1","bookworm-test-unstable@age0"]'
    # the same again removes nothing more
    run_mbd mbd-repo -o snapshot.keep='daily=2 weekly=2 monthly=2 testing:daily=1' maintain --json
    assert_equal "$(jq -c .snapshots_removed <<<"$output")" "[]"
    run_mbd mbd-repo check test
}

@test "check finds a snapshot whose files were damaged, or a directory left without its row" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo snapshot create bookworm-test-unstable s1
    rm "$(dists)/bookworm-test-unstable@s1/main/binary-amd64/Packages.gz"
    run_mbd 12 mbd-repo check test
    assert_stderr_contains "'bookworm-test-unstable@s1': "
    run_mbd mbd-repo snapshot remove bookworm-test-unstable@s1
    # a directory the database does not know (a remove killed after its commit) goes with maintain
    mkdir -p "$(dists)/bookworm-test-unstable@stale/main"
    run_mbd mbd-repo maintain
    [ ! -e "$(dists)/bookworm-test-unstable@stale" ]
    run_mbd mbd-repo check test
}

@test "snapshot errors: bad name 2, unknown distribution 4, name taken 5, unknown snapshot 4" {
    run_mbd 2 mbd-repo snapshot create bookworm-test-unstable '../etc'
    assert_stderr_contains "snapshot name"
    run_mbd 2 mbd-repo snapshot create bookworm-test-unstable 'a/b'
    run_mbd 2 mbd-repo snapshot create bookworm-test-unstable 'Rel'
    run_mbd 2 mbd-repo snapshot create bookworm-test-unstable 'a..b'
    run_mbd 4 mbd-repo snapshot create bookworm-test-nosuch r1
    assert_stderr_contains "E: "
    run_mbd mbd-repo snapshot create bookworm-test-unstable r1
    run_mbd 5 mbd-repo snapshot create bookworm-test-unstable r1
    assert_stderr_contains "E: 'bookworm-test-unstable' has a snapshot 'r1' already"
    run_mbd 4 mbd-repo snapshot remove bookworm-test-unstable@r2
    assert_stderr_contains "E: no snapshot 'bookworm-test-unstable@r2'"
    run_mbd 2 mbd-repo snapshot remove r1
    assert_stderr_contains "E: invalid snapshot 'r1'"
    run_mbd 2 mbd-repo snapshot remove 'bookworm-test-unstable@../x'
    run_mbd 4 mbd-repo snapshot ls nosuch
    [ -d "$(dists)/bookworm-test-unstable@r1" ]
    run ls "$(dists)"
    refute_grep -q -e '\.\.' -e '^\.snapshot' <<<"$output"
}
