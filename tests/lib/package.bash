# The mbd Debian package, and a booted Debian system to install it on.
#
#   mbdt_source_copy DIR      copy this tree (what git tracks, or without git the files a
#                             clean checkout has: no build*/, tests/.cache, .git) into DIR
#   mbdt_deb                  build the .deb of this tree once per test run and print its path
#                             (dpkg-buildpackage; nocheck: ctest ran already; noautodbgsym: no
#                             -dbgsym package, no dwz; noopt: -O0, a third less compiling for
#                             a test package); the .changes and build.log lie beside it,
#                             in $MBDT_DEB_DIR (tests/run: one for both lanes) or the bats run's
#   mbdt_booted_start DIR     boot a bookworm system (systemd-nspawn --boot) from DIR, a copy
#                             of a rootfs cached in $MBDT_IMAGE_CACHE (made by mmdebstrap
#                             once, with systemd and what the .deb depends on); waits until
#                             its systemd is up
#   mbdt_in CMD...            run CMD as root inside it (nsenter into all its namespaces)
#   mbdt_booted_stop          power it off (teardown)
#
# Load with: load ../lib/package (after ../helpers)

mbdt_source_copy() {
    local dest=$1
    mkdir -p "$dest"
    if git -C "$MBDT_SOURCE_DIR" rev-parse --show-toplevel >/dev/null 2>&1; then
        git -C "$MBDT_SOURCE_DIR" ls-files -co --exclude-standard -z | grep -zv '^build' |
            tar -C "$MBDT_SOURCE_DIR" --null -T - -cf - | tar -C "$dest" -xf -
    else # a release tarball or a git archive export
        tar -C "$MBDT_SOURCE_DIR" --exclude='./build*' --exclude=./tests/.cache --exclude=./.git \
            --exclude='./obj-*' -cf - . | tar -C "$dest" -xf -
    fi
}

mbdt_deb() {
    local dir="${MBDT_DEB_DIR:-$BATS_RUN_TMPDIR/deb}"
    mkdir -p "$dir"
    (
        flock 9
        compgen -G "$dir/mbd_*_*.deb" >/dev/null && exit 0
        rm -rf "$dir/src"
        mbdt_source_copy "$dir/src"
        # (through ccache where it is installed, as tests/run builds: paths relative to the
        # tree, which is a new directory each time; debhelper gives the build a HOME of its
        # own, so the cache is named)
        local path=$PATH cache=""
        if [ -d /usr/lib/ccache ] && cache=$(ccache --get-config cache_dir 2>/dev/null); then
            path=/usr/lib/ccache:$PATH
        fi
        (cd "$dir/src" && PATH=$path CCACHE_DIR=$cache CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1 \
            DEB_BUILD_OPTIONS="nocheck noautodbgsym noopt parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$dir/build.log" 2>&1 ||
            { tail -n 40 "$dir/build.log" >&2; exit 1; }
    ) 9>"$dir/.lock" || return 1
    compgen -G "$dir/mbd_*_*.deb"
}

# What the rootfs carries: systemd to boot, what mbd depends on and recommends (so
# installing the .deb needs little from the mirror: what it takes from there shows that its
# Depends are complete), and what a packager uses.
MBDT_BOOTED_PACKAGES=systemd-sysv,dbus,sudo,ca-certificates,devscripts,gnupg,gpg-agent,gpgv,dpkg-dev,mmdebstrap,sbuild,uidmap,passwd,zstd,xz-utils,systemd,dput,logrotate,autopkgtest,libarchive13,libgpgme11,libsqlite3-0,libfmt9,libssl3

# Run a command with no descriptor above 2 open (bats and flock hold several).
mbdt_without_fds() (
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] && exec {fd}>&-
    done
    exec "$@"
)

# The booted rootfs is Debian's packages alone (no mbd code: the .deb is installed in the
# test), so it is kept for the machine, between clones (CI clones afresh each run), and
# made again when a week old or when the package list changes.
MBDT_IMAGE_CACHE="${MBDT_IMAGE_CACHE:-/var/tmp/mbd-tests-images}"

