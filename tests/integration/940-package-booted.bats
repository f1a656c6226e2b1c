#!/usr/bin/env bats
# The package as an admin meets it: the .deb installed on a booted Debian system
# (systemd as PID 1, in systemd-nspawn), set up as mbd(7) says, one dput, and
# nothing else typed: the units alone build, install and publish the upload, and
# apt installs it. Then root's chroot actions leave the system's cgroups alone.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/package

teardown() {
    mbdt_booted_stop
    mbd_teardown
}

# mbd units that are failed inside the container (none: empty)
failed_units() {
    mbdt_in systemctl list-units --failed --plain --no-legend --no-pager 'mbd-*' | awk '{print $1}'
}

# until no mbd unit is starting or running (or SECONDS pass)
wait_units_idle() {
    for _ in $(seq "${1:-120}"); do
        [ -z "$(mbdt_in systemctl list-units --plain --no-legend --no-pager --state=activating,deactivating 'mbd-*')" ] &&
            [ -z "$(mbdt_in systemctl list-jobs --no-legend --no-pager)" ] && return 0
        sleep 1
    done
    return 1
}

cgroup_mounts() {
    mbdt_in findmnt -rn -t cgroup,cgroup2 | wc -l
}

# bats test_tags=slow
@test "installed on a booted system: no unit fails before setup; after setup one dput is built, published and installed by the units alone" {
    local root="$BATS_TEST_TMPDIR/root" home=/var/lib/mbd fpr changes host name
    mbdt_booted_start "$root"

    # Installing raises every wake flag (tmpfiles) before there is an instance key: the
    # passes find nothing to do, lower their flags and succeed; no unit is left failed.
    run_mbd mbdt_in apt-get update -q
    run_mbd mbdt_in env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/"$(basename "$(mbdt_deb)")"
    sleep 3
    wait_units_idle 60
    for name in incoming build outgoing; do
        [ ! -e "$root$home/var/spool/wake/$name" ] || { echo "wake flag '$name' still raised" >&2; false; }
    done
    assert_equal "$(failed_units)" ""
    mbdt_in systemctl is-active --quiet mbd-build.path mbd-remote.path mbd-incoming.path mbd-incoming-wake.path

    # Set up as mbd(7) says (INSTALLING).
    fpr=$(mbdt_uploader_key "Packager <packager@example.org>")
    gpg --batch --armor --export "$fpr" >"$root/root/packager.asc"
    chmod 644 "$root/root/packager.asc"
    cp "$root/root/packager.asc" "$root/var/tmp/packager.asc"
    run_mbd mbdt_in sudo -u mbd mbd-repo setup test --codename bookworm --arch amd64 \
        --email mbd@booted.example.org --uploader /var/tmp/packager.asc
    assert_output_contains "upload to bookworm-test-unstable"
    assert_output_contains "Types: deb"
    assert_stderr_contains "chroot bookworm/amd64: active"
    run_mbd mbdt_in useradd --create-home --shell /bin/sh packager
    run_mbd mbdt_in adduser packager mbd

    # The packager: a signed source upload (made here, uploaded from inside) and dput.
    mkdir -p "$BATS_TEST_TMPDIR/pkg"
    changes=$(mbdt_source_package "$BATS_TEST_TMPDIR/pkg" mbd-booted 1.0~test12+1 bookworm-test-unstable)
    mkdir -p "$root/home/packager/upload"
    cp "$BATS_TEST_TMPDIR"/pkg/mbd-booted_1.0~test12+1* "$root/home/packager/upload/"
    mbdt_in sudo -u mbd mbd-repo dput-conf >"$root/home/packager/.dput.cf"
    mbdt_in chown -R packager: /home/packager
    host=$(sed -n 's/^\[\(.*\)\]$/\1/p' "$root/home/packager/.dput.cf" | head -n 1)
    run_mbd mbdt_in sudo -u packager -H dput -u "$host" "/home/packager/upload/$(basename "$changes")"

    # Nothing else is typed: the units build, install and publish it.
    local packages="$root$home/repositories/test/dists/bookworm-test-unstable/main/binary-amd64/Packages"
    for _ in $(seq 600); do
        index_text "$packages" 2>/dev/null | grep -qs '^Package: mbd-booted$' && break
        sleep 1
    done
    mbdt_in sudo -u mbd mbd-incoming events --source mbd-booted >&2 || true
    grep -q '^Package: mbd-booted$' "$(index_file "$packages")"
    wait_units_idle 60
    assert_equal "$(failed_units)" ""

    # apt on the same machine installs it from the published suite: root installs the
    # sources and the key as mbd-repo(1) says, and leaves nothing of root's in the home
    run_mbd mbdt_in env MBD_HOME=/var/lib/mbd mbd-repo sources-list test --codename bookworm --suite unstable --install
    assert_output_contains "/etc/apt/keyrings/mbd-"
    assert_equal "$(mbdt_in find /var/lib/mbd -user root)" ""
    run_mbd mbdt_in apt-get update -q
    run_mbd mbdt_in env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mbd-booted
    # shellcheck disable=SC2016 # dpkg-query's ${Version}
    assert_equal "$(mbdt_in dpkg-query -W -f '${Version}' mbd-booted)" "1.0~test12+1"

    # Root's own chroot actions (a throwaway home of root's) keep the system's cgroups
    # mounted (mmdebstrap as root mounts /sys; the container's mounts are shared).
    local before
    before=$(cgroup_mounts)
    [ "$before" -gt 0 ]
    run_mbd mbdt_in env MBD_HOME=/root/h mbd-keygen init --algo ed25519
    run_mbd mbdt_in env MBD_HOME=/root/h mbd-repo setup test --codename bookworm --arch amd64 --no-chroot
    run_mbd mbdt_in env MBD_HOME=/root/h mbd-chroot import bookworm amd64 "$home/var/chroots/bookworm/amd64/bookworm-amd64.tar.zst"
    run_mbd mbdt_in env MBD_HOME=/root/h mbd-chroot check bookworm amd64
    assert_equal "$(cgroup_mounts)" "$before"
    run_mbd mbdt_in env MBD_HOME=/root/h mbd-chroot update bookworm amd64
    assert_equal "$(cgroup_mounts)" "$before"
    mbdt_in systemctl is-system-running | grep -qxE 'running|degraded'
}
