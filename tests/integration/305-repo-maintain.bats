#!/usr/bin/env bats
# mbd-repo maintain (mbd-repo-maintain.timer, daily): Valid-Until refresh, by-hash and
# pool cleanup after their grace periods, retention of rejected uploads.

load ../helpers
load ../lib/debian
load ../lib/repo

@test "maintain re-signs a Release whose Valid-Until is half spent, and nothing else" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    rel="$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    # the first run with Valid-Until on signs every distribution (valid 20 s: a loaded
    # machine may take seconds to sign them all, and none may be half spent by the next run)
    run_mbd mbd-repo -o publish.valid_until=20 maintain --json
    printf '%s' "$output" | jq -e '.published | index("bookworm-test-unstable") != null'
    first=$(sed -n 's/^Valid-Until: //p' "$rel")
    [ -n "$first" ]
    run_mbd mbd-repo -o publish.valid_until=20 maintain
    assert_equal "$output" ""
    sleep 10.2
    run_mbd mbd-repo -o publish.valid_until=20 maintain
    assert_output_contains "bookworm-test-unstable"
    [ "$(date -d "$(sed -n 's/^Valid-Until: //p' "$rel")" +%s)" -gt "$(date -d "$first" +%s)" ]
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo -o publish.valid_until=20 check test
}

@test "maintain removes superseded by-hash files and unreferenced pool files once their grace has passed" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    bh="$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/binary-amd64/by-hash/SHA256"
    old=$(sha256sum <"$bh/../../Packages.xz" | cut -d' ' -f1)
    mbdt_install other 1.0~test12+1 bookworm-test-unstable --no-all
    [ -f "$bh/$old" ]
    run_mbd mbd-repo -o publish.byhash_grace=3600 maintain --json
    assert_equal "$(printf '%s' "$output" | jq .by_hash_removed)" 0
    [ -f "$bh/$old" ]
    # superseded two hours ago: past the grace (by-hash/SHA512/ holds a hard link of it)
    old512=$(sha512sum <"$bh/$old" | cut -d' ' -f1)
    touch -d '2 hours ago' "$bh/$old"
    run_mbd mbd-repo -o publish.byhash_grace=3600 maintain --json
    assert_equal "$(printf '%s' "$output" | jq .by_hash_removed)" 2
    [ ! -e "$bh/$old" ]
    [ ! -e "$bh/../SHA512/$old512" ]
    mbdt_assert_release_ok bookworm-test-unstable

    # a version no distribution holds keeps its pool files for publish.pool_grace
    run_mbd mbd-repo -o publish.pool_grace=3600 remove other bookworm-test-unstable
    pool=$(find "$MBD_HOME/repositories/test/pool" -name 'other_*')
    [ -n "$pool" ]
    run_mbd mbd-repo -o publish.pool_grace=3600 maintain
    [ -n "$(find "$MBD_HOME/repositories/test/pool" -name 'other_*')" ]
    run_mbd mbd-repo -o publish.pool_grace=0 maintain
    [ -z "$(find "$MBD_HOME/repositories/test/pool" -name 'other_*')" ]
    [ -n "$(find "$MBD_HOME/repositories/test/pool" -name 'hello_*')" ]
    run_mbd mbd-repo check test
}

@test "maintain removes rejected uploads older than retention.rejected; 0 keeps them" {
    for n in 1 2; do
        printf 'not a .changes file %s\n' "$n" >"$MBD_HOME/incoming/junk$n.changes"
        run_mbd 7 mbd-incoming run
    done
    mapfile -t rejected < <(find "$MBD_HOME/var/rejected" -mindepth 1 -maxdepth 1)
    assert_equal "${#rejected[@]}" 2
    touch -d '2 days ago' "${rejected[0]}"
    run_mbd mbd-repo -o retention.rejected=0 maintain --json
    assert_equal "$(printf '%s' "$output" | jq .rejected_removed)" 0
    run_mbd mbd-repo -o retention.rejected=86400 maintain --json
    assert_equal "$(printf '%s' "$output" | jq .rejected_removed)" 1
    [ ! -e "${rejected[0]}" ]
    [ -e "${rejected[1]}" ]
}

@test "maintain on an empty instance does nothing and succeeds" {
    rm -rf "$MBD_HOME"
    run_mbd mbd-repo maintain --json
    assert_equal "$(printf '%s' "$output" | jq -c .)" '{"published":[],"retired":[],"keyrings_uploaded":[],"key_switched_to":null,"snapshots_removed":[],"by_hash_removed":0,"builds_removed":0,"rejected_removed":0}'
}
