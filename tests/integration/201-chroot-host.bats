#!/usr/bin/env bats
# mbd-chroot: what the host must provide, checked before any download — each
# missing piece is a distinct exit code and says what to install or add.

load ../helpers

teardown() {
    mbd_remove_test_users
}

needs_root() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (mounts, users)"
}

@test "unknown codename and unknown architecture exit 4" {
    run_mbd 4 mbd-chroot create nosuchcodename amd64
    assert_stderr_contains "unknown codename 'nosuchcodename'"
    run_mbd 4 mbd-chroot create bookworm nosucharch
    assert_stderr_contains "unknown architecture 'nosucharch'"
    run_mbd mbd-chroot list --json
    assert_equal "$output" "[]"
}

@test "bad arguments are usage errors (exit 2)" {
    run_mbd 2 mbd-chroot create bookworm
    run_mbd 2 mbd-chroot check
    assert_stderr_contains "give CODENAME and ARCH, or --all"
    run_mbd 2 mbd-chroot update bookworm amd64 --all
    run_mbd 2 mbd-chroot create bookworm amd64 --mirror not-a-url
    assert_stderr_contains "invalid mirror URL 'not-a-url'"
    run_mbd 4 mbd-chroot create bookworm amd64 --keyring "$BATS_TEST_TMPDIR/none.gpg"
    assert_stderr_contains "cannot read keyring"
}

@test "a foreign architecture without a binfmt_misc handler exits 14 and says what to install" {
    needs_root
    # hide this machine's binfmt_misc from mbd-chroot, whatever it has registered
    run_mbd 14 unshare --mount sh -c \
        'mount -t tmpfs -o size=4k tmpfs /proc/sys/fs/binfmt_misc && exec mbd-chroot create bookworm arm64'
    assert_stderr_contains "cannot run 'arm64' binaries"
    assert_stderr_contains "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc"
    assert_stderr_contains "apt-get install qemu-user-static binfmt-support"
}

@test "binfmt_misc mounted but without a qemu handler exits 14 naming the handler" {
    needs_root
    [ ! -e /proc/sys/fs/binfmt_misc/qemu-s390x ] || skip "this machine emulates s390x"
    run_mbd 14 unshare --mount sh -c \
        'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && exec mbd-chroot create bookworm s390x'
    assert_stderr_contains "no enabled qemu-user handler '/proc/sys/fs/binfmt_misc/qemu-s390x'"
    assert_stderr_contains "apt-get install qemu-user-static binfmt-support"
}

@test "a user without a subuid range exits 14 and is told the exact range to add" {
    needs_root
    local user="mbdt-nosub-$$"
    mbd_test_user --system "$user" # system users get no subordinate ids
    mkdir -p "$MBD_HOME" && chown "$user" "$MBD_HOME"
    run_mbd 14 runuser -u "$user" -- env PATH="$PATH" MBD_HOME="$MBD_HOME" mbd-chroot create bookworm amd64
    assert_stderr_contains "no subordinate id range for user '$user' in '/etc/subuid' and '/etc/subgid'"
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    [[ "$stderr" =~ usermod\ --add-subuids\ ([0-9]+)-([0-9]+)\ --add-subgids\ ([0-9]+-[0-9]+)\ $user ]]
    assert_equal "$((BASH_REMATCH[2] - BASH_REMATCH[1] + 1))" 65536
    # the suggested range overlaps none already given
    local start=${BASH_REMATCH[1]} first count
    while IFS=: read -r _ first count; do
        [ $((first + count)) -le "$start" ]
    done < <(cat /etc/subuid /etc/subgid)
}

@test "a user with a subuid range passes the check (and i386 runs on amd64 without emulation where the kernel can)" {
    needs_root
    [ "$(dpkg --print-architecture)" = amd64 ] || skip "amd64 host"
    local user="mbdt-sub-$$" arch=i386
    mbd_test_user "$user"
    mkdir -p "$MBD_HOME" "$BATS_TEST_TMPDIR/unpack" && chown "$user" "$MBD_HOME"
    if ! arch-test -n i386 >/dev/null; then
        # a kernel without 32-bit support (IA32 emulation off) runs no i386 binary: mbd says so
        run_mbd 14 runuser -u "$user" -- env PATH="$PATH" MBD_HOME="$MBD_HOME" mbd-chroot create bookworm i386
        assert_stderr_contains "cannot run 'i386' binaries"
        arch=amd64
    fi
    # the next checks after subuid and binfmt: a world-writable unpack directory with free space
    run_mbd 14 runuser -u "$user" -- env PATH="$PATH" MBD_HOME="$MBD_HOME" \
        mbd-chroot -o chroot.unpack_dir="$MBD_HOME" create bookworm "$arch"
    assert_stderr_contains "unpack directory '$MBD_HOME' (configuration key 'chroot.unpack_dir') must be world-writable"
    # shellcheck disable=SC2016 # expanded by sh -c
    run_mbd 15 unshare --mount sh -c 'mount -t tmpfs -o size=1m,mode=1777 tmpfs "$1" && exec runuser -u "$2" -- \
        env PATH="$PATH" MBD_HOME="$MBD_HOME" mbd-chroot -o chroot.unpack_dir="$1" create bookworm "$3"' \
        sh "$BATS_TEST_TMPDIR/unpack" "$user" "$arch"
    assert_stderr_contains "not enough free space for unpacking a chroot (configuration key 'chroot.unpack_dir') in '$BATS_TEST_TMPDIR/unpack'"
}

@test "create checks free space first and says how much is needed (exit 15)" {
    needs_root
    run_mbd mbd-chroot list # makes the home
    # shellcheck disable=SC2016 # expanded by sh -c
    run_mbd 15 unshare --mount sh -c \
        'mount -t tmpfs -o size=1m tmpfs "$MBD_HOME/var/chroots" && exec mbd-chroot create bookworm amd64'
    assert_stderr_contains "not enough free space for a chroot tarball in '$MBD_HOME/var/chroots/bookworm/amd64'"
    assert_stderr_contains "free, 300 MiB needed"
}

@test "a disk that fills up during an import leaves nothing behind (exit 15)" {
    needs_root
    head -c 2M /dev/urandom | zstd -q -o "$BATS_TEST_TMPDIR/big.tar.zst"
    run_mbd mbd-chroot list
    # shellcheck disable=SC2016 # expanded by sh -c
    run_mbd 15 unshare --mount sh -c 'mount -t tmpfs -o size=1m tmpfs "$1" &&
        mbd-chroot import bookworm amd64 "$2"; rc=$?; ls -A "$1/bookworm/amd64"; exit $rc' \
        sh "$MBD_HOME/var/chroots" "$BATS_TEST_TMPDIR/big.tar.zst"
    assert_stderr_contains "No space left on device"
    assert_equal "$output" ""
    run_mbd mbd-chroot list --json
    assert_equal "$output" "[]"
}
