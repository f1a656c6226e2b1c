#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # setup_file makes the template with its own MBD_HOME, in a subshell, on purpose
# mbd-incoming: no upload is ever lost between incoming/, var/spool/claimed/ and
# var/rejected/ or var/builds/, whatever rename/open/mkdir say on the way. Each error
# is made for real where a test can (a name too long, a directory it may not write,
# a file it may not move, a tmpfs mounted across the way or out of inodes) and by
# fault injection (MBD_FAULT=POINT:N:ERRNO, core/fault.hpp) for the rest. After every
# failure each file of the upload is in exactly one place, unchanged, and the next
# pass finishes it: what could be claimed is processed or rejected with the reason,
# what could not be is still in incoming/.

load ../helpers
load ../lib/debian
load ../fixtures/keys/keys

CORPUS="$MBDT_SOURCE_DIR/tests/corpus/uploads"

setup_file() {
    keys_setup_file
    # one instance made here, copied for each case (making one signs 40 distributions)
    (
        BATS_TEST_TMPDIR="$BATS_FILE_TMPDIR/maker" mbd_setup
        export MBD_HOME="$BATS_FILE_TMPDIR/template"
        mbd-keygen init --algo ed25519 >/dev/null &&
            mbd-repo setup test --codename bookworm --arch amd64 --no-check >/dev/null 2>&1 &&
            mbd-keygen uploader add "$(key_file uploader)" --repo test >/dev/null
        mbd_teardown
    )
}
teardown_file() { keys_teardown_file; }

setup() {
    mbd_setup
    instance "$MBD_HOME"
}

teardown() {
    local m
    for m in $(findmnt -rn -o TARGET | grep "^$BATS_TEST_TMPDIR/" | sort -r); do
        umount "$m" || umount -l "$m"
    done
    for MBD_HOME in "$BATS_TEST_TMPDIR"/home*; do
        mbd_teardown
    done
}

# instance HOME: a fresh instance there (repository test, the uploader key granted it: a
# copy of setup_file's);
# the gpg-agents of the one before are stopped (each holds inotify instances)
instance() {
    [ ! -d "${MBD_HOME:-}" ] || mbd_teardown
    export MBD_HOME=$1
    rm -rf "$MBD_HOME"
    cp -a "$BATS_FILE_TMPDIR/template" "$MBD_HOME" && find "$MBD_HOME/gnupg" -name 'S.*' -delete
}

# A corpus case (good-plain: accepted; version-rule: rejected) into incoming/, just
# arrived (what is left of it is no orphan before incoming.timeout).
upload() {
    cp -a "$CORPUS/$1/." "$MBD_HOME/incoming/"
    touch "$MBD_HOME"/incoming/*
}

# As root without the capabilities that let root ignore permissions (also out of the
# inheritable set: systemd-nspawn gives its container's root all of them there, and a
# capability in it survives exec whatever the bounding set says).
unprivileged() {
    setpriv --inh-caps=-dac_override,-dac_read_search,-fowner \
        --bounding-set=-dac_override,-dac_read_search,-fowner -- "$@"
}

exit_of() { case $1 in ENOSPC) echo 15 ;; *) echo 14 ;; esac; }
text_of() {
    case $1 in
        EACCES) echo "Permission denied" ;; EXDEV) echo "Invalid cross-device link" ;;
        ENOSPC) echo "No space left on device" ;; EMLINK) echo "Too many links" ;;
    esac
}

# Every file of a corpus case exactly once in incoming/, the claims, var/rejected/ or
# var/builds/, unchanged (nothing lost, nothing doubled).
assert_kept() {
    local f name found
    for f in "$CORPUS/$1"/*; do
        name=${f##*/}
        found=$(find -L "$MBD_HOME/incoming" "$MBD_HOME/var/spool/claimed" "$MBD_HOME/var/rejected" \
            "$MBD_HOME/var/builds" -name "$name" -type f)
        [ "$(grep -c . <<<"$found")" -eq 1 ] || { echo "$1: '$name' found: ${found:-nowhere}" >&2; return 1; }
        cmp -s "$f" "$found" || { echo "$1: '$name' changed" >&2; return 1; }
    done
}

