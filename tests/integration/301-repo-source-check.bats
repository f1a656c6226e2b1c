#!/usr/bin/env bats
# source check fetches the mirror's Release with apt's own downloader and verifies it
# against the source's keys (the Debian mirror of this machine is reachable).

load ../helpers
load ../lib/debian

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
    run_mbd mbd-repo setup demo --arch amd64 --no-chroot
    assert_output_contains "upload to bookworm-demo-unstable"
    assert_output_contains "Suites: bookworm-demo-unstable"
    run_mbd mbd-repo source show debian-bookworm --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.status')" active
    run_mbd mbd-repo repository show demo --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.status')" active
    # again: everything is kept; another codename under the same id is refused
    run_mbd mbd-repo setup demo --arch amd64 --no-chroot
    assert_stderr_contains "repository 'demo': kept"
    run_mbd 5 mbd-repo setup demo --codename trixie --no-chroot
    assert_stderr_contains "exists already, without codename 'trixie'"
}

@test "setup is the whole first-time path: identity, e-mail, key, repository, uploaders; again it keeps all" {
    local fpr
    fpr=$(mbdt_uploader_key "Packager <packager@example.org>")
    gpg --batch --armor --export "$fpr" >"$BATS_TEST_TMPDIR/packager.asc"
    # refused before anything changes: an e-mail without a domain, a missing key file
    run_mbd 2 mbd-repo setup test --no-check --email mbd@vm
    assert_stderr_contains "has no domain"
    run_mbd 4 mbd-repo setup test --no-check --email mbd@x.example.org --uploader "$BATS_TEST_TMPDIR/none.asc"
    run_mbd 3 mbd-repo -o email=mbd@vm setup test --no-check
    run_mbd 3 mbd-repo -o identity=Bad/Name setup test --no-check
    run_mbd 4 mbd-keygen show
    [ ! -e "$MBD_HOME/etc/mbd.conf" ]

    run_mbd mbd-repo setup test --no-check --identity box --email mbd@box.example.org \
        --uploader "$BATS_TEST_TMPDIR/packager.asc"
    assert_output_contains "[mbd-box]"
    assert_output_contains "upload to bookworm-test-unstable"
    assert_output_contains "1 key(s) granted 'test'"
    assert_equal "$(grep -E '^(identity|email) ' "$MBD_HOME/etc/mbd.conf")" "identity = box
email = mbd@box.example.org"
    run_mbd mbd-keygen show --json
    assert_equal "$(jq -r .user_id <<<"$output")" "box (mbd instance key) <mbd@box.example.org>"
    run_mbd mbd-keygen uploader list --json
    assert_equal "$(jq -r '.[0].repositories | join(",")' <<<"$output")" test
    run_mbd mbd-repo repository show test --json
    assert_equal "$(jq -r '.status.status' <<<"$output")" active

    # again, with what it made: kept, the key too; another identity would need a new key
    local key
    key=$(mbd-keygen show --json | jq -r .fingerprint)
    run_mbd mbd-repo setup test --no-check --identity box
    assert_stderr_contains "kept"
    assert_equal "$(mbd-keygen show --json | jq -r .fingerprint)" "$key"
    run_mbd 5 mbd-repo setup test --no-check --identity other
    assert_stderr_contains "the instance key was made for 'box (mbd instance key) <mbd@box.example.org>'"
    grep -qx "identity = box" "$MBD_HOME/etc/mbd.conf"
}
