#!/usr/bin/env bats
# mbd-incoming: what it accepts, what it rejects and why (fast tier: no builds).

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../fixtures/keys/keys

setup_file() { keys_setup_file; }
teardown_file() { keys_teardown_file; }

setup() {
    mbd_setup
    mbdt_pipeline_instance test
    export PKG="$BATS_TEST_TMPDIR/pkg"
    mkdir -p "$PKG"
}

# The .changes of an unsigned source package tiny VERSION for DIST.
unsigned_upload() {
    mbdt_source_package "$PKG" tiny "${1:-1.0~test12+1}" "${2:-bookworm-test-unstable}" --unsigned "${@:3}"
}

# Copy a .changes and the files it lists into incoming/.
to_incoming() {
    local changes=$1 dir f
    dir=$(dirname "$changes")
    while read -r f; do
        cp "$dir/$f" "$MBD_HOME/incoming/"
    done < <(mbdt_changes_files "$changes")
    cp "$changes" "$MBD_HOME/incoming/"
}

# mbd-incoming run must reject the one upload in incoming/ with CODE and REASON.
assert_rejected() {
    local code=$1 reason=$2 dir queued
    queued=$(ls "$MBD_HOME/var/spool/waiting" 2>/dev/null | wc -l)
    run_mbd 7 mbd-incoming run
    assert_output_contains "rejected 1"
    dir=$(ls -td "$MBD_HOME"/var/rejected/*/ | head -n 1)
    grep -qF "Code: $code " "$dir/REASON" || { cat "$dir/REASON" >&2; return 1; }
    grep -qF -- "$reason" "$dir/REASON" || { cat "$dir/REASON" >&2; return 1; }
    # kept untouched, nothing left in incoming/, nothing queued
    ls "$dir"/*.changes >/dev/null
    assert_equal "$(ls "$MBD_HOME/incoming")" ""
    assert_equal "$(ls "$MBD_HOME/var/spool/waiting" 2>/dev/null | wc -l)" "$queued"
    run_mbd mbd-incoming events --type REJECTED --json
    [ "$(printf '%s' "$output" | jq length)" -ge 1 ]
}

@test "a good upload is accepted and becomes one signed build request per architecture" {
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable --arch-all \
        --option lintian-mode=ignore)
    mbdt_dput "$changes"
    run_mbd mbd-incoming run
    assert_output_contains "accepted 1"
    run_mbd mbd-incoming uploads --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].status')" building
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].builds | map(.architecture) | join(",")')" amd64
    # no builder has a chroot here: the request waits, signed by the instance key, with the upload option
    req=$(ls -d "$MBD_HOME"/var/spool/waiting/*/)
    doc=$(ls "$req"/*.mbd-request)
    gpg --batch --yes --dearmor -o "$BATS_TEST_TMPDIR/instance.gpg" "$BATS_TEST_TMPDIR/instance.asc"
    gpgv --keyring "$BATS_TEST_TMPDIR/instance.gpg" "$doc"
    grep -q '^Lintian-Mode: ignore$' "$doc"
    grep -q '^Arch-All: yes$' "$doc"
    grep -q '^Resolver: apt$' "$doc"
    [ -f "$req/tiny_1.0~test12+1.dsc" ]
    run_mbd mbd-incoming events --type BUILDING --json
    printf '%s' "$output" | jq -e '.[0].message | contains("waiting")' 
    run_mbd mbd-incoming events --json
    printf '%s' "$output" | jq -e 'map(.type) | index("PACKAGING") and index("BUILDING")'
    # the same upload again is refused
    mbdt_dput "$changes"
    assert_rejected 7 "was uploaded before (upload 1, building)"
}

@test "the distribution's resolver goes into its build requests" {
    run_mbd mbd-repo source add debian-trixie --codename trixie --uri http://deb.debian.org/debian \
        --key /usr/share/keyrings/debian-archive-keyring.gpg
    run_mbd mbd-repo dist add trixie --source debian-trixie --arch amd64 --resolver aspcud
    run_mbd mbd-repo setup other --codename trixie --arch amd64 --no-check
    run_mbd mbd-keygen uploader grant "$(mbd-keygen uploader list --json | jq -r '.[0].fingerprint')" --repo other
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~other13+1 trixie-other-unstable)"
    run_mbd mbd-incoming run
    assert_output_contains "accepted 1"
    grep -q '^Resolver: aspcud$' "$MBD_HOME"/var/spool/waiting/*/*.mbd-request
}

@test "unsigned, unknown key, not granted, expired and revoked uploads are rejected with their own codes" {
    changes=$(unsigned_upload)
    to_incoming "$changes"
    assert_rejected 8 "not signed"

    key_sign stranger "$changes" >"$changes.asc" && mv "$changes.asc" "$changes"
    to_incoming "$changes"
    assert_rejected 8 "signed by unknown key $(key_fpr stranger)"

    mbd-repo setup other --codename bookworm --arch amd64 --no-check >/dev/null
    run_mbd mbd-keygen uploader add "$(key_file stranger)" --repo other
    to_incoming "$changes"
    assert_rejected 11 "may not upload to repository 'test'"

    for k in expired revoked; do
        run_mbd mbd-keygen uploader add "$(key_file $k)" --repo test
    done
    changes=$(unsigned_upload)
    key_sign expired "$changes" >"$changes.asc" && mv "$changes.asc" "$changes"
    to_incoming "$changes"
    assert_rejected 9 "expired"
    changes=$(unsigned_upload)
    key_sign revoked "$changes" >"$changes.asc" && mv "$changes.asc" "$changes"
    to_incoming "$changes"
    assert_rejected 10 "revoked"
}

@test "a .changes changed after signing, or with unsigned text appended, is rejected" {
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)
    sed -i 's/^Urgency: medium/Urgency: high/' "$changes"
    to_incoming "$changes"
    assert_rejected 8 "bad signature"
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)
    printf 'Distribution: bookworm-test-experimental\n' >>"$changes"
    to_incoming "$changes"
    assert_rejected 8 "unsigned text after the signature"
}

