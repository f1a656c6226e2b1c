#!/usr/bin/env bats
# Readers during publish: an apt client running `apt-get update` in a loop while
# installs publish the archive sees no hash-sum mismatch and no missing file
# (Acquire-By-Hash and the by-hash grace period are what make this true).
# MBDT_READER_PUBLISHES publishes (default 8).

load ../helpers
load ../lib/debian
load ../lib/repo

# apt_loop DIR STOPFILE: apt-get update until STOPFILE exists; one line per run in DIR.runs
apt_loop() {
    local dir=$1 stop=$2 out rc
    while [ ! -e "$stop" ]; do
        rc=0
        out=$(mbdt_apt "$dir" update 2>&1) || rc=$?
        if [ "$rc" -ne 0 ] || grep -qE '^(W|E): |Hash Sum mismatch|unexpected size|Failed to fetch' <<<"$out"; then
            printf 'FAIL %s\n%s\n' "$rc" "$out" >>"$dir.failures"
            echo fail >>"$dir.runs"
        else
            echo ok >>"$dir.runs"
        fi
    done
}

@test "apt-get update in a loop during publishes: no hash-sum mismatch, no missing file" {
    local apt="$BATS_TEST_TMPDIR/apt" stop="$BATS_TEST_TMPDIR/stop" n=${MBDT_READER_PUBLISHES:-8} i pid
    mbdt_install seed 1.0~test12+1 bookworm-test-unstable
    mbdt_repo_apt "$apt" bookworm-test-unstable
    mbdt_apt_ok "$apt" update
    grep -q '^Acquire-By-Hash: yes' "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    apt_loop "$apt" "$stop" &
    pid=$!
    for i in $(seq 1 "$n"); do
        # a new package each time: every index of the distribution changes
        mbdt_install "r$i" 1.0~test12+1 bookworm-test-unstable
    done
    touch "$stop"
    wait "$pid"
    local runs fails
    runs=$(wc -l <"$apt.runs")
    fails=$(grep -c fail "$apt.runs" || true)
    printf 'publishes %s, apt-get update runs %s, failed %s\n' "$n" "$runs" "$fails" >&3
    [ ! -e "$apt.failures" ] || { head -40 "$apt.failures" >&2; false; }
    [ "$runs" -ge 2 ]
}