# where NAME: where the .changes of corpus case NAME is now: incoming, claimed, rejected or
# builds (each place it is in, in that order, when more than one: find's order is the file system's)
where() {
    local found places=() d
    found=$(find -L "$MBD_HOME/incoming" "$MBD_HOME/var" -name "$(basename "$CORPUS/$1"/*.changes)" -type f)
    for d in incoming var/spool/claimed var/rejected var/builds; do
        ! grep -qF "$MBD_HOME/$d/" <<<"$found" || places+=("${d##*/}")
    done
    [ ${#places[@]} -gt 0 ] || places=("?$found")
    echo "${places[*]}"
}

claims() { find -L "$MBD_HOME/var/spool/claimed" -mindepth 1 -maxdepth 1 | wc -l; }

# The REASON the case was rejected with (exactly one REJECTED event).
assert_rejected_with() {
    local code=$1 reason=$2
    assert_equal "$(claims)" 0
    grep -qF "Code: $code " "$MBD_HOME"/var/rejected/*/REASON || { cat "$MBD_HOME"/var/rejected/*/REASON >&2; return 1; }
    grep -qF -- "$reason" "$MBD_HOME"/var/rejected/*/REASON || { cat "$MBD_HOME"/var/rejected/*/REASON >&2; return 1; }
    run_mbd mbd-incoming events --type REJECTED --json
    assert_equal "$(jq length <<<"$output")" 1
}

# Accepted once, never rejected.
assert_accepted() {
    assert_equal "$(claims)" 0
    assert_equal "$(where good-plain)" builds
    run_mbd mbd-incoming uploads --json
    assert_equal "$(jq -r 'map(.status) | join(" ")' <<<"$output")" building
    run_mbd mbd-incoming events --type REJECTED --json
    assert_equal "$(jq length <<<"$output")" 0
    run_mbd mbd-incoming events --type PACKAGING --json
    assert_equal "$(jq length <<<"$output")" 1
}

# The signed content of a clearsigned file, as it was signed.
signed_text() { sed -n '/^-----BEGIN PGP SIGNED MESSAGE-----$/,/^$/d; /^-----BEGIN PGP SIGNATURE-----$/q; p' "$1"; }

# good-plain's .changes, also listing NAME (in all three lists), signed again.
changes_listing() {
    local name=$1 changes
    changes=$(basename "$CORPUS"/good-plain/*.changes)
    signed_text "$CORPUS/good-plain/$changes" | awk -v n="$name" '
        { print }
        /^Files:$/ { print " " sprintf("%032d", 0) " 1 misc optional " n }
        /^Checksums-Sha1:$/ { print " " sprintf("%040d", 0) " 1 " n }
        /^Checksums-Sha256:$/ { print " " sprintf("%064d", 0) " 1 " n }' >"$BATS_TEST_TMPDIR/$changes"
    key_sign uploader "$BATS_TEST_TMPDIR/$changes"
}

@test "a .changes listing a name too long for the file system is rejected at once, not lost in var/spool/claimed/" {
    local long changes
    long="$(printf 'x%.0s' $(seq 300)).tar.xz"
    changes=$(basename "$CORPUS"/good-plain/*.changes)
    upload good-plain
    changes_listing "$long" >"$MBD_HOME/incoming/$changes"
    # (the default incoming.timeout: what cannot exist is not waited for)
    run_mbd 7 mbd-incoming run
    assert_output_contains "rejected 1"
    assert_rejected_with 7 "listed file name '$(printf 'x%.0s' $(seq 60))...' is too long for the file system"
    assert_equal "$(ls "$MBD_HOME/incoming")" ""
    # all of it kept together
    assert_equal "$(ls "$MBD_HOME"/var/rejected/*/ | sort | tr '\n' ' ')" \
        "REASON $(ls "$CORPUS/good-plain" | sort | tr '\n' ' ')"
}

