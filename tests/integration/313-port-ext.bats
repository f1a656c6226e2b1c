#!/usr/bin/env bats
# mbd-repo port-ext: a real Debian source (hello from bookworm, found through the mirror's
# Sources index) verified by dscverify against debian-keyring and uploaded, signed by the
# instance, for each distribution; a tampered .dsc or .orig and a keyring without the
# signer are refused with the reason and nothing uploaded. The slow test builds the port
# with sbuild, installs it and installs it with apt.

load ../helpers
load ../lib/debian
load ../lib/pipeline

MIRROR="${MBDT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# hello's .dsc URL in bookworm (from the mirror's Sources index: never a version hard-coded
# here that the mirror may drop), and a copy of its files in $BATS_FILE_TMPDIR/debian.
setup_file() {
    [ -f /usr/share/keyrings/debian-keyring.gpg ] || skip "no debian-keyring (scripts/install-deps)"
    local dir="$BATS_FILE_TMPDIR/debian" paragraph f
    mkdir -p "$dir"
    curl -fsS --retry 2 -o "$BATS_FILE_TMPDIR/Sources.xz" "$MIRROR/dists/bookworm/main/source/Sources.xz"
    paragraph=$(xzcat "$BATS_FILE_TMPDIR/Sources.xz" | awk -v RS= '$0 ~ /(^|\n)Package: hello\n/ {print; exit}')
    HELLO_VERSION=$(sed -n 's/^Version: //p' <<<"$paragraph")
    HELLO_DSC=$(sed -n '/^Checksums-Sha256:/,/^[^ ]/s/^ [0-9a-f]\{64\} [0-9]* \(.*\.dsc\)$/\1/p' <<<"$paragraph")
    HELLO_URL="$MIRROR/$(sed -n 's/^Directory: //p' <<<"$paragraph")/$HELLO_DSC"
    if [ -z "$HELLO_VERSION" ] || [ -z "$HELLO_DSC" ]; then
        echo "no source hello in $MIRROR's bookworm Sources" >&2
        return 1
    fi
    (cd "$dir" && dget --quiet --download-only --allow-unauthenticated "$HELLO_URL" >/dev/null)
    while read -r f; do
        [ -s "$dir/$f" ] || { echo "dget did not fetch $f" >&2; return 1; }
    done < <(sed -n '/^Checksums-Sha256:/,/^[^ ]/s/^ [0-9a-f]\{64\} [0-9]* //p' <<<"$paragraph")
    export HELLO_VERSION HELLO_DSC HELLO_URL
}

setup() {
    mbd_setup
    mbdt_pipeline_instance test
    # the port's changelog entry is signed off by the instance: lintian wants a real mail domain
    export MBD_EMAIL=mbd@example.org
}

teardown() {
    mbd_teardown
    mbd_remove_test_users
}

