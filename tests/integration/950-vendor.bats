#!/usr/bin/env bats
# bats file_tags=slow
# A distribution built entirely from a second vendor's archive (issue 20): the test
# publishes "vendorx" itself — the packages of a bookworm buildd chroot, downloaded
# from Debian's mirror, put into a reprepro archive with its own OpenPGP key, codename
# and Origin, served by Debian's nginx — and an instance uses it as the base source
# (behind a dead first URI) of distribution vendorx: its chroot comes from it, and an
# upload is built in that chroot and installed by apt from the published suite.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/nginx

setup() {
    mbd_setup
    mbdt_build_user
    export PKG="$BATS_TEST_TMPDIR/pkg"
    mkdir -p "$PKG"
}

teardown() {
    stop_nginx
    stop_gpg_agent "$BATS_TEST_TMPDIR/vendor-gnupg"
    mbd_teardown
    mbd_remove_test_users
}

mirror() {
    mbd-repo --show-config | sed -nE 's/^mirror += ([^ ]+) .*/\1/p'
}

# vendor_debs: a directory with the current bookworm .debs of every package a cached
# bookworm/amd64 buildd chroot has installed (chroot.include too), downloaded once per
# package list into $MBDT_CACHE/vendor (apt-get download with an apt root of its own;
# the one of another list goes),
# and in its file "override" their priorities as Debian's archive has them (apt's own
# control file says important, the archive required: mmdebstrap's buildd variant
# installs the required ones).
vendor_debs() {
    local tarball names sum dir
    tarball=$(mbd_chroot_tarball bookworm amd64) || return 1
    names=$(tar --zstd -xOf "$tarball" ./var/lib/dpkg/status | sed -n 's/^Package: //p' | sort -u)
    sum=$(md5sum <<<"$names" | cut -c1-8)
    dir="$MBDT_CACHE/vendor/debs-$sum"
    mkdir -p "$MBDT_CACHE/vendor"
    (
        flock 9
        [ ! -e "$dir/.complete" ] || exit 0
        rm -rf "$MBDT_CACHE"/vendor/debs-*
        mkdir -p "$dir"
        mbdt_apt_sandbox "$dir.apt" /usr/share/keyrings/debian-archive-keyring.gpg "deb $(mirror) bookworm main"
        mbdt_apt "$dir.apt" update >&2 || exit 1
        awk 'NR == FNR { want[$1]; next } /^Package: / { p = $2 } /^Priority: / && (p in want) { print p, "Priority", $2 }' \
            <(printf '%s\n' "$names") "$dir.apt"/var/lib/apt/lists/*_Packages | sort -u >"$dir/override"
        # shellcheck disable=SC2086 # the names are words
        (cd "$dir" && mbdt_apt "$dir.apt" download $names) >"$dir.log" 2>&1 || { tail -n 20 "$dir.log" >&2; exit 1; }
        rm -rf "$dir.apt"
        touch "$dir/.complete"
    ) 9>"$MBDT_CACHE/vendor/.lock" || return 1
    printf '%s\n' "$dir"
}

# vendor_archive: the vendor's key in $BATS_TEST_TMPDIR/vendorx.asc, its archive
# (codename vendorx, Origin Vendorx, Version 1, signed by that key) under
# $BATS_TEST_TMPDIR/vendor/repositories/vendorx, served by nginx at $NGINX_URL/repositories/vendorx.
vendor_archive() {
    local debs gnupg="$BATS_TEST_TMPDIR/vendor-gnupg" conf="$BATS_TEST_TMPDIR/reprepro" fpr
    command -v reprepro >/dev/null || skip "no reprepro here (package reprepro; scripts/install-deps)"
    debs=$(vendor_debs)
    mkdir -m 700 "$gnupg"
    GNUPGHOME=$gnupg gpg --batch --quiet --passphrase '' \
        --quick-gen-key "Vendorx Archive <archive@vendorx.example.org>" ed25519 sign never
    fpr=$(GNUPGHOME=$gnupg gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    GNUPGHOME=$gnupg gpg --batch --armor --export "$fpr" >"$BATS_TEST_TMPDIR/vendorx.asc"
    mkdir -p "$conf/conf" "$BATS_TEST_TMPDIR/vendor/repositories"
    printf '%s\n' "Origin: Vendorx" "Label: Vendorx" "Codename: vendorx" "Version: 1" "Architectures: amd64" \
        "Components: main" "Description: a second vendor's archive made by the mbd test suite" \
        "DebOverride: $debs/override" "SignWith: $fpr" >"$conf/conf/distributions"
    GNUPGHOME=$gnupg reprepro --silent -b "$conf" --outdir "$BATS_TEST_TMPDIR/vendor/repositories/vendorx" \
        includedeb vendorx "$debs"/*.deb
    start_nginx "$BATS_TEST_TMPDIR/vendor"
    VENDOR_URL="$NGINX_URL/repositories/vendorx"
}

# bats test_tags=slow
@test "a distribution built entirely from a second vendor's archive: chroot made and updated past a dead first URI, build, apt install" {
    vendor_archive
    run_mbd mbd-keygen init --algo ed25519
    run_mbd mbd-repo source add vendorx --codename vendorx --origin Vendorx \
        --uri http://127.0.0.1:9/ --uri "$VENDOR_URL" --key "$BATS_TEST_TMPDIR/vendorx.asc"
    run_mbd mbd-repo source check vendorx
    assert_output_contains "codeversion:   1"
    assert_output_contains "checked at:    $VENDOR_URL"
    run_mbd mbd-repo source activate vendorx
    run_mbd mbd-repo dist add vendorx --source vendorx --arch amd64
    run_mbd mbd-repo create test --dist vendorx
    run_mbd mbd-repo check test
    run_mbd mbd-repo repository activate test

    # the chroot: from the base source, the dead URI passed over with a warning
    run --separate-stderr mbd-chroot create vendorx amd64
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (shown when the test fails)
    printf '%s\n' "$stderr" >&2
    assert_equal "$status" 0
    assert_stderr_contains "W: chroot 'vendorx/amd64': create from 'http://127.0.0.1:9/' failed, trying '$VENDOR_URL' next: "
    assert_stderr_contains "created chroot 'vendorx/amd64' from '$VENDOR_URL' (source 'vendorx')"
    run_mbd mbd-chroot list --json
    assert_equal "$(jq -r '.[0] | [.mirror, .base_source, .suite] | join(" ")' <<<"$output")" "$VENDOR_URL vendorx vendorx"
    local tarball
    tarball=$(jq -r '.[0].tarball' <<<"$output")
    assert_equal "$(tar --zstd -xOf "$tarball" ./etc/apt/sources.list)" \
        "deb [signed-by=/etc/apt/keyrings/mbd-source.gpg] $VENDOR_URL vendorx main"
    # update (which checks it after) falls back the same way
    run --separate-stderr mbd-chroot update vendorx amd64
    printf '%s\n' "$stderr" >&2
    assert_equal "$status" 0
    assert_stderr_contains "W: chroot 'vendorx/amd64': update from 'http://127.0.0.1:9/' failed, trying '$VENDOR_URL' next: "
    assert_stderr_contains "updated chroot 'vendorx/amd64' from '$VENDOR_URL' (source 'vendorx')"
    assert_stderr_contains "chroot 'vendorx/amd64' passed its check"
    assert_equal "$(tar --zstd -xOf "$tarball" ./etc/apt/sources.list)" \
        "deb [signed-by=/etc/apt/keyrings/mbd-source.gpg] $VENDOR_URL vendorx main"
    run_mbd mbd-chroot activate vendorx amd64

    # an upload, built in that chroot and installed by apt from the published suite
    local fpr log
    fpr=$(mbdt_uploader_key)
    gpg --batch --armor --export "$fpr" >"$BATS_TEST_TMPDIR/uploader.asc"
    run_mbd mbd-keygen uploader add "$BATS_TEST_TMPDIR/uploader.asc" --repo test
    mbd-repo dput-conf >"$BATS_TEST_TMPDIR/dput.cf"
    export MBDT_DPUT_HOST
    MBDT_DPUT_HOST=$(sed -n 's/^\[\(.*\)\]$/\1/p' "$BATS_TEST_TMPDIR/dput.cf" | head -n 1)
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test1+1 vendorx-test-unstable)"
    run_mbd mbd-incoming run
    run_mbd mbd-build run
    run_mbd mbd-incoming run
    assert_output_contains "installed 1"
    run_mbd mbd-build list --json
    assert_equal "$(jq -r '.[0].status' <<<"$output")" successful
    log=$(jq -r '.[0].log' <<<"$output")
    grep -q "^Unpacking $tarball to " "$log"

    mbd-keygen export --output "$BATS_TEST_TMPDIR/instance.asc"
    mbdt_apt_sandbox "$BATS_TEST_TMPDIR/apt" "$BATS_TEST_TMPDIR/instance.asc"
    mbd-repo sources-list test --codename vendorx --suite unstable --signed-by "$BATS_TEST_TMPDIR/instance.asc" \
        >"$BATS_TEST_TMPDIR/apt/etc/apt/sources.list.d/test.sources"
    mbdt_apt "$BATS_TEST_TMPDIR/apt" update
    mbdt_apt "$BATS_TEST_TMPDIR/apt" install tiny
    assert_equal "$(cat "$BATS_TEST_TMPDIR/apt/usr/share/tiny/data")" "tiny 1.0~test1+1"
}
