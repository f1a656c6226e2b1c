#!/usr/bin/env bats
# mbd-chroot with a real bookworm/amd64 chroot (slow tier): bootstrapped once per
# machine (mbd_cached_chroot), checked, taken out of service by a corrupt tarball
# and back, compared with its source, updated, and used by
# sbuild --chroot-mode=unshare as an unprivileged user.

load ../helpers
load ../lib/pipeline

teardown() {
    mbdt_apt_cacher_stop "$BATS_TEST_TMPDIR/acng" # (a proxy a failed test started)
    mbd_remove_test_users
}

tarball() {
    printf '%s' "$MBD_HOME/var/chroots/bookworm/amd64/bookworm-amd64.tar.zst"
}

display() {
    run_mbd mbd-chroot list --json
    jq -r '.[0].display' <<<"$output"
}

# bats test_tags=slow
@test "a real bookworm/amd64 chroot passes its check (which says how to activate it); shell sessions change nothing" {
    run_mbd mbd-chroot import bookworm amd64 "$(mbd_chroot_tarball bookworm amd64)"
    run_mbd mbd-chroot check bookworm amd64
    assert_stderr_contains "builds use it once it is active: mbd-chroot activate bookworm amd64"
    run_mbd mbd-chroot activate bookworm amd64
    run_mbd mbd-chroot check bookworm amd64
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    refute_grep "once it is active" <<<"$stderr"
    assert_equal "$(display)" active
    run_mbd mbd-chroot usable bookworm amd64
    assert_equal "$output" "$(printf '%s\n' --chroot-mode=unshare "--chroot=$(tarball)" --arch=amd64)"
    # shellcheck disable=SC2016 # expanded by sh -c
    run_mbd mbd-chroot shell bookworm amd64 -- sh -c \
        'cat /etc/debian_version; dpkg-query -W -f="\${Status}\n" build-essential; cat /etc/apt/sources.list'
    [[ "${lines[0]}" =~ ^12\.[0-9]+$ ]]
    assert_equal "${lines[1]}" "install ok installed"
    assert_equal "${lines[2]}" "deb [signed-by=/etc/apt/keyrings/mbd-source.gpg] $(jq -r '.[0].mirror' < <(mbd-chroot list --json)) bookworm main"
    local before
    before=$(sha256sum "$(tarball)")
    run_mbd mbd-chroot shell bookworm amd64 -- touch /left-behind
    run_mbd 16 mbd-chroot shell bookworm amd64 -- test -e /left-behind
    # interactive, on a terminal
    run_mbd sh -c "printf '%s\n' 'echo \"inside \$(id -u) \$(cat /etc/debian_version)\"' 'touch /also-left' 'exit 3' |
        timeout 120 script -qec 'mbd-chroot shell bookworm amd64' /dev/null"
    [[ "$output" =~ inside\ 0\ 12\.[0-9]+ ]]
    run_mbd 16 mbd-chroot shell bookworm amd64 -- test -e /also-left
    assert_equal "$(sha256sum "$(tarball)")" "$before"
}

# bats test_tags=slow
@test "a failed check takes an active chroot out of service until a check passes" {
    mbd_cached_chroot bookworm amd64
    cp "$(tarball)" "$BATS_TEST_TMPDIR/good.tar.zst"
    truncate -s 50M "$(tarball)"
    run_mbd 12 mbd-chroot usable bookworm amd64 # changed since its check: refused before any check
    assert_stderr_contains "chroot 'bookworm/amd64' changed since its last check"
    run_mbd 12 mbd-chroot check bookworm amd64
    assert_stderr_contains "failed its check (out of service until a check passes): tarball"
    assert_stderr_contains "does not have its recorded sha256"
    assert_equal "$(display)" "prepared A"
    run_mbd 17 mbd-chroot usable bookworm amd64
    cp "$BATS_TEST_TMPDIR/good.tar.zst" "$(tarball)"
    run_mbd mbd-chroot check bookworm amd64
    assert_equal "$(display)" active
    run_mbd mbd-chroot usable bookworm amd64
}

