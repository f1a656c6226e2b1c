#!/usr/bin/env bats
# Signatures by the instance key verify with Debian's tools: gpgv (apt in
# Debian 12) and sqv (apt in Debian 13), and are OpenPGP v4 over SHA-512.
# Nothing signs arbitrary text with the instance key yet but the test driver
# mbd-test-keys (InRelease/Release.gpg will come from mbd-repo).

load ../helpers

setup() {
    mbd_setup
    SIGN="$MBDT_BUILD_DIR/tests/tools/mbd-test-keys"
    cd "$BATS_TEST_TMPDIR" || return
    printf 'Origin: test\nLabel: test\n- a line that starts with a dash\nSuite: unstable\n' >Release
}

# The signed text and the signature of a clearsigned file, as apt splits
# InRelease before it calls sqv.
split_clearsigned() {
    awk -v txt="$2" -v sig="$3" '
        /^-----BEGIN PGP SIGNATURE-----$/ { in_sig = 1 }
        in_sig { print > sig; next }
        in_head && /^$/ { in_head = 0; in_body = 1; next }
        /^-----BEGIN PGP SIGNED MESSAGE-----$/ { in_head = 1; next }
        in_body { sub(/^- /, ""); if (n++) printf "\n" > txt; printf "%s", $0 > txt }' "$1"
}

# "version 4" and "digest algo 10" (SHA-512) in gpg's dump of the signature packet
assert_v4_sha512() {
    run gpg --list-packets "$1"
    printf '%s\n' "$output" | grep -qE '^	version 4, created [0-9]+, md5len 0, sigclass 0x0[01]$'
    printf '%s\n' "$output" | grep -qE '^	digest algo 10, '
    [ "$(printf '%s\n' "$output" | grep -c '^:signature packet:')" = 1 ]
}

verify_with_debian_tools() {
    run_mbd mbd-keygen export --binary --output key.gpg
    run_mbd "$SIGN" clearsign Release
    printf '%s' "$output" >InRelease
    run_mbd "$SIGN" detach-sign Release
    printf '%s\n' "$output" >Release.gpg
    fpr=$(mbd-keygen show --json | jq -r .fingerprint)

    run_mbd gpgv --keyring ./key.gpg InRelease
    assert_stderr_contains "using $1 key $fpr"
    assert_stderr_contains "Good signature"
    run_mbd gpgv --keyring ./key.gpg Release.gpg Release
    assert_stderr_contains "Good signature"

    run_mbd sqv --keyring key.gpg Release.gpg Release
    assert_equal "$output" "$fpr"
    split_clearsigned InRelease InRelease.txt InRelease.sig
    cmp <(printf '%s' "$(cat Release)") InRelease.txt
    run_mbd sqv --keyring key.gpg InRelease.sig InRelease.txt
    assert_equal "$output" "$fpr"

    assert_v4_sha512 InRelease.sig
    assert_v4_sha512 Release.gpg

    # and a changed file does not verify
    sed -i 's/Suite: unstable/Suite: stable/' Release
    run_mbd 1 sqv --keyring key.gpg Release.gpg Release
    run_mbd 1 gpgv --keyring ./key.gpg Release.gpg Release
}

@test "the default RSA 4096 instance key signs what gpgv and sqv accept, v4 over SHA-512" {
    run_mbd mbd-keygen init
    verify_with_debian_tools RSA
}

@test "an Ed25519 instance key signs what gpgv and sqv accept, v4 over SHA-512" {
    run_mbd mbd-keygen init --algo ed25519
    verify_with_debian_tools EDDSA
}