mbdt_booted_start() {
    local root=$1 deb key cached mirror
    [ "$(id -u)" -eq 0 ] || skip "needs root (boots a container)"
    command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn here (package systemd-container)"
    deb=$(mbdt_deb) || return 1
    key=$(printf '%s' "$MBDT_BOOTED_PACKAGES" | md5sum | cut -c1-8)
    cached="$MBDT_IMAGE_CACHE/booted/bookworm-$key.tar"
    mirror=$(mbd-repo --show-config | sed -nE 's/^mirror += ([^ ]+) .*/\1/p')
    mkdir -p "$MBDT_IMAGE_CACHE/booted"
    (
        flock 9
        [ -z "$(find "$cached" -mtime -7 2>/dev/null)" ] || exit 0
        # (as root, mmdebstrap mounts: never where the mounts could reach the caller;
        # mmdebstrap hands apt a descriptor that /bin/sh must parse as one digit: the
        # lock's 9 and bats' descriptors are closed so that it gets a low one)
        mbdt_without_fds unshare --mount --propagation private -- mmdebstrap --variant=apt --include="$MBDT_BOOTED_PACKAGES" \
            bookworm "${cached%.tar}.tmp.tar" "$mirror" >"$MBDT_IMAGE_CACHE/booted/mmdebstrap.log" 2>&1 ||
            { tail -n 40 "$MBDT_IMAGE_CACHE/booted/mmdebstrap.log" >&2; exit 1; }
        mv "${cached%.tar}.tmp.tar" "$cached"
    ) 9>"$MBDT_IMAGE_CACHE/booted/.lock" || return 1
    mkdir -p "$root"
    tar -C "$root" -xf "$cached"
    cp "$deb" "$root/root/"
    printf '127.0.1.1 %s\n' "$(hostname)" >>"$root/etc/hosts" # (sudo looks its host name up)
    # the container's systemd needs inotify instances, counted per user across the host
    [ "$(sysctl -n fs.inotify.max_user_instances)" -ge 1024 ] || sysctl -q -w fs.inotify.max_user_instances=1024
    MBDT_BOOTED_LOG="$BATS_TEST_TMPDIR/booted.log"
    # (SYSTEMD_NSPAWN_TMPFS_TMP=0: /tmp on the rootfs's disk, not a small tmpfs)
    SYSTEMD_NSPAWN_TMPFS_TMP=0 setsid systemd-nspawn --boot --register=no --keep-unit --console=passive \
        --machine="mbdt$$" -D "$root" >"$MBDT_BOOTED_LOG" 2>&1 &
    MBDT_BOOTED_NSPAWN=$!
    export MBDT_BOOTED_NSPAWN MBDT_BOOTED_LOG
    local state
    for _ in $(seq 120); do
        MBDT_BOOTED_PID=$(mbdt_booted_pid1) && break
        sleep 0.5
    done
    [ -n "${MBDT_BOOTED_PID:-}" ] || { cat "$MBDT_BOOTED_LOG" >&2; echo "the container did not boot" >&2; return 1; }
    export MBDT_BOOTED_PID
    state=$(mbdt_in timeout 120 systemctl is-system-running --wait) || true
    case "$state" in
    running | degraded) ;;
    *)
        mbdt_in systemctl --failed --no-pager >&2 || true
        echo "the container's systemd is '$state'" >&2
        return 1
        ;;
    esac
}

# PID (on the host) of the container's systemd: the child of systemd-nspawn.
mbdt_booted_pid1() {
    local pid
    pid=$(pgrep -P "$MBDT_BOOTED_NSPAWN" -x systemd | head -n 1)
    [ -n "$pid" ] && printf '%s' "$pid"
}

mbdt_in() {
    nsenter --target "$MBDT_BOOTED_PID" --mount --uts --ipc --pid --net --root --wd=/ -- \
        /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 "$@"
}

mbdt_booted_stop() {
    [ -n "${MBDT_BOOTED_NSPAWN:-}" ] || return 0
    if [ -n "${MBDT_BOOTED_PID:-}" ]; then
        mbdt_in systemctl poweroff >/dev/null 2>&1 || kill -TERM "$MBDT_BOOTED_NSPAWN" 2>/dev/null
    fi
    for _ in $(seq 60); do
        kill -0 "$MBDT_BOOTED_NSPAWN" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL "$MBDT_BOOTED_NSPAWN" 2>/dev/null || true
    unset MBDT_BOOTED_NSPAWN MBDT_BOOTED_PID
}
