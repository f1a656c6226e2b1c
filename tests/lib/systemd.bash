# A real systemd manager for the unit tests. systemd is not PID 1 on the test
# machines; what works (shared ENVIRONMENT.md) is `systemd --user` in a private
# mount namespace with a tmpfs on /run/systemd. It runs as root, so the unit
# copies drop User=/Group= (a user manager runs units as itself) and the builds
# run as build.user, as in the other pipeline tests: mbd-build, as root, hands
# each build to that user, for which its copy keeps CAP_CHOWN, CAP_FOWNER and
# CAP_KILL in its bounding set (the shipped unit runs as mbd and builds as mbd).
#
#   mbdt_systemd_home             MBD_HOME for these tests: under /var/lib, because the
#                                 units' PrivateTmp= and ProtectHome= hide /tmp and /home
#   mbdt_systemd_units [VAR=VALUE...]
#                                 copies of every unit, pointed at this build's tools and
#                                 $MBD_HOME; each VAR=VALUE is added to the services'
#                                 environment. Each service also appends the times it starts
#                                 (ExecStartPre, date +%s.%N) and stops (ExecStopPost), its
#                                 stdout, and each run's "EXIT_STATUS SERVICE_RESULT" to
#                                 $MBD_HOME/var/log/UNIT.{starts,stops,out,results}; timers
#                                 fire within 1 s.
#   mbdt_systemd_start            start the manager (needs root)
#   mbdt_systemctl ARGS...        systemctl --user against it
#   mbdt_systemd_wait_idle [SECONDS]
#                                 until no mbd unit has a job or runs (default 600 s)
#   mbdt_systemd_stop             stop the manager and remove the home (teardown)
#
# Load with: load ../lib/systemd (after ../helpers)

mbdt_systemd_home() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (a systemd manager in a private mount namespace)"
    command -v systemd >/dev/null 2>&1 || [ -x /lib/systemd/systemd ] || skip "no systemd here"
    MBDT_SYSTEMD_HOME=$(mktemp -d /var/lib/mbdt-systemd.XXXXXX)
    chmod 755 "$MBDT_SYSTEMD_HOME"
    export MBD_HOME="$MBDT_SYSTEMD_HOME/home" MBDT_SYSTEMD_HOME
    mkdir -p "$MBD_HOME/var/log"
    export MBDT_UNIT_DIR="$BATS_TEST_TMPDIR/systemd/config/systemd/user"
    export MBDT_SYSTEMD_RUNTIME="$BATS_TEST_TMPDIR/systemd/runtime"
}

