#!/usr/bin/env bats
# The systemd units, sysusers.d and tmpfiles.d files. systemd is not PID 1 here:
# systemd-analyze verify checks each unit offline; it needs the ExecStart
# binaries, so a copy of the units points at this build's tools.

load ../helpers

UNITS="$MBDT_SOURCE_DIR/systemd"

units_for_this_build() {
    local dir=$1 f
    cp "$UNITS"/*.path "$UNITS"/*.timer "$dir/"
    for f in "$UNITS"/*.service.in; do
        sed "s|@MBD_BINDIR@|$MBDT_BUILD_DIR/tools|g" "$f" > "$dir/$(basename "$f" .in)"
    done
}

@test "systemd-analyze verify passes on every unit, silently" {
    local dir="$BATS_TEST_TMPDIR/units"
    mkdir "$dir"
    units_for_this_build "$dir"
    cd "$dir"
    run systemd-analyze verify --man=no ./*.service ./*.path ./*.timer
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
    assert_equal "$output" ""
}

@test "the chain: every .path and .timer starts a service we ship, running an mbd tool (or raising a wake flag) as user mbd" {
    local unit service
    for unit in "$UNITS"/*.path "$UNITS"/*.timer; do
        service=$(sed -n 's/^Unit=//p' "$unit")
        [ -n "$service" ] || service=$(basename "${unit%.*}").service
        [ -f "$UNITS/$service.in" ] || { echo "$unit starts '$service', which is not shipped" >&2; return 1; }
        grep -qx 'WantedBy=\(paths\|timers\).target' "$unit"
    done
    for unit in "$UNITS"/*.service.in; do
        grep -qx 'Type=oneshot' "$unit"
        grep -qx 'User=mbd' "$unit"
        grep -qx 'SyslogFacility=user' "$unit"
        grep -qE '^ExecStart=(@MBD_BINDIR@/mbd-[a-z]+ |/usr/bin/touch /var/lib/mbd/var/spool/wake/)' "$unit"
    done
    # the contract the pipeline implements
    grep -qx 'ExecStart=@MBD_BINDIR@/mbd-incoming run' "$UNITS/mbd-incoming.service.in"
    grep -qx 'ExecStart=@MBD_BINDIR@/mbd-build run' "$UNITS/mbd-build.service.in"
    grep -qx 'ExecStart=@MBD_BINDIR@/mbd-remote run' "$UNITS/mbd-remote.service.in"
    grep -qx 'ExecStart=@MBD_BINDIR@/mbd-chroot update --all' "$UNITS/mbd-chroot-update.service.in"
    grep -qx 'ExecStart=@MBD_BINDIR@/mbd-remote check' "$UNITS/mbd-remote-check.service.in"
    grep -qx 'ExecStart=@MBD_BINDIR@/mbd-repo maintain' "$UNITS/mbd-repo-maintain.service.in"
    # incoming/ changes raise the flag mbd-incoming.path also watches (level-triggered)
    grep -qx 'PathChanged=/var/lib/mbd/incoming' "$UNITS/mbd-incoming-wake.path"
    grep -qx 'ExecStart=/usr/bin/touch /var/lib/mbd/var/spool/wake/incoming' "$UNITS/mbd-incoming-wake.service.in"
    grep -qx 'PathExists=/var/lib/mbd/var/spool/wake/incoming' "$UNITS/mbd-incoming.path"
}

@test "the units that run unshare builds imply no NoNewPrivileges (newuidmap is setuid)" {
    local unit
    for unit in "$UNITS/mbd-build.service.in" "$UNITS/mbd-chroot-update.service.in"; do
        refute_grep -E '^(NoNewPrivileges|PrivateDevices|PrivateUsers|ProtectKernel[A-Za-z]*|ProtectClock|ProtectHostname|ProtectProc|Restrict[A-Za-z]*|LockPersonality|MemoryDenyWriteExecute|SystemCall[A-Za-z]*)=' "$unit"
        grep -qx 'CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_SYS_ADMIN CAP_DAC_OVERRIDE' "$unit"
    done
}

@test "sysusers.d makes the user mbd; tmpfiles.d makes its home" {
    local root="$BATS_TEST_TMPDIR/root"
    mkdir -p "$root/etc"
    run_mbd systemd-sysusers --root="$root" "$UNITS/mbd.sysusers"
    grep -q '^mbd:x:[0-9]*:[0-9]*:.*:/var/lib/mbd:' "$root/etc/passwd"
    run_mbd systemd-tmpfiles --root="$root" --create "$UNITS/mbd.tmpfiles"
    assert_equal "$(stat -c '%a %U' "$root/var/lib/mbd/incoming")" "3775 $(stat -c %U "$root/var/lib/mbd")"
    [ -d "$root/var/lib/mbd/var/spool/build" ]
    [ -d "$root/var/lib/mbd/var/spool/outgoing" ]
    # every pass's wake flag is raised at boot (what arrived while the units were stopped)
    for f in incoming build outgoing; do [ -f "$root/var/lib/mbd/var/spool/wake/$f" ]; done
    assert_equal "$(stat -c %a "$root/var/lib/mbd/var/log/mbd.log")" 640
}

@test "logrotate accepts the snippet" {
    # (with the user mbd replaced: it may not exist here; the package test uses the real one)
    sed 's/ mbd mbd$/ root root/' "$UNITS/mbd.logrotate" > "$BATS_TEST_TMPDIR/logrotate.conf"
    grep -q 'create 0640 root root' "$BATS_TEST_TMPDIR/logrotate.conf"
    run_mbd logrotate --debug --state "$BATS_TEST_TMPDIR/state" "$BATS_TEST_TMPDIR/logrotate.conf"
}

@test "the log goes to var/log/mbd.log in the home, and to stderr with <N> priorities under journald" {
    local fixture="$MBDT_BUILD_DIR/tests/tools/mbd-cli-fixture"
    mkdir -p "$MBD_HOME/var/log"
    JOURNAL_STREAM=8:1234 run_mbd "$fixture" ls
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    assert_equal "$stderr" "<6>mbd-cli-fixture: I: listing"
    grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \[[0-9]+\] mbd-cli-fixture: I: listing\$" "$MBD_HOME/var/log/mbd.log"
    run_mbd "$fixture" ls
    assert_equal "$stderr" "mbd-cli-fixture: I: listing"
    assert_equal "$(grep -c listing "$MBD_HOME/var/log/mbd.log")" 2
    # elsewhere, or nowhere
    run_mbd "$fixture" -o log.file="$BATS_TEST_TMPDIR/other.log" ls
    grep -q listing "$BATS_TEST_TMPDIR/other.log"
    run_mbd "$fixture" -o log.file= ls
    assert_equal "$(grep -c listing "$MBD_HOME/var/log/mbd.log")" 2
    # a log that cannot be written costs nothing
    rm -r "$MBD_HOME/var/log"
    run_mbd "$fixture" ls
    [ ! -e "$MBD_HOME/var/log" ]
}