@test "distribution, suite and version rules" {
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-nosuch-unstable)
    to_incoming "$changes"
    assert_rejected 7 "unknown distribution 'bookworm-nosuch-unstable'"
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-testing)
    to_incoming "$changes"
    assert_rejected 7 "is not uploadable"
    changes=$(mbdt_source_package "$PKG" tiny 1.0 bookworm-test-unstable)
    to_incoming "$changes"
    assert_rejected 7 "does not match the version rule"
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 "bookworm-test-unstable bookworm-test-hotfix")
    to_incoming "$changes"
    assert_rejected 7 "exactly one distribution"
}

@test "files that do not match, binary uploads and bad upload options are rejected" {
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)
    to_incoming "$changes"
    size=$(stat -c %s "$MBD_HOME/incoming/tiny_1.0~test12+1.tar.xz")
    printf 'x' >>"$MBD_HOME/incoming/tiny_1.0~test12+1.tar.xz"
    assert_rejected 7 "size differs: listed $size, found $((size + 1)) ('tiny_1.0~test12+1.tar.xz' in the .changes)"

    changes=$(mbdt_build_package "$PKG" bin 1.0~test12+1 --dist bookworm-test-unstable --binary-only)
    mbdt_sign_changes "$changes"
    to_incoming "$changes"
    assert_rejected 7 "binary uploads are not accepted"

    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+2 bookworm-test-unstable --option frobnicate=yes)
    to_incoming "$changes"
    assert_rejected 7 "unknown upload option 'frobnicate'"
}

@test "an incomplete upload waits, then is rejected after incoming.timeout; strays too" {
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)
    to_incoming "$changes"
    rm "$MBD_HOME/incoming/tiny_1.0~test12+1.tar.xz"
    run_mbd mbd-incoming run
    assert_output_contains "waiting 1"
    [ -f "$MBD_HOME/incoming/$(basename "$changes")" ]
    touch -d '2 hours ago' "$MBD_HOME/incoming/"*
    assert_rejected 7 "missing tiny_1.0~test12+1.tar.xz"

    printf 'stray\n' >"$MBD_HOME/incoming/stray.deb"
    run_mbd mbd-incoming run -o incoming.timeout=3600
    [ -f "$MBD_HOME/incoming/stray.deb" ]
    run_mbd 7 mbd-incoming run -o incoming.timeout=0
    grep -q "no .changes lists these files" "$MBD_HOME"/var/rejected/*orphans*/REASON
    [ -f "$(ls -d "$MBD_HOME"/var/rejected/*orphans*/)/stray.deb" ]
}

@test "a file still growing is waited for; once nothing changed for incoming.settle, a short file or .changes is decided in the same pass" {
    local tar="$MBD_HOME/incoming/tiny_1.0~test12+1.tar.xz" whole="$BATS_TEST_TMPDIR/whole" size off
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)
    to_incoming "$changes"
    cp "$tar" "$whole"
    size=$(stat -c %s "$whole")
    # the rest of the tarball arrives slowly, a piece every half second (less than incoming.settle)
    head -c 100 "$whole" >"$tar"
    (
        for ((off = 100; off < size; off += 100)); do
            sleep 0.5
            tail -c +$((off + 1)) "$whole" | head -c 100 >>"$tar"
        done
    ) 3>&- &
    run_mbd mbd-incoming run -o incoming.settle=2
    wait
    assert_output_contains "accepted 1"
    cmp "$whole" "$(ls "$MBD_HOME"/var/builds/upload-1/*.tar.xz)"

    # a file that stopped short: the wrong size, said once it settled, not after incoming.timeout (an hour)
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+2 bookworm-test-unstable)
    to_incoming "$changes"
    tar="$MBD_HOME/incoming/tiny_1.0~test12+2.tar.xz"
    size=$(stat -c %s "$tar")
    truncate -s 100 "$tar"
    assert_rejected 7 "size differs: listed $size, found 100 ('tiny_1.0~test12+2.tar.xz' in the .changes)"

    # a .changes that stopped before its signature ended: a bad signature, with its files
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+3 bookworm-test-unstable)
    to_incoming "$changes"
    truncate -s -30 "$MBD_HOME/incoming/$(basename "$changes")"
    assert_rejected 8 "is cut short: its signature block does not end"
    [ -f "$(ls -td "$MBD_HOME"/var/rejected/*/ | head -n 1)/tiny_1.0~test12+3.tar.xz" ]
}

