#!/usr/bin/env bats
# bats file_tags=slow
# Crash safety, short mode (the long mode is bench/crash-soak): kill -9 at every
# fault point of the pipeline and at random moments; after each kill the next
# passes finish the work: nothing lost, nothing done twice, the archive valid.
# Builds use prebuilt results (mbd-test-build): sbuild is not what this tests.
# CRASH_PER_POINT: kills at the 1st..Nth pass of each point (default 1);
# CRASH_RANDOM: random kill -9s (default 5); CRASH_MIN_KILLS (default 20).

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/crash

setup() {
    mbd_setup
    crash_setup
}

@test "kill -9 at every fault point and at random moments: every upload installed or rejected once, archive valid" {
    local p
    for p in "${CRASH_POINTS[@]}"; do
        crash_points_round "$p" "${CRASH_PER_POINT:-1}"
    done
    crash_random_kills "${CRASH_RANDOM:-5}"
    crash_report | tee "$BATS_TEST_TMPDIR/report" >&3
    # every point was reached and killed at least once
    for p in "${CRASH_POINTS[@]}"; do
        grep -qE "^$p +[1-9]" "$BATS_TEST_TMPDIR/report" || { echo "never killed at $p" >&2; false; }
    done
    [ "$(wc -l <"$CRASH_DIR/kills")" -ge "${CRASH_MIN_KILLS:-20}" ]
}
