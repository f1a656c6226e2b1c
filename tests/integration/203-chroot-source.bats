#!/usr/bin/env bats
# mbd-chroot: where a chroot comes from — the base source of its codename's distribution
# (its URIs in order, suite, components and keys) or else the configuration's mirror — and
# check's comparison with what that base source is now; on tarballs that need no network
# (a real chroot from another vendor's archive is in 950-vendor.bats).

load ../helpers
load ../fixtures/keys/keys

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

garbage_tarball() {
    head -c 64k /dev/urandom | zstd -q -o "$1"
}

mirror() {
    mbd-chroot --show-config | sed -nE 's/^mirror += ([^ ]+) .*/\1/p'
}

chroot_json() { # chroot_json JQ-FILTER: of the first chroot
    mbd-chroot list --json | jq -r ".[0] | $1"
}

# Source vendorx (another vendor: codename vendorx, its own key, two URIs that answer
# nothing) and distribution vendorx from it.
vendor_distribution() {
    run_mbd mbd-repo source add vendorx --codename vendorx --origin Vendorx --suite vendorx-main \
        --uri http://127.0.0.1:9/ --uri http://127.0.0.1:9/vendorx --key "$(key_file stranger)"
    run_mbd mbd-repo dist add vendorx --source vendorx --arch amd64
}

@test "another vendor's codename: refused without a distribution, made from the distribution's base source with one" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd 4 mbd-chroot import vendorx amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    assert_stderr_contains "unknown codename 'vendorx' (not a Debian or Ubuntu release known to distro-info-data)"
    run_mbd 4 mbd-chroot create vendorx amd64
    assert_stderr_contains "unknown codename 'vendorx'"

    vendor_distribution
    run_mbd mbd-chroot import vendorx amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    local keyring="$MBD_HOME/var/chroot-keyrings/vendorx.gpg"
    assert_equal "$(chroot_json '.uris | join(" ")')" "http://127.0.0.1:9/ http://127.0.0.1:9/vendorx"
    assert_equal "$(chroot_json .mirror)" "http://127.0.0.1:9/" # (import: the first)
    assert_equal "$(chroot_json .suite)" vendorx-main
    assert_equal "$(chroot_json .components)" main
    assert_equal "$(chroot_json .base_source)" vendorx
    assert_equal "$(chroot_json .keys)" "$(key_fpr stranger)"
    assert_equal "$(chroot_json .keyring)" "$keyring"
    # the source's keys, as a keyring mmdebstrap and apt read (also as an unshared user)
    assert_equal "$(gpg --show-keys --with-colons "$keyring" | awk -F: '/^fpr/ { print $10; exit }')" \
        "$(key_fpr stranger)"
    assert_equal "$(stat -c %a "$keyring")" 644
    # its check goes on to the tarball (garbage here): the source is what it should be
    run_mbd 12 mbd-chroot check vendorx amd64
    assert_stderr_contains "failed its check: "
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    refute_grep "was made from" <<<"$stderr"
}

@test "create tries the base source's URIs in order, says why each failed, and records nothing" {
    [ "$(id -u)" -eq 0 ] || skip "needs root (mmdebstrap's unshare mode as a user needs subuids)"
    vendor_distribution
    run_mbd 16 mbd-chroot create vendorx amd64
    assert_stderr_contains "W: chroot 'vendorx/amd64': create from 'http://127.0.0.1:9/' failed, trying 'http://127.0.0.1:9/vendorx' next: mmdebstrap failed"
    assert_stderr_contains "create of chroot 'vendorx/amd64' failed with every URI of its source: 'http://127.0.0.1:9/': mmdebstrap failed"
    assert_stderr_contains "; 'http://127.0.0.1:9/vendorx': mmdebstrap failed"
    # each attempt has its log, the one that says why
    grep -q "http://127.0.0.1:9/dists/vendorx-main/InRelease" "$MBD_HOME/var/log/chroot-vendorx-amd64-create.log"
    grep -q "http://127.0.0.1:9/vendorx/dists/vendorx-main/InRelease" \
        "$MBD_HOME/var/log/chroot-vendorx-amd64-create-2.log"
    run_mbd mbd-chroot list --json
    assert_equal "$output" "[]"
}

@test "a chroot made from the configured mirror passes as made from a base source with that URI and those keys" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    assert_equal "$(chroot_json .base_source)" ""
    assert_equal "$(chroot_json .keyring)" "$KEYRING"
    # then the model gets the same archive as the base source of distribution bookworm
    run_mbd mbd-repo source add debian-bookworm --codename bookworm --uri "$(mirror)" --key "$KEYRING"
    run_mbd mbd-repo dist add bookworm --source debian-bookworm --arch amd64
    run_mbd 12 mbd-chroot check bookworm amd64
    refute_grep "was made from" <<<"$stderr"

    # the source gains a key: the chroot was made from something else than it is now
    gpg --homedir "$MBD_HOME/gnupg/sources/debian-bookworm" --batch --quiet --import "$(key_file stranger)"
    run_mbd 12 mbd-chroot check bookworm amd64
    assert_stderr_contains "chroot 'bookworm/amd64' failed its check: it was made from mirror '$(mirror)' (keyring '$KEYRING'), but the base source of distribution 'bookworm' is source 'debian-bookworm' ($(mirror), suite bookworm) (keys "
    assert_stderr_contains "): 'mbd-chroot update bookworm amd64' makes it from that"
    assert_stderr_contains "$(key_fpr stranger | cut -c25-)"
    [[ "$(chroot_json .check_message)" == "it was made from mirror "* ]]
    # the keyring the chroots of that source are made from has the new key too
    gpg --show-keys --with-colons "$MBD_HOME/var/chroot-keyrings/debian-bookworm.gpg" | grep -q "^fpr:*$(key_fpr stranger):"
    run_mbd 12 mbd-chroot check --all
    assert_stderr_contains "it was made from mirror"
}

@test "--mirror wins over the base source, with a warning; its check then fails naming both" {
    vendor_distribution
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run --separate-stderr mbd-chroot import vendorx amd64 "$BATS_TEST_TMPDIR/g.tar.zst" \
        --mirror http://mirror.example.org/vendorx --keyring "$(key_file stranger)"
    assert_equal "$status" 0
    assert_stderr_contains "W: chroot 'vendorx/amd64' is made from mirror 'http://mirror.example.org/vendorx' (keyring '$(key_file stranger)') as asked, not from the base source of distribution 'vendorx', source 'vendorx' (http://127.0.0.1:9/ http://127.0.0.1:9/vendorx, suite vendorx-main) (URIs 'http://mirror.example.org/vendorx', now 'http://127.0.0.1:9/ http://127.0.0.1:9/vendorx'; suite 'vendorx', now 'vendorx-main'): its check fails until 'mbd-chroot update vendorx amd64' makes it from that"
    assert_equal "$(chroot_json .mirror)" http://mirror.example.org/vendorx
    assert_equal "$(chroot_json .base_source)" ""
    run_mbd 12 mbd-chroot check vendorx amd64
    assert_stderr_contains "it was made from mirror 'http://mirror.example.org/vendorx' (keyring '$(key_file stranger)'), but the base source of distribution 'vendorx' is source 'vendorx'"
    # an import without options takes the base source again
    run_mbd mbd-chroot import vendorx amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    assert_equal "$(chroot_json .base_source)" vendorx
    assert_equal "$(chroot_json .mirror)" http://127.0.0.1:9/
}