@test "a .changes that is a symbolic link is kept and rejected, its target untouched" {
    printf 'secret\n' >"$BATS_TEST_TMPDIR/target"
    ln -s "$BATS_TEST_TMPDIR/target" "$MBD_HOME/incoming/evil.changes"
    assert_rejected 7 "'evil.changes' is a symbolic link"
    [ "$(cat "$BATS_TEST_TMPDIR/target")" = secret ]
}

@test "an upload claimed by a pass that died is finished by the next pass" {
    changes=$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)
    to_incoming "$changes"
    # what a killed pass leaves: the upload moved into its own claim directory
    claim="$MBD_HOME/var/spool/claimed/20260101T000000Z-tiny.x"
    mkdir -p "$claim"
    mv "$MBD_HOME"/incoming/* "$claim/"
    run_mbd mbd-incoming run
    assert_output_contains "accepted 1"
    [ ! -e "$claim" ]
    [ -n "$(ls "$MBD_HOME/var/spool/waiting")" ]
}

@test "uploaders hear of rejections by mail (signed uploads only); event hooks see every event once" {
    printf '#!/bin/sh\ncat >>"%s/mail"\n' "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/sendmail"
    mkdir -p "$MBD_HOME/etc/event-hooks"
    # shellcheck disable=SC2016 # a shell script
    printf '#!/bin/sh\n{ echo "== $1"; cat; } >>"%s/hooked"\n' "$BATS_TEST_TMPDIR" >"$MBD_HOME/etc/event-hooks/10-record"
    chmod +x "$BATS_TEST_TMPDIR/sendmail" "$MBD_HOME/etc/event-hooks/10-record"
    export MBD_NOTIFY_SENDMAIL="$BATS_TEST_TMPDIR/sendmail -t"

    changes=$(mbdt_source_package "$PKG" tiny 1.0 bookworm-test-unstable)
    to_incoming "$changes"
    assert_rejected 7 "does not match the version rule"
    grep -q '^To: Test Maintainer <maint@example.org>$' "$BATS_TEST_TMPDIR/mail"
    grep -q '^Subject: mbd: REJECTED tiny 1.0$' "$BATS_TEST_TMPDIR/mail"
    grep -q 'does not match the version rule' "$BATS_TEST_TMPDIR/mail"
    grep -q '^== REJECTED$' "$BATS_TEST_TMPDIR/hooked"
    grep -q '^Source: tiny$' "$BATS_TEST_TMPDIR/hooked"

    # an unsigned upload names an address nobody vouched for: no mail
    rm "$BATS_TEST_TMPDIR/mail"
    to_incoming "$(unsigned_upload)"
    assert_rejected 8 "not signed"
    [ ! -e "$BATS_TEST_TMPDIR/mail" ]
    # each event reached the hook once
    assert_equal "$(grep -c '^== ' "$BATS_TEST_TMPDIR/hooked")" \
        "$(mbd-incoming events --limit 0 --json | jq length)"
}

@test "mbd-repo port makes an upload signed by the instance, with the target's version, that incoming accepts" {
    mbd-repo setup other --codename bullseye --arch amd64 --no-check >/dev/null
    run_mbd mbd-repo install "$(unsigned_upload 1.0~test12+1)"
    run_mbd mbd-repo port tiny bookworm-test-unstable bullseye-other-unstable
    assert_output_contains "uploaded 1.0~other11+1 for bullseye-other-unstable"
    changes="$MBD_HOME/incoming/tiny_1.0~other11+1_source.changes"
    gpg --batch --yes --dearmor -o "$BATS_TEST_TMPDIR/instance.gpg" "$BATS_TEST_TMPDIR/instance.asc"
    gpgv --keyring "$BATS_TEST_TMPDIR/instance.gpg" "$changes"
    grep -q '^Distribution: bullseye-other-unstable$' "$changes"
    (cd "$BATS_TEST_TMPDIR" && dpkg-source -x "$MBD_HOME/incoming/tiny_1.0~other11+1.dsc" ported >/dev/null)
    [ "$(cd "$BATS_TEST_TMPDIR/ported" && dpkg-parsechangelog -S Version)" = "1.0~other11+1" ]
    # nothing to port, nowhere to port to
    run_mbd 4 mbd-repo port nope bookworm-test-unstable bullseye-other-unstable
    assert_stderr_contains "holds no source 'nope'"
    run_mbd 7 mbd-repo port tiny bookworm-test-unstable bullseye-other-testing
    assert_stderr_contains "not an uploadable suite"
    # the uploader was never granted 'other': the instance's own signature is what lets it in
    run_mbd mbd-incoming run
    assert_output_contains "accepted 1"
    run_mbd mbd-incoming uploads --json
    printf '%s' "$output" | jq -e 'map(select(.version == "1.0~other11+1" and .distribution == "bullseye-other-unstable")) | length == 1'
}
