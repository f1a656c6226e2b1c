#!/usr/bin/env bats
# The instance key: init, show, export.

load ../helpers

@test "init creates one passphrase-less key; a second init is refused unless --force" {
    run_mbd mbd-keygen init --algo ed25519
    assert_output_contains "algorithm:   ed25519"
    fpr=$(printf '%s\n' "$output" | sed -n 's/^fingerprint: //p')
    [[ "$fpr" =~ ^[0-9A-F]{40}$ ]]
    [ "$(stat -c %a "$MBD_HOME/gnupg")" = 700 ]
    run_mbd 5 mbd-keygen init
    assert_stderr_contains "an instance key exists already ($fpr)"
    run_mbd mbd-keygen init --algo ed25519 --force
    new=$(printf '%s\n' "$output" | sed -n 's/^fingerprint: //p')
    [ "$new" != "$fpr" ]
    # the old key is gone from the key ring
    run gpg --homedir "$MBD_HOME/gnupg" --list-secret-keys --with-colons
    ! printf '%s\n' "$output" | grep -q "$fpr"
}

@test "show --json and export agree with GnuPG" {
    run_mbd mbd-keygen init
    run_mbd mbd-keygen show --json
    fpr=$(printf '%s' "$output" | jq -r .fingerprint)
    assert_equal "$(printf '%s' "$output" | jq -r .algorithm)" rsa4096
    assert_equal "$(printf '%s' "$output" | jq -r .status)" active
    assert_equal "$(printf '%s' "$output" | jq -r .expires)" null
    run_mbd mbd-keygen export --output "$BATS_TEST_TMPDIR/key.asc"
    run gpg --show-keys --with-colons "$BATS_TEST_TMPDIR/key.asc"
    printf '%s\n' "$output" | grep -q "^fpr:::::::::$fpr:"
    run_mbd mbd-keygen export --binary --output "$BATS_TEST_TMPDIR/key.gpg"
    run gpg --show-keys --with-colons "$BATS_TEST_TMPDIR/key.gpg"
    printf '%s\n' "$output" | grep -q "^fpr:::::::::$fpr:"
    ! grep -q "PRIVATE" "$BATS_TEST_TMPDIR/key.asc"
}

@test "show and export without a key exit 4 (not found)" {
    run_mbd 4 mbd-keygen show
    assert_stderr_contains "run 'mbd-keygen init'"
    run_mbd 4 mbd-keygen export
}

@test "--expire sets an expiry date" {
    run_mbd mbd-keygen init --algo ed25519 --expire 30
    run_mbd mbd-keygen show --json
    [ "$(printf '%s' "$output" | jq -r .expires)" != null ]
}
