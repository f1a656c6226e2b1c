#!/usr/bin/env bats
# Units on an instance that is not set up yet, as after installing the package or at
# every boot before setup: tmpfiles raised every wake flag, there is no instance key.
# Each pass has nothing to do: it succeeds and lowers its flag, so no path unit is
# started again and again until systemd gives up on it (and the first upload after
# setup would wait for ever).

load ../helpers
load ../lib/systemd

setup() {
    mbd_setup
    mbdt_systemd_home
    mkdir -p "$MBD_HOME/incoming" "$MBD_HOME/var/spool/build" "$MBD_HOME/var/spool/outgoing" "$MBD_HOME/var/spool/wake"
    touch "$MBD_HOME/var/spool/wake/incoming" "$MBD_HOME/var/spool/wake/build" "$MBD_HOME/var/spool/wake/outgoing"
}

teardown() {
    mbd_teardown
    mbdt_systemd_stop
}

@test "before setup, every pass started by its raised flag succeeds and lowers it; no unit fails" {
    mbdt_systemd_units
    mbdt_systemd_start
    mbdt_systemctl start mbd-incoming.path mbd-incoming-wake.path mbd-build.path mbd-remote.path
    sleep 2
    mbdt_systemd_wait_idle 120
    local unit failed
    for unit in incoming build outgoing; do
        [ ! -e "$MBD_HOME/var/spool/wake/$unit" ] || { echo "flag '$unit' is still raised" >&2; false; }
    done
    for unit in mbd-incoming mbd-build mbd-remote; do
        assert_equal "$(mbdt_systemctl show -p Result --value "$unit.service")" success
        assert_equal "$(mbdt_systemctl show -p ActiveState --value "$unit.path")" active
        [ "$(wc -l <"$MBD_HOME/var/log/$unit.service.starts")" -le 2 ] # once (twice: a change during the first)
    done
    failed=$(mbdt_systemctl list-units --failed --plain --no-legend 'mbd-*')
    assert_equal "$failed" ""
}
