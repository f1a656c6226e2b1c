#!/usr/bin/env bats
# Power loss, modelled after ALICE (Pillai et al., OSDI 2014): a pass runs under strace,
# tests/tools/crash-states rebuilds the home as a disk could hold it after a power cut at
# points along the trace (every write, create and rename that no fsync of the file or of
# its directory made durable may be missing, in any combination, SQLite's WAL included),
# then the next passes run and the crash harness's ledger must hold after each
# (tests/lib/crash.bash): every upload installed or rejected exactly once, nothing left
# behind, PRAGMA integrity_check ok, mbd-repo check passes. kill -9 (922) keeps what the
# page cache holds; a power cut does not. Builds use prebuilt results (mbd-test-build).
# CRASH_POWER_STATES: crash states tried per pass (fast test 12, slow sweep 25);
# CRASH_POWER_ROUNDS: rounds of the slow sweep (default 1), each two more uploads.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/crash

setup() {
    mbd_setup
    export CRASH_CHROOT=fake
    crash_setup
    echo 'incoming.settle = 0' >>"$MBD_HOME/etc/mbd.conf"
}

@test "a power cut in an incoming pass that accepts one upload and rejects another loses nothing, does nothing twice" {
    export CRASH_APT=0
    crash_upload
    crash_upload bad
    crash_power 0 "${CRASH_POWER_STATES:-12}"
    cat "$CRASH_DIR/power.summary" >&3
    crash_settle && crash_assert "after the traced pass"
    [ "$(awk '$1 == "power"' "$CRASH_DIR/kills" | wc -l)" -ge 10 ]
}

# bats test_tags=slow
@test "a power cut anywhere in the accept and build passes loses nothing" {
    local step
    for _ in $(seq "${CRASH_POWER_ROUNDS:-1}"); do
        crash_upload
        crash_upload bad
        crash_power 0 "${CRASH_POWER_STATES:-25}"
        crash_power 1 "${CRASH_POWER_STATES:-25}"
        crash_settle
    done
    cat "$CRASH_DIR/power.summary" >&3
    crash_settle && crash_assert "after the traced passes"
}

# bats test_tags=slow
@test "a power cut anywhere in the install and publish pass and in a migration loses nothing" {
    # (found by this test: the install's new pool directories, pool/main/c/NAME/, were not
    # fsynced into their parents, so a power cut could keep the install's commit and lose
    # its pool files)
    local step
    crash_upload
    crash_upload bad
    # shellcheck disable=SC2154 # crash_steps: filled by crash_upload (tests/lib/crash.bash)
    for step in "${!crash_steps[@]}"; do
        crash_power "$step" "${CRASH_POWER_STATES:-25}"
    done
    crash_settle && crash_assert "after the traced passes"
}