# A copy of hello's files to tamper with, served as file://; prints the .dsc's URL.
hello_copy() {
    local dir="$BATS_TEST_TMPDIR/copy"
    mkdir -p "$dir"
    cp "$BATS_FILE_TMPDIR"/debian/* "$dir/"
    echo "file://$dir/$HELLO_DSC"
}

# The name of the upstream tarball among the files in DIR (not its signature).
orig_of() {
    local f
    for f in "$1"/*.orig.tar.*; do
        [[ "$f" == *.asc ]] || basename "$f"
    done
}

# Nothing reached incoming/, and no work directory was left behind.
assert_nothing_uploaded() {
    assert_equal "$(ls -A "$MBD_HOME/incoming")" ""
    assert_equal "$(ls -A "$MBD_HOME/tmp" 2>/dev/null)" ""
}

# The instance key, binary, for gpgv.
instance_keyring() {
    gpg --batch --yes --dearmor -o "$BATS_TEST_TMPDIR/instance.gpg" "$BATS_TEST_TMPDIR/instance.asc"
    echo "$BATS_TEST_TMPDIR/instance.gpg"
}

@test "port-ext verifies a real Debian source with debian-keyring and uploads it, signed by the instance, once per distribution" {
    mbd-repo setup other --codename bullseye --arch amd64 --no-check >/dev/null
    run_mbd mbd-repo port-ext "$HELLO_URL" bookworm-test-unstable bullseye-other-unstable
    assert_output_contains "hello $HELLO_VERSION from $HELLO_URL: uploaded $HELLO_VERSION~test12+1 for bookworm-test-unstable"
    assert_output_contains "uploaded $HELLO_VERSION~other11+1 for bullseye-other-unstable"
    local keyring v
    keyring=$(instance_keyring)
    for v in "$HELLO_VERSION~test12+1:bookworm-test-unstable" "$HELLO_VERSION~other11+1:bullseye-other-unstable"; do
        changes="$MBD_HOME/incoming/hello_${v%%:*}_source.changes"
        gpgv --keyring "$keyring" "$changes"
        grep -q "^Distribution: ${v#*:}$" "$changes"
        # Debian's tools agree: its files match (the .dsc in it is unsigned, as port's is: the
        # .changes' signature vouches for it), and the source unpacks to the version the rule gives
        dscverify --no-conf --no-sig-check "$changes" >/dev/null
        rm -rf "$BATS_TEST_TMPDIR/ported"
        (cd "$BATS_TEST_TMPDIR" && dpkg-source --no-check -x "$MBD_HOME/incoming/hello_${v%%:*}.dsc" ported >/dev/null)
        assert_equal "$(cd "$BATS_TEST_TMPDIR/ported" && dpkg-parsechangelog -S Version)" "${v%%:*}"
        assert_equal "$(cd "$BATS_TEST_TMPDIR/ported" && dpkg-parsechangelog -S Distribution)" "${v#*:}"
        (cd "$BATS_TEST_TMPDIR/ported" && dpkg-parsechangelog -S Changes) | grep -qF "Automatic port of hello $HELLO_VERSION from $HELLO_URL."
        # the previous entry is Debian's own
        assert_equal "$(cd "$BATS_TEST_TMPDIR/ported" && dpkg-parsechangelog -o 1 -c 1 -S Version)" "$HELLO_VERSION"
    done
    # the upstream tarball is Debian's, byte for byte
    orig=$(orig_of "$BATS_FILE_TMPDIR/debian")
    cmp "$BATS_FILE_TMPDIR/debian/$orig" "$MBD_HOME/incoming/$orig"
    run_mbd mbd-incoming events --type PORTING --json
    assert_equal "$(jq -r 'map(.distribution) | sort | join(" ")' <<<"$output")" "bookworm-test-unstable bullseye-other-unstable"
    assert_equal "$(ls -A "$MBD_HOME/tmp")" ""
    # incoming takes both: the instance's signature is what lets them in; the .orig both
    # list is linked into the first claim and moved with the second, none left behind
    run_mbd mbd-incoming run
    assert_output_contains "accepted 2"
    assert_equal "$(ls -A "$MBD_HOME/incoming")" ""

    # an experimental suite gets +0; a named keyring (armored) that holds the signer verifies too
    gpg --batch --no-default-keyring --keyring /usr/share/keyrings/debian-keyring.gpg --export --armor \
        >"$BATS_TEST_TMPDIR/debian-keyring.asc"
    run_mbd mbd-repo port-ext --keyring "$BATS_TEST_TMPDIR/debian-keyring.asc" "$(hello_copy)" bookworm-test-experimental
    assert_output_contains "uploaded $HELLO_VERSION~test12+0 for bookworm-test-experimental"
}

@test "port-ext refuses a .dsc changed by one byte, with dscverify's reason, and uploads nothing" {
    local url
    url=$(hello_copy)
    # one byte of the signed text: the Maintainer's first letter
    sed -i 's/^Maintainer: \(.\)/Maintainer: X/' "${url#file://}"
    run_mbd 8 mbd-repo port-ext "$url" bookworm-test-unstable
    assert_stderr_contains "E: '$HELLO_DSC' does not verify:"
    assert_stderr_contains "BAD signature"
    assert_nothing_uploaded
    run_mbd mbd-incoming events --type REJECTED --json
    assert_equal "$(jq -r '.[0].source + " " + .[0].version' <<<"$output")" "hello $HELLO_VERSION"
    jq -e '.[0].message | contains("refused") and contains("BAD signature")' <<<"$output"
    run_mbd mbd-incoming events --type PORTING --json
    assert_equal "$(jq length <<<"$output")" 0
}

@test "port-ext refuses a source whose .orig changed by one byte, with dscverify's reason" {
    local url dir orig
    url=$(hello_copy)
    dir=$(dirname "${url#file://}")
    orig=$(orig_of "$dir")
    printf 'X' | dd of="$dir/$orig" bs=1 seek=1000 conv=notrunc status=none
    run_mbd 8 mbd-repo port-ext "$url" bookworm-test-unstable
    assert_stderr_contains "E: '$HELLO_DSC' does not verify:"
    assert_stderr_contains "$orig"
    assert_nothing_uploaded
}

@test "port-ext refuses what a named keyring does not vouch for, a missing keyring, a missing file, bad URLs and targets" {
    local url other
    url=$(hello_copy)
    # a keyring without the signer: an unrelated key
    other=$(mbdt_uploader_key "Somebody Else <else@example.org>")
    gpg --batch --export "$other" >"$BATS_TEST_TMPDIR/else.gpg"
    run_mbd 8 mbd-repo port-ext --keyring "$BATS_TEST_TMPDIR/else.gpg" "$url" bookworm-test-unstable
    assert_stderr_contains "does not verify"
    assert_stderr_contains "No public key"
    assert_nothing_uploaded
    run_mbd 4 mbd-repo port-ext --keyring "$BATS_TEST_TMPDIR/nope.gpg" "$url" bookworm-test-unstable
    assert_stderr_contains "no keyring '$BATS_TEST_TMPDIR/nope.gpg'"
    # a file the .dsc lists is not there
    rm "$(dirname "${url#file://}")"/hello_*.debian.tar.*
    run_mbd 4 mbd-repo port-ext "$url" bookworm-test-unstable
    assert_stderr_contains "cannot download"
    assert_nothing_uploaded
    # URLs and targets are refused before anything is fetched
    local bad
    for bad in "ftp://deb.debian.org/debian/hello_1.0-1.dsc" "file:///tmp/hello_1.0-1.txt" \
        "file:///tmp/hello.dsc" "http://example.org/Hello_1.0-1.dsc" "http://example.org/hello_1.0-1.dsc?x=1" \
        "http://example.org/hello_1:1.0-1.dsc" "http://example.org/hello_1.0_1.dsc" "http://example.org/"; do
        run_mbd 2 mbd-repo port-ext "$bad" bookworm-test-unstable
    done
    run_mbd 2 mbd-repo port-ext "$url"
    run_mbd 2 mbd-repo port-ext "$url" bookworm-test-unstable bookworm-test-unstable
    assert_stderr_contains "named twice"
    run_mbd 7 mbd-repo port-ext "$url" bookworm-test-testing
    assert_stderr_contains "not an uploadable suite"
    run_mbd 4 mbd-repo port-ext "$url" bookworm-nope-unstable
    assert_nothing_uploaded
}

# bats test_tags=slow
@test "a port-ext of a real Debian source is accepted, built by sbuild, published and installed by apt" {
    mbdt_build_user
    mbd_cached_chroot bookworm amd64
    run_mbd mbd-repo port-ext "$HELLO_URL" bookworm-test-unstable
    run_mbd mbd-incoming run
    assert_output_contains "accepted 1"
    run_mbd mbd-build run
    run_mbd mbd-incoming run
    assert_output_contains "installed 1"
    run_mbd mbd-repo show hello --json
    jq -e --arg v "$HELLO_VERSION~test12+1" \
        'map(select(.distribution == "bookworm-test-unstable" and .version == $v)) | length == 1' <<<"$output"
    run_mbd mbd-repo check test

    mbdt_apt_sandbox "$BATS_TEST_TMPDIR/apt" "$BATS_TEST_TMPDIR/instance.asc"
    mbd-repo sources-list test --codename bookworm --suite unstable --signed-by "$BATS_TEST_TMPDIR/instance.asc" \
        >"$BATS_TEST_TMPDIR/apt/etc/apt/sources.list.d/test.sources"
    # the sandbox has only our archive: hello's one dependency, libc6, stands in at this
    # (Debian 12) machine's version, as the bookworm chroot has it
    printf 'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\nDescription: stand-in\n' \
        "$(dpkg-query -W -f '${Version}' libc6)" >"$BATS_TEST_TMPDIR/apt/var/lib/dpkg/status"
    mbdt_apt "$BATS_TEST_TMPDIR/apt" update
    mbdt_apt "$BATS_TEST_TMPDIR/apt" install hello
    [ -x "$BATS_TEST_TMPDIR/apt/usr/bin/hello" ]
    assert_equal "$(zcat "$BATS_TEST_TMPDIR/apt/usr/share/doc/hello/changelog.Debian.gz" | head -n 1 | cut -d' ' -f2)" \
        "($HELLO_VERSION~test12+1)"
}
