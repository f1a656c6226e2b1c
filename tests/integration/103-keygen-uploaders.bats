#!/usr/bin/env bats
# Uploaders: their keys (trust set "uploaders"), the repositories each may
# upload to, and the verification of uploads against both.

load ../helpers
load ../fixtures/keys/keys

setup_file() { keys_setup_file; }
teardown_file() { keys_teardown_file; }

setup() {
    mbd_setup
    cd "$BATS_TEST_TMPDIR" || return
    printf 'Format: 1.8\nSource: hello\nVersion: 1.0-1~test12+1\nDistribution: bookworm-test-unstable\n' >changes
    UP=$(key_fpr uploader)
    mbd_repositories test other
}

@test "add, list, grant, revoke, remove" {
    run_mbd mbd-keygen uploader add "$(key_file uploader)" --repo test --repo other
    assert_equal "$output" "$UP valid   other,test Test Uploader <uploader@example.org>"
    [ "$(stat -c %a "$MBD_HOME/gnupg/uploaders")" = 700 ]
    # binary keys from standard input
    gpg --dearmor <"$(key_file peer)" | run_mbd mbd-keygen uploader add -
    peer=$(key_fpr peer)
    run_mbd mbd-keygen uploader list --json
    assert_equal "$(printf '%s' "$output" | jq -c '[.[] | [.fingerprint, .state, .repositories]]' | tr -d '\n')" \
        "$(jq -cn --arg a "$UP" --arg b "$peer" '[[$a, "valid", ["other", "test"]], [$b, "valid", []]] | sort')"
    assert_equal "$(printf '%s' "$output" | jq -r '.[0] | .user_id + " " + .algorithm')" "$(
        mbd-keygen uploader list --json | jq -r '.[0] | .user_id + " " + .algorithm')"

    run_mbd mbd-keygen uploader grant "${peer,,}" --repo test
    assert_output_contains "$peer valid   test "
    run_mbd mbd-keygen uploader revoke "$UP" --repo other
    assert_output_contains "$UP valid   test "
    run_mbd 4 mbd-keygen uploader revoke "$UP" --repo other
    assert_stderr_contains "uploader $UP is not granted repository 'other'"
    # a failed revoke changes nothing
    run_mbd 4 mbd-keygen uploader revoke "$UP" --repo test --repo nothere
    run_mbd mbd-keygen uploader list
    assert_output_contains "$UP valid   test "

    run_mbd mbd-keygen uploader remove "$peer"
    run_mbd mbd-keygen uploader list
    assert_equal "$output" "$UP valid   test Test Uploader <uploader@example.org>"
    run gpg --homedir "$MBD_HOME/gnupg/uploaders" --list-keys --with-colons
    refute_grep -F "$peer" <<<"$output"
    run_mbd 4 mbd-keygen uploader remove "$peer"
}

@test "bad arguments: short key ids, bad repository ids, secret keys, several keys, no key" {
    run_mbd mbd-keygen uploader add "$(key_file uploader)"
    run_mbd 2 mbd-keygen uploader grant "${UP:24}" --repo test
    assert_stderr_contains "is not a full key fingerprint"
    run_mbd 2 mbd-keygen uploader grant "$UP" --repo Test
    assert_stderr_contains "invalid repository id 'Test'"
    run_mbd 2 mbd-keygen uploader grant "$UP"
    run_mbd 4 mbd-keygen uploader grant "$(key_fpr stranger)" --repo test
    assert_stderr_contains "no uploader $(key_fpr stranger)"
    run_mbd 7 mbd-keygen uploader add "$KEYS_DIR/stranger.sec.asc"
    assert_stderr_contains "refusing to import a secret key"
    cat "$(key_file stranger)" "$(key_file peer)" >two.asc
    run_mbd 7 mbd-keygen uploader add two.asc
    assert_stderr_contains "the data holds 2 keys"
    run_mbd 7 mbd-keygen uploader add changes
    run_mbd 4 mbd-keygen uploader add nothere.asc
    run_mbd mbd-keygen uploader list --json
    assert_equal "$(printf '%s' "$output" | jq length)" 1
}

