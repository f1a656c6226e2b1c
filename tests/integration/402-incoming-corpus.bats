#!/usr/bin/env bats
# The hostile-upload corpus (tests/corpus/uploads/, made by tests/corpus/make-uploads):
# every case is rejected with its own code and reason, kept untouched in
# var/rejected/, nothing of it installed, and no pass reads or writes anything
# outside the instance home (strace); the good cases are accepted.

load ../helpers
load ../lib/debian

CORPUS="$MBDT_SOURCE_DIR/tests/corpus/uploads"
KEYS="$MBDT_SOURCE_DIR/tests/fixtures/keys"

setup() {
    mbd_setup
    mbd-keygen init --algo ed25519 >/dev/null
    for r in test other; do
        mbd-repo setup "$r" --codename bookworm --arch amd64 --no-check >/dev/null
    done
    for k in uploader expired revoked; do
        run_mbd mbd-keygen uploader add "$KEYS/$k.asc" --repo test
    done
    run_mbd mbd-keygen uploader add "$KEYS/peer.asc" --repo other
    # what the version cases compare with
    mkdir -p "$BATS_TEST_TMPDIR/pkg"
    run_mbd mbd-repo install "$(mbdt_build_package "$BATS_TEST_TMPDIR/pkg" held 1.0~test12+5 --dist bookworm-test-unstable)"
    # what symbolic links of the corpus point at: ../../outside/ seen from incoming/
    mkdir -p "$BATS_TEST_TMPDIR/outside"
    printf 'secret\n' >"$BATS_TEST_TMPDIR/outside/secret"
    printf 'secret\n' >"$BATS_TEST_TMPDIR/outside/secret.changes"
    [ "$(cd "$MBD_HOME/incoming/../../outside" && pwd)" = "$BATS_TEST_TMPDIR/outside" ]
}

# One case through one pass under strace (incoming.timeout=$CASE_TIMEOUT, default 0); checks its outcome.
run_case() {
    local case=$1 code=$2 reason=$3 before dirs f name kept trace="$BATS_TEST_TMPDIR/trace.$1"
    before=$(ls "$MBD_HOME/var/rejected" 2>/dev/null)
    cp -a "$CORPUS/$case/." "$MBD_HOME/incoming/"
    run --separate-stderr strace -f -y -qq -o "$trace" -e trace=%file,openat,openat2 \
        mbd-incoming run -o incoming.timeout="${CASE_TIMEOUT:-0}"
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    printf '%s: exit %s\n%s\n%s\n' "$case" "$status" "$output" "$stderr" >>"$BATS_TEST_TMPDIR/commands.log"
    # nothing outside the home: no path under outside/, and no fd opened that resolves there
    if grep -q "$BATS_TEST_TMPDIR/outside" "$trace"; then
        grep "$BATS_TEST_TMPDIR/outside" "$trace" | head -5 >&2
        echo "$case: a pass touched a file outside the home" >&2
        return 1
    fi
    if grep -E 'O_(WRONLY|RDWR|CREAT)|^[0-9]+ +(rename|unlink|mkdir|link|symlink|chmod|chown|truncate)' "$trace" |
        grep -vE "\"($MBD_HOME|/dev/null|/proc/|/tmp/)|<($MBD_HOME|/dev/|/proc/|/tmp/)|= -1 " | grep -q .; then
        grep -E 'O_(WRONLY|RDWR|CREAT)|^[0-9]+ +(rename|unlink|mkdir|link|symlink|chmod|chown|truncate)' "$trace" |
            grep -vE "\"($MBD_HOME|/dev/null|/proc/|/tmp/)|<($MBD_HOME|/dev/|/proc/|/tmp/)|= -1 " | head -5 >&2
        echo "$case: a pass wrote outside the home" >&2
        return 1
    fi
    [ -z "$(ls "$MBD_HOME/incoming")" ] || { echo "$case: left in incoming/: $(ls "$MBD_HOME/incoming")" >&2; return 1; }
    if [ "$code" = 0 ]; then
        if [ "$status" -ne 0 ] || ! grep -q "accepted 1" <<<"$output"; then
            echo "$case: not accepted: $stderr" >&2
            return 1
        fi
        return 0
    fi
    [ "$status" -eq 7 ] || { echo "$case: exit $status, not 7: $stderr" >&2; return 1; }
    dirs=$(comm -13 <(printf '%s\n' "$before" | sort) <(ls "$MBD_HOME/var/rejected" | sort))
    [ -n "$dirs" ] || { echo "$case: nothing in var/rejected/" >&2; return 1; }
    # the reason, with its code
    (cd "$MBD_HOME/var/rejected" && for d in $dirs; do cat "$d/REASON"; done) >"$BATS_TEST_TMPDIR/reasons"
    if ! grep -qF "Code: $code " "$BATS_TEST_TMPDIR/reasons" || ! grep -qF -- "$reason" "$BATS_TEST_TMPDIR/reasons"; then
        echo "$case: expected code $code and '$reason', got:" >&2
        cat "$BATS_TEST_TMPDIR/reasons" >&2
        return 1
    fi
    # every file kept untouched (a symbolic link as a link to the same place)
    for f in "$CORPUS/$case"/* "$CORPUS/$case"/.[!.]*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        name=${f##*/}
        [ "$name" != REASON ] || name=REASON.upload # the upload's own REASON keeps its bytes under this name
        kept=$(cd "$MBD_HOME/var/rejected" && for d in $dirs; do [ -e "$d/$name" ] || [ -L "$d/$name" ] && echo "$d/$name"; done)
        [ -n "$kept" ] || { echo "$case: '$name' is not kept" >&2; return 1; }
        if [ -L "$f" ]; then
            [ "$(readlink "$MBD_HOME/var/rejected/$kept")" = "$(readlink "$f")" ]
        else
            cmp -s "$f" "$MBD_HOME/var/rejected/$kept"
        fi || { echo "$case: '${f##*/}' was changed" >&2; return 1; }
    done
    [ "$(cat "$BATS_TEST_TMPDIR/outside/secret")" = secret ]
}

