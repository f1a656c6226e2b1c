#!/usr/bin/env bats
# Readers during publish: an apt client running `apt-get update` in a loop while
# installs publish the archive sees no hash-sum mismatch and no missing file
# (Acquire-By-Hash and the by-hash grace period are what make this true).
# MBDT_READER_PUBLISHES publishes (default 8).

load ../helpers
load ../lib/debian
load ../lib/repo

# pair_loop DIR STOP OUT: read DIR's Release, Release.gpg, Release again until STOP exists, as
# fast as it can; each distinct pair read while Release stayed the same (what a client that
# fetches Release then Release.gpg gets) goes to OUT/N.rel and OUT/N.gpg. Prints the reads.
pair_loop() {
    python3 - "$@" <<'PY'
import os, sys
d, stop, out = sys.argv[1:]
def read(name):
    try:
        with open(os.path.join(d, name), 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None
seen, reads = set(), 0
while not os.path.exists(stop):
    r1, g, r2 = read('Release'), read('Release.gpg'), read('Release')
    reads += 1
    if r1 is None or g is None or r1 != r2 or (r1, g) in seen:
        continue
    seen.add((r1, g))
    for ext, data in (('rel', r1), ('gpg', g)):
        with open(os.path.join(out, f'{len(seen)}.{ext}'), 'wb') as f:
            f.write(data)
print(reads)
PY
}

# gpgv_pairs OUT: every pair pair_loop kept verifies
gpgv_pairs() {
    local kr="$BATS_TEST_TMPDIR/kr.gpg" rel bad=0
    [ -f "$kr" ] || gpg --batch --yes --dearmor -o "$kr" "$MBDT_KEY"
    for rel in "$1"/*.rel; do
        gpgv --keyring "$kr" "${rel%.rel}.gpg" "$rel" 2>/dev/null || { echo "mismatched pair: $rel" >&2; bad=1; }
    done
    return $bad
}

@test "apt-get update in a loop during publishes: no hash-sum mismatch, no missing file" {
    local apt="$BATS_TEST_TMPDIR/apt" stop="$BATS_TEST_TMPDIR/stop" n=${MBDT_READER_PUBLISHES:-8} i pid
    mbdt_install seed 1.0~test12+1 bookworm-test-unstable
    mbdt_repo_apt "$apt" bookworm-test-unstable
    mbdt_apt_ok "$apt" update
    grep -q '^Acquire-By-Hash: yes' "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    mbdt_apt_loop "$apt" "$stop" &
    pid=$!
    # a client of Release + Release.gpg (apt without InRelease), checked with gpgv afterwards
    local pairs="$BATS_TEST_TMPDIR/pairs" ppid
    mkdir -p "$pairs"
    pair_loop "$MBD_HOME/repositories/test/dists/bookworm-test-unstable" "$stop" "$pairs" >"$pairs.reads" &
    ppid=$!
    for i in $(seq 1 "$n"); do
        # a new package each time: every index of the distribution changes
        mbdt_install "r$i" 1.0~test12+1 bookworm-test-unstable
    done
    touch "$stop"
    wait "$pid"
    wait "$ppid"
    printf 'Release + Release.gpg reads %s, distinct pairs %s\n' "$(cat "$pairs.reads")" "$(find "$pairs" -maxdepth 1 -name '*rel*' | wc -l)" >&3
    gpgv_pairs "$pairs"
    local runs fails
    runs=$(wc -l <"$apt.runs")
    fails=$(grep -c fail "$apt.runs" || true)
    printf 'publishes %s, apt-get update runs %s, failed %s\n' "$n" "$runs" "$fails" >&3
    [ ! -e "$apt.failures" ] || { head -40 "$apt.failures" >&2; false; }
    [ "$runs" -ge 2 ]
}

# kill_publish_at N NAME: install package NAME with the publisher killed at its Nth
# publish.release point; the pair on disk then must verify, and the next publish finish the
# work (else exit 2). Exit 1 when the publish did not reach the point (the caller's loop
# ends there). (Called with ||, so every step checks its own status.)
kill_publish_at() {
    local n=$1 dir="$MBD_HOME/repositories/test/dists/bookworm-test-unstable" changes rc=0 pair
    changes=$(mbdt_build_package "$MBDT_PKG" "$2" 1.0~test12+1 --dist bookworm-test-unstable) &&
        mbdt_sign_changes "$changes" || return 2
    MBD_FAULT=publish.release:$n mbd-repo install "$changes" >>"$BATS_TEST_TMPDIR/commands.log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 137 ] || { echo "mbd-repo install exited $rc" >&2; return 2; }
    pair="$BATS_TEST_TMPDIR/pair-$2"
    mkdir -p "$pair" && cp "$dir/Release" "$pair/1.rel" && cp "$dir/Release.gpg" "$pair/1.gpg" || return 2
    gpgv_pairs "$pair" || { echo "killed at publish.release:$n ($2)" >&2; return 2; }
    mbd-repo publish test >>"$BATS_TEST_TMPDIR/commands.log" 2>&1 && mbdt_assert_release_ok bookworm-test-unstable ||
        return 2
    [ "$rc" -eq 137 ]
}

@test "a publisher killed at any step leaves a Release and Release.gpg that verify together, also when moving from plain files" {
    local dir="$MBD_HOME/repositories/test/dists/bookworm-test-unstable" n rc
    mbdt_install seed 1.0~test12+1 bookworm-test-unstable
    # from Release and Release.gpg as plain files (as mbd published them before): killed at each step
    for n in 1 2 3 4 5 6 7; do
        for f in Release Release.gpg; do
            [ ! -L "$dir/$f" ] || cp --remove-destination "$(readlink -f "$dir/$f")" "$dir/$f"
        done
        rm -rf "$dir"/.release*
        rc=0
        kill_publish_at "$n" "plain$n" || rc=$?
        [ "$rc" -ne 2 ] || return 1
        [ "$rc" -eq 0 ] || break
    done
    [ "$n" -ge 3 ]
    # from the pair published through .release: killed at each step
    for n in 1 2 3 4 5; do
        rc=0
        kill_publish_at "$n" "linked$n" || rc=$?
        [ "$rc" -ne 2 ] || return 1
        [ "$rc" -eq 0 ] || break
    done
    [ "$n" -ge 2 ]
    [ -L "$dir/Release" ]
    [ -L "$dir/Release.gpg" ]
    run_mbd mbd-repo check test
}
