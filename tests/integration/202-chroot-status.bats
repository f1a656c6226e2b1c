#!/usr/bin/env bats
# mbd-chroot: the seed's model status (prepare, check, activate, deactivate,
# remove), failed checks and their reasons, list --json — on tarballs that
# need no network (the real chroot is in 210-chroot-real.bats).

load ../helpers

# A zstd file that is no tarball.
garbage_tarball() {
    head -c 64k /dev/urandom | zstd -q -o "$1"
}

json_field() { # json_field INDEX FIELD
    jq -r ".[$1].$2" <<<"$output"
}

@test "import refuses a file that is not zstd-compressed (exit 7)" {
    printf 'not a tarball\n' >"$BATS_TEST_TMPDIR/x.tar.zst"
    run_mbd 7 mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/x.tar.zst"
    assert_stderr_contains "is not a zstd-compressed tarball"
    run_mbd 4 mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/none.tar.zst"
}

@test "a tarball that does not unpack fails its check (exit 12): flag failed, reason kept" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot list --json
    assert_equal "$(json_field 0 display)" "prepared -"
    assert_equal "$(json_field 0 size)" "$(stat -c %s "$BATS_TEST_TMPDIR/g.tar.zst")"
    assert_equal "$(json_field 0 sha256)" "$(sha256sum "$BATS_TEST_TMPDIR/g.tar.zst" | cut -d' ' -f1)"

    run_mbd 12 mbd-chroot check bookworm amd64
    assert_stderr_contains "chroot 'bookworm/amd64' failed its check: "
    assert_stderr_contains "tar"
    run_mbd mbd-chroot list --json
    assert_equal "$(json_field 0 status)" "prepared"
    assert_equal "$(json_field 0 flag)" "failed"
    assert_equal "$(json_field 0 display)" "prepared x"
    [[ "$(json_field 0 check_message)" == *tar* ]]
    [ "$(json_field 0 last_check)" -gt 0 ]

    # activating a failed chroot sets the auto-reactivate flag; it is not usable
    run_mbd mbd-chroot activate bookworm amd64
    assert_stderr_contains "will be activated when a check passes"
    run_mbd mbd-chroot list --json
    assert_equal "$(json_field 0 display)" "prepared A"
    run_mbd 17 mbd-chroot usable bookworm amd64
    assert_stderr_contains "chroot 'bookworm/amd64' is not active (status 'prepared A': "
    run_mbd 12 mbd-chroot check bookworm amd64
    assert_stderr_contains "out of service until a check passes"
    run_mbd mbd-chroot deactivate bookworm amd64
    run_mbd mbd-chroot list --json
    assert_equal "$(json_field 0 display)" "prepared x"
}

@test "a tarball changed behind mbd's back fails its check with that reason" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    printf 'x' >>"$MBD_HOME/var/chroots/bookworm/amd64/bookworm-amd64.tar.zst"
    run_mbd 12 mbd-chroot check bookworm amd64
    assert_stderr_contains "does not have its recorded sha256"
    rm "$MBD_HOME/var/chroots/bookworm/amd64/bookworm-amd64.tar.zst"
    run_mbd 12 mbd-chroot check bookworm amd64
    assert_stderr_contains "tarball '$MBD_HOME/var/chroots/bookworm/amd64/bookworm-amd64.tar.zst' is missing"
}

@test "activate needs a check; remove deletes the tarball and keeps the chroot as removed" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd 13 mbd-chroot activate bookworm amd64
    assert_stderr_contains "cannot activate chroot 'bookworm/amd64': it is not checked"
    run_mbd mbd-chroot remove bookworm amd64
    [ ! -e "$MBD_HOME/var/chroots/bookworm" ]
    run_mbd mbd-chroot list --json
    assert_equal "$(json_field 0 display)" "removed"
    assert_equal "$(json_field 0 mirror)" "$(mbd-chroot --show-config | sed -nE 's/^mirror += ([^ ]+) .*/\1/p')"
    assert_equal "$(json_field 0 keyring)" "/usr/share/keyrings/debian-archive-keyring.gpg"
    run_mbd 4 mbd-chroot check bookworm amd64
    assert_stderr_contains "no chroot 'bookworm/amd64' (create it with 'mbd-chroot create bookworm amd64')"
    run_mbd 4 mbd-chroot usable bookworm amd64
    run_mbd 4 mbd-chroot activate bookworm amd64
    run_mbd 4 mbd-chroot remove bookworm i386
}

@test "list shows codename, arch, backend, status, size, age and last check" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot import bookworm i386 "$BATS_TEST_TMPDIR/g.tar.zst" --mirror http://example.org/debian
    run_mbd mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot list
    assert_equal "$(sed -n 1p <<<"$output" | tr -s ' ')" "CODENAME ARCH BACKEND STATUS SIZE AGE LAST CHECK"
    [[ "$(sed -n 2p <<<"$output" | tr -s ' ')" =~ ^bookworm\ amd64\ unshare\ prepared\ -\ [0-9]+\ KiB\ [0-9]+s\ never$ ]]
    [[ "$(sed -n 3p <<<"$output" | tr -s ' ')" =~ ^bookworm\ i386\ unshare\ prepared\ -\ [0-9]+\ KiB\ [0-9]+s\ never$ ]]
    run_mbd mbd-chroot list --json
    assert_equal "$(jq -r 'map(.arch + " " + .mirror) | join(",")' <<<"$output")" \
        "amd64 $(mbd-chroot --show-config | sed -nE 's/^mirror += ([^ ]+) .*/\1/p'),i386 http://example.org/debian"
    assert_equal "$(jq -r '.[0] | keys_unsorted | join(",")' <<<"$output")" \
        "codename,arch,backend,status,flag,display,tarball,size,sha256,created,updated,last_check,check_message,mirror,components,keyring,uris,suite,keys,base_source"
}

@test "check --all goes on after a failure and counts them" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot check --all
    run_mbd mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot import trixie amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd 12 mbd-chroot check --all
    assert_stderr_contains "2 of 2 chroots failed to pass their check"
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    [ "$(grep -c "failed its check" <<<"$stderr")" -eq 2 ]
}

@test "shell without a terminal needs a command (exit 2)" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd 2 mbd-chroot shell bookworm amd64 </dev/null
    assert_stderr_contains "an interactive shell needs a terminal"
}

@test "a chroot another mbd-chroot is working on is busy (exit 6)" {
    garbage_tarball "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    run_mbd 6 flock "$MBD_HOME/var/lock/chroot-bookworm-amd64.lock" \
        mbd-chroot import bookworm amd64 "$BATS_TEST_TMPDIR/g.tar.zst"
    assert_stderr_contains "chroot 'bookworm/amd64' is busy: another mbd-chroot is working on it"
    run_mbd 6 flock "$MBD_HOME/var/lock/chroot-bookworm-amd64.lock" mbd-chroot remove bookworm amd64
    run_mbd mbd-chroot list --json
    assert_equal "$(json_field 0 display)" "prepared -"
}
