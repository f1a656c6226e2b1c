#!/usr/bin/env bats
# source check fetches the mirror's Release with apt's own downloader and verifies it
# against the source's keys (the Debian mirror of this machine is reachable).

load ../helpers

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

mirror() {
    mbd-repo --show-config | sed -n 's/^mirror *= \([^ ]*\).*/\1/p'
}

@test "a Debian source checks out: Release verified, components and architectures recorded" {
    run_mbd mbd-repo source add debian-bookworm --codename bookworm --uri "$(mirror)" --key "$KEYRING"
    run_mbd mbd-repo source check debian-bookworm
    run_mbd mbd-repo source show debian-bookworm --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.status + " " + .status.check_flag')" "prepared none"
    printf '%s' "$output" | jq -e '.components | index("main")' >/dev/null
    printf '%s' "$output" | jq -e '.architectures | index("amd64")' >/dev/null
    assert_equal "$(printf '%s' "$output" | jq -r '.codeversion')" 12
    [ "$(printf '%s' "$output" | jq -r '.release_date')" != "" ]
    run_mbd mbd-repo source activate debian-bookworm
    assert_output_contains "active"
}

@test "a Release signed by keys the source does not trust fails the check, and the status says so" {
    # a key ring with one unrelated key
    export GNUPGHOME="$BATS_TEST_TMPDIR/other"
    mkdir -m 700 "$GNUPGHOME"
    gpg --batch --quiet --passphrase '' --quick-gen-key "Nobody <nobody@example.org>" ed25519 sign never
    gpg --batch --export --armor >"$BATS_TEST_TMPDIR/nobody.asc"
    run_mbd mbd-repo source add fake --codename bookworm --uri "$(mirror)" --key "$BATS_TEST_TMPDIR/nobody.asc"
    run_mbd 8 mbd-repo source check fake
    assert_stderr_contains "signed by unknown key"
    run_mbd mbd-repo source show fake --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.check_flag')" failed
    gpgconf --homedir "$GNUPGHOME" --kill all
}

@test "a Release that is not the expected codename or origin fails the check" {
    run_mbd mbd-repo source add wrong --codename bookworm --suite bookworm-updates --uri "$(mirror)" --key "$KEYRING"
    run_mbd 12 mbd-repo source check wrong
    assert_stderr_contains "has Codename: 'bookworm-updates', expected 'bookworm'"
    run_mbd mbd-repo source add wrong-origin --codename bookworm --origin Ubuntu --uri "$(mirror)" --key "$KEYRING"
    run_mbd 12 mbd-repo source check wrong-origin
    assert_stderr_contains "has Origin: 'Debian', expected 'Ubuntu'"
    run_mbd mbd-repo source add nowhere --codename nowhere --uri "$(mirror)" --key "$KEYRING"
    run_mbd 16 mbd-repo source check nowhere
    assert_stderr_contains "cannot download"
}

@test "setup makes a checked source, a distribution and an active repository in one go" {
    run_mbd mbd-keygen init --algo ed25519
    run_mbd mbd-repo setup demo --arch amd64
    assert_output_contains "deb [signed-by="
    assert_output_contains "bookworm-demo-unstable main"
    run_mbd mbd-repo source show debian-bookworm --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.status')" active
    run_mbd mbd-repo repository show demo --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.status')" active
    run_mbd 5 mbd-repo setup demo
}
