#!/usr/bin/env bats
# Run shellcheck over the repository's shell scripts and Bats files (scripts/lint).

load ../helpers

@test "scripts/lint: shellcheck finds nothing" {
    run_mbd "$MBDT_SOURCE_DIR/scripts/lint"
}

@test "scripts/lint catches a bare ! that cannot fail a test" {
    printf '#!/usr/bin/env bats\n@test "x" {\n    ! grep -q a /etc/hostname\n    true\n}\n' >"$BATS_TEST_TMPDIR/bad.bats"
    run_mbd 1 "$MBDT_SOURCE_DIR/scripts/lint" "$BATS_TEST_TMPDIR/bad.bats"
    assert_output_contains "SC2314"
}
