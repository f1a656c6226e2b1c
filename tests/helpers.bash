# Shared Bats helpers: every test gets a throwaway MBD_HOME, HOME and GNUPGHOME,
# and the tools of this build come first on PATH.
#
#   load ../helpers
#   run_mbd mbd-repo ls              # must exit 0 and print no W:/E: line
#   run_mbd 4 mbd-repo show nothere  # must exit 4
#
# After run_mbd: $output is stdout, $stderr is stderr, $status the exit code.

bats_require_minimum_version 1.5.0

MBDT_SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MBDT_BUILD_DIR="${MBDT_BUILD_DIR:-$MBDT_SOURCE_DIR/build}"
# shellcheck disable=SC2034 # for the tests that load this file
MBD_TOOLS=(mbd-keygen mbd-chroot mbd-repo mbd-incoming mbd-build mbd-remote)
# Shared between tests of one run and between runs on one machine (slow tier caches).
MBDT_CACHE="${MBDT_CACHE:-$MBDT_SOURCE_DIR/tests/.cache}"

mbd_setup() {
    # Never inherit an instance or a configuration from the caller.
    local v
    for v in $(compgen -e | grep '^MBD_' || true); do
        unset "$v"
    done
    export MBD_HOME="$BATS_TEST_TMPDIR/home"
    export HOME="$BATS_TEST_TMPDIR/user"
    export GNUPGHOME="$HOME/.gnupg"
    mkdir -p "$HOME" "$GNUPGHOME"
    chmod 700 "$GNUPGHOME"
    export PATH="$MBDT_BUILD_DIR/tools:$PATH"
    export LC_ALL=C.UTF-8
}

# Stop the gpg-agents a test's key rings started (the instance's, its sources' in
# gnupg/sources/NAME, the user's): each left running holds inotify instances, of which
# a user has 128, and systemd cannot start without one.
mbd_teardown() {
    # shellcheck disable=SC2046 # one directory a word (no spaces in test paths)
    stop_gpg_agent $(find "$MBD_HOME/gnupg" -maxdepth 2 -type d 2>/dev/null) "$GNUPGHOME"
}

# stop_gpg_agent DIR...: the gpg-agent (and other daemons) of each GnuPG home that exists.
stop_gpg_agent() {
    local d
    for d in "$@"; do
        [ ! -d "$d" ] || gpgconf --homedir "$d" --kill all 2>/dev/null || true
    done
}

setup() {
    mbd_setup
}

teardown() {
    mbd_teardown
}

# run_mbd [expected-rc] command [args...]
# shellcheck disable=SC2154 # bats' run sets output, stderr and status
run_mbd() {
    local expected=0
    if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
        expected=$1
        shift
    fi
    run --separate-stderr "$@"
    {
        printf '$ %s\n' "$*"
        [ -z "$output" ] || printf '%s\n' "$output"
        [ -z "$stderr" ] || printf '%s\n' "$stderr" | sed 's/^/stderr: /'
        printf 'exit %s\n' "$status"
    } >>"$BATS_TEST_TMPDIR/commands.log"
    if [ "$status" -ne "$expected" ]; then
        printf 'command: %s\nexpected exit %s, got %s\nstdout: %s\nstderr: %s\n' \
            "$*" "$expected" "$status" "$output" "$stderr" >&2
        return 1
    fi
    if [ "$expected" -eq 0 ] && printf '%s\n' "$stderr" | grep -qE '^[a-z0-9-]+: [WE]: '; then
        printf 'command: %s\nsucceeded but printed a warning or error:\n%s\n' "$*" "$stderr" >&2
        return 1
    fi
}

# The last run_mbd's stderr must mention a text.
assert_stderr_contains() {
    if ! printf '%s' "$stderr" | grep -qF -- "$1"; then
        printf 'stderr does not contain: %s\nstderr was: %s\n' "$1" "$stderr" >&2
        return 1
    fi
}

assert_output_contains() {
    if ! printf '%s' "$output" | grep -qF -- "$1"; then
        printf 'stdout does not contain: %s\nstdout was: %s\n' "$1" "$output" >&2
        return 1
    fi
}

