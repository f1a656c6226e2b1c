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
    refute_grep -F "$fpr" <<<"$output"
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
    refute_grep PRIVATE "$BATS_TEST_TMPDIR/key.asc"
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

@test "check passes for a new key and records the time" {
    run_mbd mbd-keygen init --algo ed25519
    run_mbd mbd-keygen check
    assert_output_contains "status:      active"
    run_mbd mbd-keygen show --json
    assert_equal "$(printf '%s' "$output" | jq -r .check_flag)" none
    [ "$(printf '%s' "$output" | jq -r .last_check)" != null ]
}

@test "status actions: deactivate stops signing, activate resumes, remove keeps a backup" {
    run_mbd mbd-keygen init --algo ed25519
    fpr=$(mbd-keygen show --json | jq -r .fingerprint)
    printf 'Origin: test\n' >"$BATS_TEST_TMPDIR/doc"
    run_mbd mbd-keygen deactivate
    assert_output_contains "status:      prepared"
    run_mbd 11 "$MBDT_BUILD_DIR/tests/tools/mbd-test-keys" clearsign "$BATS_TEST_TMPDIR/doc"
    assert_stderr_contains "the instance key $fpr is not active"
    run_mbd mbd-keygen activate
    assert_output_contains "status:      active"
    run_mbd "$MBDT_BUILD_DIR/tests/tools/mbd-test-keys" clearsign "$BATS_TEST_TMPDIR/doc"
    run_mbd 13 mbd-keygen remove
    assert_stderr_contains "it is active (deactivate it first)"
    run_mbd mbd-keygen deactivate
    run_mbd mbd-keygen remove
    backup="$MBD_HOME/gnupg/retired/$fpr.asc"
    assert_stderr_contains "$backup"
    [ "$(stat -c %a "$backup")" = 600 ]
    run gpg --show-keys --with-colons "$backup"
    printf '%s\n' "$output" | grep -q "^sec:"
    run_mbd 4 mbd-keygen show
    run gpg --homedir "$MBD_HOME/gnupg" --list-secret-keys --with-colons
    refute_grep -F "$fpr" <<<"$output"
    run_mbd 4 mbd-keygen activate
    # init --force keeps the replaced key too
    run_mbd mbd-keygen init --algo ed25519
    old=$(mbd-keygen show --json | jq -r .fingerprint)
    run_mbd mbd-keygen init --algo ed25519 --force
    [ -f "$MBD_HOME/gnupg/retired/$old.asc" ]
}

@test "check: an expired key exits 9, is taken out of service, and comes back when its expiry is extended" {
    # a key made on 2020-01-01 that expired a day later
    install -d -m 700 "$MBD_HOME/gnupg"
    echo 'faked-system-time 20200101T000000' >"$MBD_HOME/gnupg/gpg.conf"
    run_mbd mbd-keygen init --algo ed25519 --expire 1
    rm "$MBD_HOME/gnupg/gpg.conf"
    fpr=$(mbd-keygen show --json | jq -r .fingerprint)
    run_mbd 9 mbd-keygen check
    assert_stderr_contains "the instance key $fpr expired on 2020-01-02T00:00:00Z"
    run_mbd mbd-keygen show --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status + " " + .check_flag')" "prepared failed-reactivate"
    printf 'Origin: test\n' >"$BATS_TEST_TMPDIR/doc"
    run_mbd 11 "$MBDT_BUILD_DIR/tests/tools/mbd-test-keys" clearsign "$BATS_TEST_TMPDIR/doc"
    run_mbd mbd-keygen expire 30
    assert_output_contains "status:      active"
    run_mbd mbd-keygen show --json
    expires=$(printf '%s' "$output" | jq -r .expires)
    [ "$(date -d "$expires" +%s)" -gt $(( $(date +%s) + 29 * 86400 )) ]
    run_mbd mbd-keygen check
}

@test "check: a revoked key exits 10; a key that differs from its record or is missing exits 12" {
    run_mbd mbd-keygen init --algo ed25519
    fpr=$(mbd-keygen show --json | jq -r .fingerprint)
    cp -a "$MBD_HOME/gnupg" "$BATS_TEST_TMPDIR/gnupg.saved"
    # the revocation certificate GnuPG made with the key
    sed 's/^:-----/-----/' "$MBD_HOME/gnupg/openpgp-revocs.d/$fpr.rev" |
        gpg --homedir "$MBD_HOME/gnupg" --batch --quiet --import
    run_mbd 10 mbd-keygen check
    assert_stderr_contains "the instance key $fpr is revoked"
    run_mbd mbd-keygen show --json
    assert_equal "$(printf '%s' "$output" | jq -r .revoked)" true

    gpgconf --homedir "$MBD_HOME/gnupg" --kill all
    rm -rf "$MBD_HOME/gnupg" && mv "$BATS_TEST_TMPDIR/gnupg.saved" "$MBD_HOME/gnupg"
    sqlite3 "$MBD_HOME/config.sqlite" "UPDATE instance_key SET user_id = 'someone else'"
    run_mbd 12 mbd-keygen check
    assert_stderr_contains "does not match its record: user id is"

    gpg --homedir "$MBD_HOME/gnupg" --batch --yes --delete-secret-and-public-key "$fpr"
    run_mbd 12 mbd-keygen check
    assert_stderr_contains "the instance key $fpr is missing from"
}

@test "check without a key exits 4" {
    run_mbd 4 mbd-keygen check
}

@test "two inits at once make one key; the other exits 5" {
    mbd-keygen init --algo ed25519 >/dev/null 2>"$BATS_TEST_TMPDIR/a" & a=$!
    mbd-keygen init --algo ed25519 >/dev/null 2>"$BATS_TEST_TMPDIR/b" & b=$!
    rc_a=0 rc_b=0
    wait $a || rc_a=$?
    wait $b || rc_b=$?
    assert_equal "$(printf '%s\n' $rc_a $rc_b | sort | tr '\n' ' ')" "0 5 "
    run gpg --homedir "$MBD_HOME/gnupg" --list-secret-keys --with-colons
    assert_equal "$(printf '%s\n' "$output" | grep -c '^sec:')" 1
}
