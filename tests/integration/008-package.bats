#!/usr/bin/env bats
# The Debian package, for real on this machine: build it from a clean copy of
# the tree, lintian, install, check, remove (the home stays), purge (it goes).

load ../helpers
load ../lib/package

mbd_package_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' mbd 2>/dev/null)" = installed ]
}

# Purging deletes /var/lib/mbd: a home this test did not make is moved aside for the test
# and put back after it (an installed mbd package is left alone: the test is skipped).
setup_file() {
    [ "$(id -u)" -eq 0 ] || return 0
    if [ -e /var/lib/mbd ] && ! mbd_package_installed; then
        mv /var/lib/mbd "/var/lib/mbd.mbdt-saved.$$"
        echo "/var/lib/mbd.mbdt-saved.$$" >"$BATS_FILE_TMPDIR/saved-home"
    fi
}

teardown_file() {
    [ -f "$BATS_FILE_TMPDIR/saved-home" ] || return 0
    rm -rf /var/lib/mbd
    mv "$(cat "$BATS_FILE_TMPDIR/saved-home")" /var/lib/mbd
}

setup() {
    mbd_setup
    [ "$(id -u)" -eq 0 ] || skip "needs root (installs a package)"
    if mbd_package_installed && ! [ -e "$BATS_FILE_TMPDIR/installed" ]; then
        skip "the mbd package is installed on this machine; not touching it"
    fi
}

teardown() {
    if [ -e "$BATS_FILE_TMPDIR/installed" ] && dpkg-query -W mbd >/dev/null 2>&1; then
        apt-get purge -y -qq mbd >/dev/null 2>&1 || true
    fi
}

# bats test_tags=slow
@test "dpkg-buildpackage builds mbd from a clean tree; lintian reports no error; install, remove, purge" {
    local deb unit tool
    deb=$(mbdt_deb)

    run lintian --fail-on error "$(dirname "$deb")"/mbd_*.changes
    printf 'lintian: %s\n' "$output"
    [ "$status" -eq 0 ]
    refute_grep '^E: ' <<<"$output"

    touch "$BATS_FILE_TMPDIR/installed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
        { cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }

    # the user, its subordinate ids, its home
    assert_equal "$(getent passwd mbd | cut -d: -f6)" /var/lib/mbd
    # (a shell: sshd runs the forced commands of authorized_keys through it)
    assert_equal "$(getent passwd mbd | cut -d: -f7)" /bin/sh
    grep -q '^mbd:[0-9]*:65536$' /etc/subuid
    grep -q '^mbd:[0-9]*:65536$' /etc/subgid
    assert_equal "$(stat -c '%U %a' /var/lib/mbd/incoming)" "mbd 3775"
    assert_equal "$(stat -c '%U' /var/lib/mbd/var/spool/build /var/lib/mbd/var/log/mbd.log | sort -u)" mbd
    [ -f /var/lib/mbd/var/spool/wake/incoming ]
    [ -f /var/lib/mbd/var/spool/wake/build ] # raised at boot
    # the tools run as mbd on the default home; man pages, completions, examples
    for tool in "${MBD_TOOLS[@]}"; do
        run_mbd runuser -u mbd -- env -u MBD_HOME "/usr/bin/$tool" --show-config
        grep -qE '^home += /var/lib/mbd +\(default\)$' <<<"$output"
        man -w "$tool" | grep -q "/usr/share/man/man1/$tool.1"
        [ -s "/usr/share/bash-completion/completions/$tool" ]
        [ -s "/usr/share/zsh/vendor-completions/_$tool" ]
    done
    man -w 7 mbd
    MBD_CONFIG=/usr/share/doc/mbd/examples/mbd.conf run_mbd runuser -u mbd -- /usr/bin/mbd-repo --show-config
    [ -s /usr/share/doc/mbd/examples/dput.cf ]
    run_mbd logrotate --debug /etc/logrotate.d/mbd
    # the units, enabled, verified where they are installed
    for unit in mbd-incoming.path mbd-incoming-wake.path mbd-build.path mbd-remote.path; do
        [ -L "/etc/systemd/system/paths.target.wants/$unit" ]
    done
    for unit in mbd-incoming.timer mbd-remote.timer mbd-chroot-update.timer mbd-remote-check.timer mbd-repo-maintain.timer; do
        [ -L "/etc/systemd/system/timers.target.wants/$unit" ]
    done
    run systemd-analyze verify --man=no /lib/systemd/system/mbd-*
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]

    # remove keeps the home and the repositories, purge deletes them
    mkdir -p /var/lib/mbd/repositories/kept && touch /var/lib/mbd/repositories/kept/file
    run_mbd apt-get remove -y -qq mbd
    [ ! -e /usr/bin/mbd-repo ]
    [ -f /var/lib/mbd/repositories/kept/file ]
    run_mbd apt-get purge -y -qq mbd
    [ ! -e /var/lib/mbd ]
    [ ! -e /etc/logrotate.d/mbd ]
    refute compgen -G '/etc/systemd/system/*.wants/mbd-*'
}