# refute COMMAND [ARGS...]: the command must fail. A bare `! cmd` fails a Bats test
# only as its very last command (set -e ignores `!`); use this, or `run ! cmd`.
refute() {
    if "$@"; then
        printf 'succeeded, expected to fail: %s\n' "$*" >&2
        return 1
    fi
}

# index_text FILE: the text of the index FILE (.../Packages, Sources, Contents-ARCH): FILE
# when its index set writes it, else what FILE.xz or FILE.gz decompresses to (Debian's set,
# the default, writes no uncompressed file).
index_text() {
    if [ -e "$1" ]; then
        cat "$1"
    elif [ -e "$1.xz" ]; then
        xz -dc "$1.xz"
    elif [ -e "$1.gz" ]; then
        gzip -dc "$1.gz"
    else
        printf 'index_text: none of %s, .xz, .gz is there\n' "$1" >&2
        return 1
    fi
}

# index_file FILE: the name of a file holding index_text FILE; nothing when there is no
# such index (so that `grep PATTERN "$(index_file FILE)"` and refute_grep fail on it).
index_file() {
    local t
    t=$(mktemp -p "$BATS_TEST_TMPDIR" index.XXXXXX)
    index_text "$1" >"$t" && printf '%s\n' "$t"
}

# refute_grep [GREP-OPTIONS] PATTERN [FILE...]: no line matches (grep exits 1; a
# missing or unreadable file, exit 2, fails too). Shows the lines that matched.
refute_grep() {
    local rc=0
    grep "$@" >&2 || rc=$?
    case $rc in
    1) return 0 ;;
    0) printf 'the lines above match: grep %s\n' "$*" >&2 ;;
    *) printf 'grep %s failed (exit %s)\n' "$*" "$rc" >&2 ;;
    esac
    return 1
}

assert_equal() {
    if [ "$1" != "$2" ]; then
        printf 'expected: %s\nactual:   %s\n' "$2" "$1" >&2
        return 1
    fi
}

# mbd_chroot_tarball CODENAME ARCH: the path of a real build chroot's tarball, made
# once per machine with mbd-chroot create and kept in "$MBDT_CACHE/chroots" (made
# again when older than 7 days, or when chroot.include changed).
mbd_chroot_tarball() {
    local codename=$1 arch=$2 include
    local dir="$MBDT_CACHE/chroots"
    include=$(mbd-chroot --show-config | sed -nE 's/^chroot\.include += (.*[^ ]) +\(.*/\1/p' | md5sum | cut -c1-8)
    local cached="$dir/$codename-$arch-$include.tar.zst"
    mkdir -p "$dir"
    (
        flock 9
        [ -z "$(find "$cached" -mtime -7 2>/dev/null)" ] || exit 0
        home=$(mktemp -d "$dir/home.XXXXXX")
        MBD_HOME="$home" mbd-chroot create "$codename" "$arch" >&2 &&
            mv "$home/var/chroots/$codename/$arch/$codename-$arch.tar.zst" "$cached"
        rc=$?
        rm -rf "$home"
        exit $rc
    ) 9>"$dir/.lock" || return 1
    echo "$cached"
}

# mbd_cached_chroot CODENAME ARCH: a real build chroot in this test's MBD_HOME,
# imported from mbd_chroot_tarball, checked and activated (slow tier): seconds once
# the tarball is cached.
mbd_cached_chroot() {
    local cached
    cached=$(mbd_chroot_tarball "$1" "$2") || return 1
    mbd-chroot import "$1" "$2" "$cached" &&
        mbd-chroot check "$1" "$2" &&
        mbd-chroot activate "$1" "$2"
}

# mbd_fake_chroot HOME CODENAME ARCH: an active, checked chroot recorded in HOME as
# mbd-chroot records one, whose tarball is empty: good for routing a build request
# here (and for a build whose sbuild is replaced, mbd-test-build), not for sbuild.
mbd_fake_chroot() {
    local home=$1 dir="$1/var/chroots/$2/$3"
    mkdir -p "$dir"
    : >"$dir/$2-$3.tar.zst"
    sqlite3 "$home/config.sqlite" "INSERT INTO chroots(codename, arch, backend, mirror, components, keyring, size,
        mtime_ns, status, check_flag, last_check) VALUES ('$2', '$3', 'unshare', 'http://deb.example.org/debian',
        'main', '/usr/share/keyrings/debian-archive-keyring.gpg', 0, $(date -r "$dir/$2-$3.tar.zst" +%s%N),
        'active', 'none', $(date +%s))"
}