mbdt_systemd_units() {
    local src="$MBDT_SOURCE_DIR/systemd" f name env="" kv
    for kv in "$@"; do
        env+=" \"$kv\""
    done
    mkdir -p "$MBDT_UNIT_DIR"
    # the tools where the hardened units can run them: PrivateTmp hides a build under /tmp
    local bindir="$MBDT_SYSTEMD_HOME/bin"
    mkdir -p "$bindir"
    cp "$MBDT_BUILD_DIR"/tools/mbd-* "$bindir/"
    for f in "$src"/*.path "$src"/*.timer "$src"/*.service.in; do
        name=$(basename "$f" .in)
        sed -e "s|/var/lib/mbd|$MBD_HOME|g" -e "s|@MBD_BINDIR@|$bindir|g" \
            -e '/^User=/d' -e '/^Group=/d' \
            -e "s|^AccuracySec=.*|AccuracySec=1s|" "$f" >"$MBDT_UNIT_DIR/$name"
        case "$name" in
        *.service)
            {
                printf '\n# (mbd test suite)\n'
                [ -z "$env" ] || printf 'Environment=%s\n' "${env# }"
                printf 'ExecStartPre=/bin/sh -c "date +%%%%s.%%%%N >>%s/var/log/%s.starts"\n' "$MBD_HOME" "$name"
                printf 'ExecStopPost=/bin/sh -c "date +%%%%s.%%%%N >>%s/var/log/%s.stops"\n' "$MBD_HOME" "$name"
                # shellcheck disable=SC2016 # ($$ is systemd's escape for a $ the shell expands)
                printf 'ExecStopPost=/bin/sh -c "echo $$EXIT_STATUS $$SERVICE_RESULT >>%s/var/log/%s.results"\n' "$MBD_HOME" "$name"
                printf 'StandardOutput=append:%s/var/log/%s.out\n' "$MBD_HOME" "$name"
                # as root, mbd-build hands each build to build.user itself: chown, signals
                [ "$name" != mbd-build.service ] || printf 'CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_KILL\n'
            } >>"$MBDT_UNIT_DIR/$name"
            ;;
        *.timer)
            grep -q '^AccuracySec=' "$MBDT_UNIT_DIR/$name" ||
                sed -i 's/^\[Timer\]$/[Timer]\nAccuracySec=1s/' "$MBDT_UNIT_DIR/$name"
            ;;
        esac
    done
}

mbdt_systemctl() {
    XDG_RUNTIME_DIR="$MBDT_SYSTEMD_RUNTIME" systemctl --user --no-pager "$@"
}

mbdt_systemd_start() {
    local systemd used max
    systemd=$(command -v systemd || echo /lib/systemd/systemd)
    # The manager and each path unit need an inotify instance; root has 128 in all, and
    # every gpg-agent left running holds two (mbd_teardown stops the tests' own).
    max=$(cat /proc/sys/fs/inotify/max_user_instances)
    used=$(find /proc/[0-9]*/fd -lname 'anon_inode:inotify' 2>/dev/null | wc -l)
    if [ $((max - used)) -lt 16 ]; then
        echo "only $((max - used)) of $max inotify instances are free (gpg-agents left running?): systemd cannot watch" >&2
        return 1
    fi
    install -d -m 700 "$MBDT_SYSTEMD_RUNTIME"
    # (setsid: the manager is not killed with the test's process group; stopped by pid)
    # /run/systemd/inaccessible/ holds what PID 1 makes at boot: the nodes that
    # ProtectHome=, ProtectKernelTunables= and ProtectKernelLogs= mount over what they
    # hide (without them those services fail with 226/NAMESPACE).
    # shellcheck disable=SC2016 # expanded by sh -c
    setsid unshare --mount --propagation private /bin/sh -c '
        mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system /run/systemd/inaccessible &&
        cd /run/systemd/inaccessible && touch reg && mkdir dir && mkfifo fifo && mknod chr c 0 0 &&
        mknod blk b 0 0 && python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")" &&
        chmod 0000 reg dir fifo chr blk sock && cd / &&
        exec env XDG_RUNTIME_DIR="$1" XDG_CONFIG_HOME="$2" "$3" --user' sh \
        "$MBDT_SYSTEMD_RUNTIME" "$BATS_TEST_TMPDIR/systemd/config" "$systemd" \
        >"$BATS_TEST_TMPDIR/systemd/manager.log" 2>&1 &
    echo $! >"$BATS_TEST_TMPDIR/systemd/manager.pid"
    # (not is-system-running: it says "offline" when it cannot tell whether it runs in a
    # chroot, as here where /proc/1/root cannot be read)
    for _ in $(seq 100); do
        case "$(mbdt_systemctl show -p SystemState --value 2>/dev/null)" in
        running | degraded) return 0 ;;
        esac
        sleep 0.1
    done
    cat "$BATS_TEST_TMPDIR/systemd/manager.log" >&2
    return 1
}

mbdt_systemd_wait_idle() {
    local limit=${1:-600} end busy
    end=$((SECONDS + limit))
    while [ $SECONDS -lt $end ]; do
        busy=$(mbdt_systemctl list-jobs --no-legend 'mbd-*' 2>/dev/null)
        busy+=$(mbdt_systemctl list-units --no-legend --state=activating,deactivating 'mbd-*' 2>/dev/null)
        [ -z "$busy" ] && return 0
        sleep 0.2
    done
    echo "mbd units still busy after $limit s:" >&2
    mbdt_systemctl list-units --all 'mbd-*' >&2
    return 1
}

mbdt_systemd_stop() {
    local pid
    if [ -f "$BATS_TEST_TMPDIR/systemd/manager.pid" ]; then
        mbdt_systemctl exit >/dev/null 2>&1 || true
        pid=$(cat "$BATS_TEST_TMPDIR/systemd/manager.pid")
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        rm -f "$BATS_TEST_TMPDIR/systemd/manager.pid"
    fi
    if [ -n "${MBDT_SYSTEMD_HOME:-}" ] && [ -d "$MBDT_SYSTEMD_HOME" ]; then
        cp "$MBD_HOME/var/log/"* "$BATS_TEST_TMPDIR/" 2>/dev/null || true
        rm -rf "$MBDT_SYSTEMD_HOME"
    fi
}