@test "every case of the hostile-upload corpus gets its reason and code; the good ones are accepted" {
    local n=0 good=0 case code reason failed=()
    while IFS=$'\t' read -r case code reason; do
        run_case "$case" "$code" "$reason" || failed+=("$case")
        n=$((n + 1))
        [ "$code" != 0 ] || good=$((good + 1))
    done <"$CORPUS/cases"
    assert_equal "${failed[*]}" ""
    [ "$n" -ge 30 ]
    [ "$good" -ge 3 ]
    # nothing of the rejected cases was accepted or installed
    run_mbd mbd-incoming uploads --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(.source) | sort | join(" ")')" "good1 good2 good3 good4"
    run_mbd mbd-repo ls --json
    assert_equal "$(printf '%s' "$output" | jq -r 'map(.source) | unique | join(" ")')" held
    run_mbd mbd-incoming events --type REJECTED --limit 0 --json
    [ "$(printf '%s' "$output" | jq length)" -ge "$((n - good))" ]
}

@test "a listed file that is a FIFO or a directory is rejected without blocking the pass" {
    mkfifo "$BATS_TEST_TMPDIR/fifo"
    cp -a "$CORPUS/good-plain/." "$MBD_HOME/incoming/"
    tar=$(ls "$MBD_HOME"/incoming/*.tar.xz)
    rm "$tar"
    mkfifo "$tar"
    run_mbd 7 timeout 60 mbd-incoming run -o incoming.timeout=0
    grep -q "is not a regular file" "$MBD_HOME"/var/rejected/*/REASON
    [ -p "$(ls -d "$MBD_HOME"/var/rejected/*/)/$(basename "$tar")" ]
    cp -a "$CORPUS/good-options/." "$MBD_HOME/incoming/"
    tar=$(ls "$MBD_HOME"/incoming/*.tar.xz)
    rm "$tar"
    mkdir "$tar"
    run_mbd 7 timeout 60 mbd-incoming run -o incoming.timeout=0
    [ "$(grep -l "is not a regular file" "$MBD_HOME"/var/rejected/*/REASON | wc -l)" -eq 2 ]
}

@test "Debian's tools refuse the checksum, size and format cases too; they take the good ones" {
    local case dir
    # dscverify checks every checksum the .changes lists, and, given the .dsc, every one it lists
    for case in sha256-mismatch md5-mismatch sha1-mismatch dsc-md5-mismatch dsc-sha1-mismatch dsc-checksums-wrong \
        checksum-lists-disagree dsc-checksum-lists-disagree size-mismatch short-file good-plain; do
        dir="$BATS_TEST_TMPDIR/ref/$case"
        mkdir -p "$dir"
        cp -a "$CORPUS/$case/." "$dir/"
        run bash -c 'cd "$1" && dscverify --no-sig-check ./*.changes && dscverify --no-sig-check ./*.dsc' - "$dir"
        printf '%s: dscverify exit %s\n%s\n' "$case" "$status" "$output" >>"$BATS_TEST_TMPDIR/commands.log"
        if [ "$case" = good-plain ]; then
            [ "$status" -eq 0 ] || { echo "dscverify refuses $case: $output" >&2; return 1; }
        else
            [ "$status" -ne 0 ] || { echo "dscverify takes $case" >&2; return 1; }
        fi
    done
    # dpkg-source unpacks no source format it does not know
    run dpkg-source -x "$CORPUS"/format-unknown/*.dsc "$BATS_TEST_TMPDIR/unknown"
    [ "$status" -ne 0 ]
    grep -qF "source package format '3.0 (bogus)' is not supported" <<<"$output"
    run_mbd dpkg-source --no-check -x "$CORPUS"/good-plain/*.dsc "$BATS_TEST_TMPDIR/good"
}

@test "what stopped changing is decided at once, not after incoming.timeout: cut short, empty, of the wrong size" {
    local case code reason failed=()
    # (CASE_TIMEOUT: the default hour; the corpus files are older than incoming.settle)
    for case in truncated truncated-signature short-file size-mismatch; do
        IFS=$'\t' read -r _ code reason < <(grep "^$case	" "$CORPUS/cases")
        CASE_TIMEOUT=3600 run_case "$case" "$code" "$reason" || failed+=("$case")
    done
    assert_equal "${failed[*]}" ""
    # their files list nothing: the .changes goes at once, the files wait as orphans would
    for case in empty truncated-body; do
        IFS=$'\t' read -r _ code reason < <(grep "^$case	" "$CORPUS/cases")
        cp -a "$CORPUS/$case/." "$MBD_HOME/incoming/"
        run_mbd 7 mbd-incoming run
        grep -qF "Code: $code " "$MBD_HOME"/var/rejected/*/REASON
        grep -qF -- "$reason" "$MBD_HOME"/var/rejected/*/REASON
        [ ! -e "$MBD_HOME/incoming/tiny_1.0~test12+1_source.changes" ]
        rm -rf "$MBD_HOME"/incoming/* "$MBD_HOME"/var/rejected/*
    done
}