@test "a claim a pass left in var/spool/claimed/ is taken by the next pass, even one listing a name too long" {
    local changes claim
    changes=$(basename "$CORPUS"/good-plain/*.changes)
    upload good-plain
    # what a pass that failed to claim it left: the .changes in its claim, the rest in incoming/
    claim="$MBD_HOME/var/spool/claimed/20260101T000000Z-$changes.AbCdEf"
    mkdir -p "$claim"
    changes_listing "$(printf 'y%.0s' $(seq 300)).dsc" >"$claim/$changes"
    rm "$MBD_HOME/incoming/$changes"
    run_mbd 7 mbd-incoming run
    assert_rejected_with 7 "File name too long"
    assert_equal "$(ls "$MBD_HOME/incoming")" ""
    [ -f "$(ls -d "$MBD_HOME"/var/rejected/*/)/$(basename "$CORPUS"/good-plain/*.tar.xz)" ]
    # and a claim with nothing wrong is finished as the interrupted pass would have
    upload good-plain
    mkdir -p "$claim"
    mv "$MBD_HOME/incoming/$changes" "$MBD_HOME/incoming/$(basename "$CORPUS"/good-plain/*.dsc)" "$claim/"
    run_mbd mbd-incoming run
    # (the first upload's rejection stays where it was)
    assert_equal "$(where good-plain)" "rejected builds"
    assert_equal "$(claims)" 0
    assert_equal "$(ls "$MBD_HOME/incoming")" ""
}

@test "a listed file the pass may not move (EPERM: sticky incoming/, someone else's file): rejected saying so, the file stays" {
    local tar
    tar=$(basename "$CORPUS"/good-plain/*.tar.xz)
    upload good-plain
    chown nobody "$MBD_HOME/incoming" "$MBD_HOME/incoming/$tar"
    chmod 1777 "$MBD_HOME/incoming"
    run_mbd 7 unprivileged mbd-incoming run
    assert_rejected_with 7 "cannot claim '$tar': Operation not permitted"
    assert_equal "$(ls "$MBD_HOME/incoming")" "$tar"
    assert_kept good-plain
}

@test "the claim cannot be made or the .changes cannot leave incoming/ (EACCES, EXDEV real): it stays there; the next pass takes it" {
    # EACCES: var/spool/claimed/ not writable
    upload good-plain
    chmod 555 "$MBD_HOME/var/spool/claimed"
    run_mbd 14 unprivileged mbd-incoming run
    assert_stderr_contains "cannot create a directory in '$MBD_HOME/var/spool/claimed': Permission denied"
    assert_equal "$(where good-plain)" incoming
    assert_kept good-plain
    chmod 755 "$MBD_HOME/var/spool/claimed"
    # EACCES: incoming/ not writable (the claim directory made is removed again)
    chmod 555 "$MBD_HOME/incoming"
    run_mbd 14 unprivileged mbd-incoming run
    assert_stderr_contains "cannot claim '$(basename "$CORPUS"/good-plain/*.changes)': Permission denied"
    assert_equal "$(where good-plain)" incoming
    assert_equal "$(claims)" 0
    chmod 755 "$MBD_HOME/incoming"
    # EXDEV: var/spool/claimed/ on another file system
    mount -t tmpfs -o size=1m,mode=0755 mbdt-claimed "$MBD_HOME/var/spool/claimed"
    run_mbd 14 mbd-incoming run
    assert_stderr_contains "Invalid cross-device link"
    assert_equal "$(where good-plain)" incoming
    assert_kept good-plain
    umount "$MBD_HOME/var/spool/claimed"
    run_mbd mbd-incoming run
    assert_accepted
    assert_kept good-plain
}

@test "the same, injected: mkdir and rename of the .changes fail with EACCES, EXDEV, ENOSPC, EMLINK" {
    local point err n=0
    for point in incoming.claim.mkdir incoming.claim.rename; do
        for err in EACCES EXDEV ENOSPC EMLINK; do
            n=$((n + 1))
            instance "$BATS_TEST_TMPDIR/home.$n"
            upload good-plain
            run_mbd "$(exit_of $err)" env MBD_FAULT="$point:1:$err" mbd-incoming run
            assert_stderr_contains "$(text_of $err)"
            assert_equal "$point $err: $(where good-plain) $(claims)" "$point $err: incoming 0"
            assert_kept good-plain
            run_mbd mbd-incoming run
            assert_accepted
            assert_kept good-plain
        done
    done
}

@test "a listed file that cannot be moved into the claim (EACCES, EXDEV, ENOSPC, EMLINK injected): rejected saying so, also for a claim left behind" {
    local err n=0 dsc changes claim
    dsc=$(basename "$CORPUS"/good-plain/*.dsc)
    changes=$(basename "$CORPUS"/good-plain/*.changes)
    for err in EACCES EXDEV ENOSPC EMLINK; do
        n=$((n + 1))
        instance "$BATS_TEST_TMPDIR/home.$n"
        upload good-plain
        # the .changes moves (1), its .dsc does not (2)
        run_mbd 7 env MBD_FAULT="incoming.claim.rename:2:$err" mbd-incoming run
        assert_rejected_with 7 "not all of the upload could be claimed (left in incoming/: cannot claim '$dsc': $(text_of $err))"
        assert_equal "$(ls "$MBD_HOME/incoming")" "$dsc"
        assert_kept good-plain
        # the same when a pass finishes a claim left behind
        n=$((n + 1))
        instance "$BATS_TEST_TMPDIR/home.$n"
        upload good-plain
        claim="$MBD_HOME/var/spool/claimed/20260101T000000Z-$changes.AbCdEf"
        mkdir -p "$claim"
        mv "$MBD_HOME/incoming/$changes" "$claim/"
        run_mbd 7 env MBD_FAULT="incoming.claim.rename:1:$err" mbd-incoming run
        assert_rejected_with 7 "cannot claim '$dsc': $(text_of $err)"
        assert_kept good-plain
    done
}

@test "a rejection that cannot be kept (EACCES real; EACCES, EXDEV, ENOSPC, EMLINK injected) stays claimed, finished by the next pass" {
    local point err n=0
    upload version-rule
    chmod 555 "$MBD_HOME/var/rejected"
    run_mbd 14 unprivileged mbd-incoming run
    assert_stderr_contains "Permission denied"
    assert_equal "$(where version-rule) $(claims)" "claimed 1"
    assert_kept version-rule
    chmod 755 "$MBD_HOME/var/rejected"
    run_mbd 7 mbd-incoming run
    assert_rejected_with 7 "does not match the version rule"
    assert_kept version-rule
    for point in incoming.reject.mkdir incoming.reject.open incoming.reject.rename; do
        for err in EACCES EXDEV ENOSPC EMLINK; do
            n=$((n + 1))
            instance "$BATS_TEST_TMPDIR/home.$n"
            upload version-rule
            run_mbd "$(exit_of $err)" env MBD_FAULT="$point:1:$err" mbd-incoming run
            assert_stderr_contains "$(text_of $err)"
            assert_equal "$point $err: $(where version-rule) $(claims)" "$point $err: claimed 1"
            assert_kept version-rule
            run_mbd 7 mbd-incoming run
            assert_rejected_with 7 "does not match the version rule"
            assert_kept version-rule
        done
    done
}

@test "an accepted upload that cannot be moved to var/builds/ (EACCES real; EXDEV, ENOSPC, EMLINK injected) is never rejected: the next pass moves it" {
    local err n=0
    upload good-plain
    chmod 555 "$MBD_HOME/var/builds"
    run_mbd 14 unprivileged mbd-incoming run
    assert_stderr_contains "Permission denied"
    assert_equal "$(where good-plain) $(claims)" "claimed 1"
    assert_kept good-plain
    chmod 755 "$MBD_HOME/var/builds"
    run_mbd mbd-incoming run
    assert_accepted
    assert_kept good-plain
    for err in EXDEV ENOSPC EMLINK; do
        n=$((n + 1))
        instance "$BATS_TEST_TMPDIR/home.$n"
        upload good-plain
        run_mbd "$(exit_of $err)" env MBD_FAULT="incoming.accept.rename:1:$err" mbd-incoming run
        assert_equal "$err: $(where good-plain) $(claims)" "$err: claimed 1"
        run_mbd mbd-incoming run
        assert_accepted
        assert_kept good-plain
    done
}

@test "no space for real (a tmpfs out of inodes): no claim directory, then no REASON; nothing lost, the next pass finishes" {
    local small="$BATS_TEST_TMPDIR/small" d i=0
    # incoming/ and where uploads go from it on one small file system
    mkdir -p "$small"
    mount -t tmpfs -o size=8m,nr_inodes=64,mode=0755 mbdt-small "$small"
    for d in incoming var/spool/claimed var/rejected var/builds; do
        mkdir "$small/${d##*/}"
        rmdir "$MBD_HOME/$d"
        ln -s "$small/${d##*/}" "$MBD_HOME/$d"
    done
    upload version-rule
    while : 2>/dev/null >"$small/filler.$i"; do
        i=$((i + 1))
    done
    [ "$i" -gt 0 ]
    run_mbd 15 mbd-incoming run
    assert_stderr_contains "cannot create a directory in '$MBD_HOME/var/spool/claimed': No space left on device"
    assert_equal "$(where version-rule) $(claims)" "incoming 0"
    assert_kept version-rule
    # one inode: the claim directory, and no REASON
    rm "$small/filler.0"
    run_mbd 15 mbd-incoming run
    assert_stderr_contains "No space left on device"
    assert_equal "$(where version-rule) $(claims)" "claimed 1"
    assert_kept version-rule
    rm "$small"/filler.*
    run_mbd 7 mbd-incoming run
    assert_rejected_with 7 "does not match the version rule"
    assert_kept version-rule
}
