#!/usr/bin/env bats
# A full disk: the instance home is a small tmpfs this test mounts, filled up to a few
# levels of free space before each write. A write that does not fit fails with a clear
# error and exit code 15 (no-space); nothing is lost; the previous publication stays
# intact and served (gpgv, checksums, apt-get update); once space is freed the next
# pass finishes the work and `mbd-repo check` passes.
# Levels of free space tried (KiB): MBDT_FULL_LEVELS (default below; bench-like long
# runs pass more).

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/repo

read -ra LEVELS <<<"${MBDT_FULL_LEVELS:-0 16 64 96 128 160 192 256 1024}"

setup_file() { :; }
teardown_file() { :; }

setup() {
    mbd_setup
    mkdir -p "$MBD_HOME"
    mount -t tmpfs -o size=64m,mode=0755 mbdt-full "$MBD_HOME"
    mbdt_pipeline_instance
    export MBDT_KEY="$BATS_TEST_TMPDIR/instance.asc" MBDT_PKG="$BATS_TEST_TMPDIR/pkg"
    mkdir -p "$MBDT_PKG"
}

teardown() {
    mbd_teardown
    umount "$MBD_HOME" 2>/dev/null || umount -l "$MBD_HOME"
}

# fill_leaving KIB: a filler file that leaves about KIB KiB free in the home.
fill_leaving() {
    rm -f "$MBD_HOME/filler"
    local avail
    avail=$(stat -f -c '%a * %S' "$MBD_HOME")
    avail=$((avail - $1 * 1024))
    [ "$avail" -le 0 ] || fallocate -l "$avail" "$MBD_HOME/filler"
}

# A failed write must say so clearly: exit 15 and one error line naming the lack of space.
assert_no_space() {
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    [ "$status" -eq 15 ] || { echo "exit $status, not 15 (no-space): $stderr" >&2; return 1; }
    grep -qE '^mbd-[a-z]+: E: .*(space|full)' <<<"$stderr" || { echo "unclear error: $stderr" >&2; return 1; }
}

@test "installing and publishing into a full home fails with no-space; the last publication stays served; the next pass succeeds" {
    local apt="$BATS_TEST_TMPDIR/apt" n=0 failed=0 free changes rc
    mbdt_install first 1.0~test12+1 bookworm-test-unstable
    mbdt_repo_apt "$apt" bookworm-test-unstable
    mbdt_apt_ok "$apt" update
    for free in "${LEVELS[@]}"; do
        n=$((n + 1))
        changes=$(mbdt_build_package "$MBDT_PKG" "p$n" 1.0~test12+1 --dist bookworm-test-unstable)
        mbdt_sign_changes "$changes"
        fill_leaving "$free"
        run --separate-stderr mbd-repo install "$changes"
        printf 'install with %s KiB free: exit %s %s\n' "$free" "$status" "$stderr" >>"$BATS_TEST_TMPDIR/commands.log"
        rc=$status
        if [ "$rc" -ne 0 ]; then
            assert_no_space
            failed=$((failed + 1))
        fi
        # what was published before is intact and served
        mbdt_assert_release_ok bookworm-test-unstable
        mbdt_apt_ok "$apt" update
        mbdt_apt_ok "$apt" install first
        # space again: the next pass finishes the work
        rm -f "$MBD_HOME/filler"
        if [ "$rc" -ne 0 ]; then
            run --separate-stderr mbd-repo install "$changes"
            printf 'install again: exit %s %s\n' "$status" "$stderr" >>"$BATS_TEST_TMPDIR/commands.log"
            if [ "$status" -ne 0 ]; then
                # the first try got as far as the state database: only the publish is left
                [ "$status" -eq 7 ] && grep -q "holds p$n 1.0~test12+1" <<<"$stderr"
                run_mbd mbd-repo publish test
            fi
        fi
        run_mbd mbd-repo check test
        mbdt_apt_ok "$apt" update
        mbdt_apt_ok "$apt" install "p$n"
    done
    # the levels did reach the interesting cases
    [ "$failed" -ge 1 ]
    run_mbd mbd-repo ls --json
    assert_equal "$(printf '%s' "$output" | jq '[.[] | .source] | unique | length')" "$((n + 1))"
    [ "$(sqlite3 "$MBD_HOME/config.sqlite" 'PRAGMA integrity_check')" = ok ]
}

@test "an incoming pass into a full home fails with no-space and loses nothing; the next pass accepts every upload once" {
    local n=0 failed=0 free
    for free in "${LEVELS[@]}"; do
        n=$((n + 1))
        mbdt_dput "$(mbdt_source_package "$MBDT_PKG" "q$n" 1.0~test12+1 bookworm-test-unstable)"
        fill_leaving "$free"
        run --separate-stderr mbd-incoming run -o incoming.timeout=0
        printf 'incoming with %s KiB free: exit %s %s\n' "$free" "$status" "$stderr" >>"$BATS_TEST_TMPDIR/commands.log"
        if [ "$status" -ne 0 ]; then
            assert_no_space
            failed=$((failed + 1))
        fi
        rm -f "$MBD_HOME/filler"
        run_mbd mbd-incoming run -o incoming.timeout=0
    done
    [ "$failed" -ge 1 ]
    # every upload accepted once, none rejected, nothing left behind
    run_mbd mbd-incoming uploads --limit 0 --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(.source) | sort | join(" ")')" \
        "$(for i in $(seq 1 "$n"); do printf 'q%s\n' "$i"; done | sort | paste -sd ' ')"
    run_mbd mbd-incoming events --type REJECTED --limit 0 --json
    assert_equal "$(printf '%s' "$output" | jq length)" 0
    [ -z "$(ls -A "$MBD_HOME/incoming")" ]
    [ -z "$(find "$MBD_HOME/var/spool/claimed" -mindepth 1 2>/dev/null)" ]
    [ "$(sqlite3 "$MBD_HOME/config.sqlite" 'PRAGMA integrity_check')" = ok ]
}
