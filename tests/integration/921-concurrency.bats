#!/usr/bin/env bats
# bats file_tags=slow
# Passes started at the same time, as cron plus systemd would start them: uploads
# dput at once while two mbd-incoming passes and an mbd-build pass loop side by side.
# None lost, none processed twice, none installed twice; the archive stays valid.
# MBDT_CONCURRENT_UPLOADS uploads (CI: 12; bench/concurrency: 50). Builds use
# prebuilt results (mbd-test-build): sbuild is not what this tests.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/crash

setup() {
    mbd_setup
    crash_setup
}

# pass_loop NAME CMD...: CMD again and again until $CRASH_DIR/stop exists, then twice
# more; the exit codes go to $CRASH_DIR/NAME.rc
pass_loop() {
    local name=$1 extra=2 rc
    shift
    while [ ! -e "$CRASH_DIR/stop" ] || [ $((extra--)) -gt 0 ]; do
        rc=0
        "$@" >>"$CRASH_DIR/$name.log" 2>&1 || rc=$?
        echo "$rc" >>"$CRASH_DIR/$name.rc"
    done
}

@test "uploads dput at once while two incoming passes and a build pass run: each installed once" {
    local n=${MBDT_CONCURRENT_UPLOADS:-12} changes=() pids=() dputs=() name
    export CRASH_NAMES=1000000 CRASH_DPUT=0
    for _ in $(seq 1 "$n"); do
        crash_upload
        changes+=("$CRASH_LAST_CHANGES")
    done
    local start=$SECONDS
    pass_loop incoming-a mbd-incoming run &
    pids+=($!)
    pass_loop incoming-b mbd-incoming run &
    pids+=($!)
    pass_loop build mbd-test-build run "$CRASH_DIR/prebuilt" &
    pids+=($!)
    for c in "${changes[@]}"; do
        mbdt_dput "$c" &
        dputs+=($!)
    done
    for p in "${dputs[@]}"; do
        wait "$p"
    done
    # the passes go on until every upload is installed (or 10 minutes passed)
    while [ "$(mbd-incoming events --type INSTALLED --limit 0 --json | jq length)" -lt "$n" ] &&
        [ $((SECONDS - start)) -lt 600 ]; do
        sleep 2
    done
    touch "$CRASH_DIR/stop"
    for p in "${pids[@]}"; do
        wait "$p"
    done
    local concurrent=$((SECONDS - start)) installed
    installed=$(mbd-incoming events --type INSTALLED --limit 0 --json | jq length)
    crash_settle
    crash_assert "after $n concurrent uploads"
    # every exit code of the concurrent passes is one of: done, an upload rejected, locked
    for name in incoming-a incoming-b build; do
        refute_grep -vxE '0|6|7' "$CRASH_DIR/$name.rc" || { cat "$CRASH_DIR/$name.log" >&2; false; }
    done
    run_mbd mbd-incoming events --type PACKAGING --limit 0 --json
    assert_equal "$(printf '%s' "$output" | jq length)" "$n"
    run_mbd mbd-build list --json
    assert_equal "$(printf '%s' "$output" | jq '[.[] | .source] | unique | length')" "$n"
    {
        printf 'uploads %s, concurrent phase %s s, installed by then %s\n' "$n" "$concurrent" "$installed"
        for name in incoming-a incoming-b build; do
            printf '%-10s passes %s, exit codes: %s\n' "$name" "$(wc -l <"$CRASH_DIR/$name.rc")" \
                "$(sort "$CRASH_DIR/$name.rc" | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
        done
        printf 'uploads %s, installed %s, rejected %s\n' "$(mbd-incoming uploads --limit 0 --json | jq length)" \
            "$(mbd-incoming events --type INSTALLED --limit 0 --json | jq length)" \
            "$(mbd-incoming events --type REJECTED --limit 0 --json | jq length)"
    } | tee "$BATS_TEST_TMPDIR/figures" >&3
    # the instance key stays private: 0600 files in 0700 directories, never in a log (the chroot
    # tarballs are left out: they hold Debian packages, lintian's tag names among them)
    [ "$(stat -c %a "$MBD_HOME/gnupg" "$MBD_HOME/gnupg/private-keys-v1.d" | sort -u)" = 700 ]
    [ "$(find "$MBD_HOME/gnupg/private-keys-v1.d" -type f -printf '%m\n' | sort -u)" = 600 ]
    assert_equal "$(grep -rlE --exclude-dir=chroots 'PRIVATE KEY|private-key' "$MBD_HOME/var" "$CRASH_DIR"/*.log || true)" ""
}
