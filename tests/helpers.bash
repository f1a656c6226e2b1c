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

# Stop the gpg-agents a test's key rings started.
mbd_teardown() {
    local d
    for d in "$MBD_HOME"/gnupg "$MBD_HOME"/gnupg/*/ "$GNUPGHOME"; do
        [ -d "$d" ] && gpgconf --homedir "$d" --kill all 2>/dev/null || true
    done
}

setup() {
    mbd_setup
}

teardown() {
    mbd_teardown
}

# run_mbd [expected-rc] command [args...]
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

assert_equal() {
    if [ "$1" != "$2" ]; then
        printf 'expected: %s\nactual:   %s\n' "$2" "$1" >&2
        return 1
    fi
}