@test "the repository must exist" {
    run_mbd mbd-keygen uploader add "$(key_file uploader)"
    run_mbd mbd-keygen uploader grant "$UP" --repo test
    run_mbd 4 mbd-keygen uploader grant "$UP" --repo nothere
    assert_stderr_contains "no repository 'nothere'"
    run_mbd 4 mbd-keygen uploader add "$(key_file peer)" --repo nothere
}

@test "verify accepts an upload signed by an uploader granted the repository, and returns the signer" {
    run_mbd mbd-keygen uploader add "$(key_file uploader)" --repo test
    key_sign uploader changes >changes.asc
    run_mbd mbd-keygen uploader verify changes.asc --repo test
    assert_equal "$output" "$UP"
    run_mbd mbd-keygen uploader verify - --repo test <changes.asc
    assert_equal "$output" "$UP"
}

@test "verify rejects: unknown key 8, not granted 11, tampered 8, appended or prepended text 8, unsigned 8" {
    run_mbd mbd-keygen uploader add "$(key_file uploader)" --repo test
    key_sign uploader changes >changes.asc

    key_sign stranger changes >stranger.asc
    run_mbd 8 mbd-keygen uploader verify stranger.asc --repo test
    assert_stderr_contains "signed by unknown key $(key_fpr stranger)"

    run_mbd 11 mbd-keygen uploader verify changes.asc --repo other
    assert_stderr_contains "uploader $UP may not upload to repository 'other'"

    sed 's/^Version: 1.0-1~test12+1$/Version: 1.0-2~test12+1/' changes.asc >tampered.asc
    refute cmp -s changes.asc tampered.asc
    run_mbd 8 mbd-keygen uploader verify tampered.asc --repo test
    assert_stderr_contains "bad signature by $UP"

    { cat changes.asc; printf 'Distribution: bookworm-test-stable\n'; } >appended.asc
    run_mbd 8 mbd-keygen uploader verify appended.asc --repo test
    assert_stderr_contains "unsigned text after the signature"
    { printf 'Distribution: bookworm-test-stable\n'; cat changes.asc; } >prepended.asc
    run_mbd 8 mbd-keygen uploader verify prepended.asc --repo test
    assert_stderr_contains "unsigned text before the signed message"
    { cat changes.asc; cat stranger.asc; } >twice.asc
    run_mbd 8 mbd-keygen uploader verify twice.asc --repo test
    assert_stderr_contains "more than one signed message"

    run_mbd 8 mbd-keygen uploader verify changes --repo test
    assert_stderr_contains "not signed"
    run_mbd 2 mbd-keygen uploader verify changes.asc --repo ../x
}

@test "verify rejects an expired key with 9 and a revoked key with 10" {
    run_mbd mbd-keygen uploader add "$(key_file expired)" --repo test
    assert_stderr_contains "expired on 2020-01-02"
    key_sign expired changes >expired.asc
    run_mbd 9 mbd-keygen uploader verify expired.asc --repo test
    assert_stderr_contains "signed by expired key $(key_fpr expired)"

    # the revoked key, first added while it was valid, then its revocation arrives
    rev=$(key_fpr revoked)
    gpg --homedir "$KEYS_SIGNER_HOME" --armor --export "$rev" >revoked-before.asc
    run_mbd mbd-keygen uploader add revoked-before.asc --repo test
    key_sign revoked changes >revoked.asc
    run_mbd mbd-keygen uploader verify revoked.asc --repo test
    run_mbd mbd-keygen uploader add "$(key_file revoked)"
    assert_stderr_contains "key $rev is revoked"
    run_mbd 10 mbd-keygen uploader verify revoked.asc --repo test
    assert_stderr_contains "signed by revoked key $rev"
    run_mbd mbd-keygen uploader list --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.[] | .state] | sort | join(" ")')" "expired revoked"
}

@test "a key in the ring without a record is unknown" {
    run_mbd mbd-keygen uploader add "$(key_file uploader)" --repo test
    key_sign uploader changes >changes.asc
    sqlite3 "$MBD_HOME/config.sqlite" "DELETE FROM uploaders"
    run_mbd 8 mbd-keygen uploader verify changes.asc --repo test
    assert_stderr_contains "signed by unknown key $UP"
}