# bats test_tags=slow
@test "check compares the chroot with its source; update brings it in line" {
    mbd_cached_chroot bookworm amd64
    local sha keyring="$BATS_TEST_TMPDIR/debian.asc"
    gpg --no-default-keyring --keyring /usr/share/keyrings/debian-archive-keyring.gpg --export --armor >"$keyring"
    run_mbd mbd-chroot import bookworm amd64 "$(tarball)" --keyring "$keyring"
    run_mbd 12 mbd-chroot check bookworm amd64
    assert_stderr_contains "its sources.list says 'deb [signed-by=/etc/apt/keyrings/mbd-source.gpg] "
    assert_stderr_contains "its source 'deb [signed-by=/etc/apt/keyrings/mbd-source.asc] "
    assert_equal "$(display)" "prepared A"

    # through a caching proxy (apt.proxy), which leaves no trace in the chroot
    local acng=$BATS_TEST_TMPDIR/acng
    MBD_APT_PROXY=$(mbdt_apt_cacher "$acng")
    export MBD_APT_PROXY
    run_mbd mbd-chroot update bookworm amd64
    assert_stderr_contains "updated chroot 'bookworm/amd64'"
    assert_equal "$(display)" active
    mbdt_apt_cacher_stop "$acng"
    grep -qE "\|(I|O)\|.*/dists/bookworm/InRelease" "$acng/log/apt-cacher.log"
    run bash -c "tar --zstd -xOf '$(tarball)' --wildcards './etc/apt/apt.conf.d/*' | grep -iE 'proxy|${MBD_APT_PROXY#http://}'"
    assert_equal "$status" 1
    unset MBD_APT_PROXY
    run_mbd mbd-chroot list --json
    sha=$(sha256sum "$(tarball)" | cut -d' ' -f1)
    assert_equal "$(jq -r '.[0].sha256' <<<"$output")" "$sha"
    # no temporaries left; beside the tarball, its dpkg status (for builds), the old one's gone
    assert_equal "$(ls -A "$(dirname "$(tarball)")" | tr '\n' ' ')" "bookworm-amd64.tar.zst dpkg-${sha:0:16} "
    cmp "$(dirname "$(tarball)")/dpkg-${sha:0:16}/status" <(tar --zstd -xOf "$(tarball)" ./var/lib/dpkg/status)
    run_mbd mbd-chroot shell bookworm amd64 -- cat /etc/apt/sources.list
    assert_output_contains "deb [signed-by=/etc/apt/keyrings/mbd-source.asc] "
    # what every build needs is in (chroot.include), and the apt lists are kept
    # shellcheck disable=SC2016 # dpkg-query's format
    run_mbd mbd-chroot shell bookworm amd64 -- dpkg-query -W -f '${Package}:${Status}\n' lintian fakeroot debhelper
    assert_equal "$(grep -c ':install ok installed$' <<<"$output")" 3
    run_mbd mbd-chroot shell bookworm amd64 -- apt-cache policy hello
    assert_output_contains "Candidate: 2."
}

# bats test_tags=slow
@test "a killed update leaves the chroot as it was; the next one clears what it left" {
    mbd_cached_chroot bookworm amd64
    local before dir pid
    before=$(sha256sum "$(tarball)")
    dir=$(dirname "$(tarball)")
    setsid mbd-chroot update bookworm amd64 2>/dev/null &
    pid=$!
    for _ in $(seq 600); do
        ! compgen -G "$dir/.*.tmp.tar.zst" >/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid"
    while pgrep -g "$pid" >/dev/null; do sleep 0.2; done # mmdebstrap goes on to the end
    assert_equal "$(sha256sum "$(tarball)")" "$before"
    compgen -G "$dir/.*.tmp.tar.zst" # the complete temporary, never renamed
    assert_equal "$(display)" active
    run_mbd mbd-chroot usable bookworm amd64
    run_mbd mbd-chroot update bookworm amd64
    assert_equal "$(ls -A "$dir" | tr '\n' ' ')" "bookworm-amd64.tar.zst dpkg-$(sha256sum "$(tarball)" | cut -c1-16) "
}

# bats test_tags=slow
@test "sbuild --chroot-mode=unshare builds a tiny package in it, as an unprivileged user" {
    mbd_cached_chroot bookworm amd64
    local user="mbdt-sbuild-$$" build="$BATS_TEST_TMPDIR/build"
    mbd_test_user "$user"
    mkdir -p "$build"
    local dsc
    dsc=$(mbd_tiny_source_package "$build" mbd-hello 1.0 bookworm)
    run_mbd mbd-chroot usable bookworm amd64 --json
    jq -r .sbuild_config <<<"$output" >"$build/sbuild.conf"
    mapfile -t sbuild_args < <(jq -r '.sbuild_args[]' <<<"$output")
    chown -R "$user" "$build"
    cd "$build"
    run_mbd runuser -u "$user" -- env HOME="$build" SBUILD_CONFIG="$build/sbuild.conf" \
        sbuild "${sbuild_args[@]}" --dist=bookworm --no-run-lintian --no-run-autopkgtest --no-run-piuparts "$dsc"
    grep -q '^Status: successful' mbd-hello_1.0_amd64.build
    grep -q "^Unpacking $(tarball) to $(mbd-chroot --show-config | sed -nE 's/^chroot.unpack_dir += ([^ ]+) .*/\1/p')/tmp.sbuild." \
        mbd-hello_1.0_amd64.build
    assert_equal "$(dpkg-deb --field mbd-hello_1.0_amd64.deb Package Version Architecture | tr '\n' ' ')" \
        "Package: mbd-hello Version: 1.0 Architecture: amd64 "
    assert_equal "$(stat -c %U mbd-hello_1.0_amd64.deb)" "$user"
}

# As root, mmdebstrap's unshare mode bind-mounts /sys and unmounts it lazily; where
# mounts are shared (a systemd host, a booted container) that unmount used to take
# /sys/fs/cgroup/* away from the caller. Here the caller's namespace is made shared
# as on such a host, and the cgroup mounts must all still be there afterwards. check and
# update run mmdebstrap through the one spawn() that create uses too.
# bats test_tags=slow
@test "as root, check and update leave the caller's cgroup mounts alone (shared propagation)" {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
    mbd_cached_chroot bookworm amd64
    # shellcheck disable=SC2016 # the script's variables are the inner bash's
    run_mbd unshare --mount --propagation shared -- bash -c '
        count() { findmnt -rn -t cgroup,cgroup2 | wc -l; }
        before=$(count)
        mbd-chroot check bookworm amd64 || exit 101
        after_check=$(count)
        mbd-chroot update bookworm amd64 || exit 102
        echo "$before $after_check $(count)"'
    read -r before after_check after_update <<<"$output"
    [ "$before" -gt 0 ] || skip "no cgroup mounts here to lose"
    assert_equal "$after_check" "$before"
    assert_equal "$after_update" "$before"
}