# mbd_test_user NAME: a throwaway unprivileged user (useradd gives it subuid and
# subgid ranges), deleted by mbd_remove_test_users (call it from teardown). The
# test's directories become reachable for it; chown what it must write.
mbd_test_user() {
    useradd --no-create-home --shell /bin/sh "$@"
    printf '%s\n' "${!#}" >>"$BATS_RUN_TMPDIR/test-users"
    chmod o+x "$BATS_RUN_TMPDIR"
    # the tools where that user can run them (a checkout in root's 0700 home is out of its
    # reach): copied once per run, first on PATH from now on
    if [ ! -d "$BATS_RUN_TMPDIR/tools" ]; then
        mkdir -p "$BATS_RUN_TMPDIR/tools.$$"
        cp "$MBDT_BUILD_DIR"/tools/mbd-* "$BATS_RUN_TMPDIR/tools.$$/"
        chmod 755 "$BATS_RUN_TMPDIR/tools.$$"
        mv -T "$BATS_RUN_TMPDIR/tools.$$" "$BATS_RUN_TMPDIR/tools" 2>/dev/null || rm -rf "$BATS_RUN_TMPDIR/tools.$$"
    fi
    export PATH="$BATS_RUN_TMPDIR/tools:$PATH"
}

mbd_remove_test_users() {
    local u
    [ -f "$BATS_RUN_TMPDIR/test-users" ] || return 0
    while read -r u; do
        userdel "$u" 2>/dev/null || true
    done <"$BATS_RUN_TMPDIR/test-users"
    rm -f "$BATS_RUN_TMPDIR/test-users"
}

# mbd_tiny_source_package DIR NAME VERSION [DIST]: a native source package with
# an empty Build-Depends (builds in a bare buildd chroot, no network needed)
# made with dpkg-source -b in DIR; prints the path of its .dsc.
mbd_tiny_source_package() {
    local dir=$1 name=$2 version=$3 dist=${4:-unstable}
    local src="$dir/$name-$version"
    mkdir -p "$src/debian/source"
    cat >"$src/debian/control" <<END
Source: $name
Section: misc
Priority: optional
Maintainer: mbd test <mbd-test@example.org>
Build-Depends:
Standards-Version: 4.6.2
Rules-Requires-Root: no

Package: $name
Architecture: any
Description: tiny test package for mbd
 Built by the mbd test suite.
END
    printf '%s (%s) %s; urgency=low\n\n  * Test upload.\n\n -- mbd test <mbd-test@example.org>  %s\n' \
        "$name" "$version" "$dist" "$(date -R)" >"$src/debian/changelog"
    printf '3.0 (native)\n' >"$src/debian/source/format"
    printf '%s\n' '#!/usr/bin/make -f' \
        'build build-arch build-indep:' \
        'clean:' '	rm -rf debian/tmp debian/files' \
        'binary binary-arch binary-indep:' \
        "	install -d debian/tmp/DEBIAN debian/tmp/usr/share/doc/$name" \
        "	echo $name > debian/tmp/usr/share/doc/$name/README" \
        "	dpkg-gencontrol -p$name -Pdebian/tmp" \
        '	dpkg-deb --root-owner-group --build debian/tmp ..' >"$src/debian/rules"
    chmod +x "$src/debian/rules"
    (cd "$dir" && dpkg-source -b "$name-$version" >/dev/null) || return 1
    printf '%s\n' "$dir/${name}_$version.dsc"
}

# mbd_repositories ID...: repositories (bookworm, amd64, no network) to grant
# uploaders or upload to; makes an instance key first when there is none.
mbd_repositories() {
    local id
    mbd-keygen show >/dev/null 2>&1 || mbd-keygen init --algo ed25519 >/dev/null || return 1
    for id in "$@"; do
        mbd-repo setup "$id" --codename bookworm --arch amd64 --no-check >/dev/null 2>&1 ||
            { echo "mbd-repo setup $id failed" >&2; return 1; }
    done
}
