# Helpers for the remote tests: several instances on one machine, each with
# its own home under the test's directory, and build requests made by hand.
#
#   instance a [JOBS]            create home a (ed25519 instance key, identity a, build.jobs JOBS)
#   on a mbd-remote list         run a command as instance a (run_mbd on a ... works too)
#   home_of a                    its home directory
#   fpr_of a                     its instance key's fingerprint
#   fake_chroot a bookworm amd64 give a an active bookworm/amd64 chroot (an empty tarball, recorded
#                                as checked: good for routing, not for building)
#   interconnect a b             the seed's three steps over file://, a and b active on both sides
#   make_request a ID [CODENAME ARCH]   a signed build request of a, files in a directory;
#                                prints that directory (the request is DIR/request.asc);
#                                its tarball has MBDT_REQUEST_SIZE random bytes (2048); its
#                                Apt-Sources are MBDT_REQUEST_SOURCES (one-line sources, one a line)
#   route a ID [CODENAME ARCH]   make a request and route it; prints the builder chosen

home_of() { printf '%s\n' "$BATS_TEST_TMPDIR/$1"; }

on() {
    local name=$1
    shift
    MBD_HOME="$(home_of "$name")" "$@"
}

instance() {
    local name=$1 jobs=${2:-2} home
    home=$(home_of "$name")
    mkdir -p "$home/etc"
    printf 'identity = %s\nemail = mbd@%s.test\nbuild.jobs = %s\n' "$name" "$name" "$jobs" >"$home/etc/mbd.conf"
    on "$name" mbd-keygen init --algo ed25519 >/dev/null
    on "$name" mbd-remote status >/dev/null
}

fpr_of() { on "$1" mbd-keygen show --json | jq -r .fingerprint; }

fake_chroot() { mbd_fake_chroot "$(home_of "$1")" "$2" "$3"; }

interconnect() {
    local a=$1 b=$2
    on "$a" mbd-remote add "$b" "file://$(home_of "$b")" --fingerprint "$(fpr_of "$b")" >/dev/null 2>&1
    on "$a" mbd-remote activate "$b" >/dev/null 2>&1 || true # not known there yet: auto-reactivate
    on "$b" mbd-remote add "$a" "file://$(home_of "$a")" --fingerprint "$(fpr_of "$a")" >/dev/null 2>&1
    on "$b" mbd-remote activate "$a" >/dev/null
    on "$a" mbd-remote check "$b" >/dev/null
    on "$b" mbd-remote check "$a" >/dev/null
}

make_request() {
    local who=$1 id=$2 codename=${3:-bookworm} arch=${4:-amd64} dir
    dir="$BATS_TEST_TMPDIR/requests/$who-$id"
    mkdir -p "$dir"
    printf 'Format: 3.0 (native)\nSource: hello-%s\nVersion: 1.0\n' "$id" >"$dir/hello-$id.dsc"
    head -c "${MBDT_REQUEST_SIZE:-2048}" /dev/urandom >"$dir/hello-${id}_1.0.tar.xz"
    {
        printf 'Mbd-Build-Id: %s\nSource: hello-%s\nVersion: 1.0\n' "$id" "$id"
        printf 'Distribution: %s-test-unstable\nCodename: %s\nArchitecture: %s\nArch-All: no\n' \
            "$codename" "$codename" "$arch"
        printf 'Requester: %s\nLintian-Mode: disabled\n' "$(fpr_of "$who")"
        if [ -n "${MBDT_REQUEST_SOURCES:-}" ]; then
            printf 'Apt-Sources:\n'
            printf '%s\n' "$MBDT_REQUEST_SOURCES" | sed 's/^/ /'
        fi
        printf 'Checksums-Sha256:\n'
        local f
        for f in "hello-$id.dsc" "hello-${id}_1.0.tar.xz"; do
            printf ' %s %s %s\n' "$(sha256sum <"$dir/$f" | cut -d' ' -f1)" "$(stat -c %s "$dir/$f")" "$f"
        done
    } >"$dir/request.txt"
    on "$who" mbd-test-keys clearsign "$dir/request.txt" >"$dir/request.asc"
    printf '%s\n' "$dir"
}

route() {
    local dir
    dir=$(make_request "$@")
    on "$1" mbd-test-remote route "$dir/request.asc" "$dir" 2>/dev/null
}

# The key of a's request ID (its directory name in the spools).
request_key() { printf '%s-%s\n' "$(fpr_of "$1" | cut -c1-16)" "$2"; }

remote_setup() {
    mbd_setup
    export PATH="$MBDT_BUILD_DIR/tests/tools:$PATH"
    cd "$BATS_TEST_TMPDIR" || return
}

# Stop the gpg-agents the instances' key rings started.
remote_teardown() {
    stop_gpg_agent "$BATS_TEST_TMPDIR"/*/gnupg "$BATS_TEST_TMPDIR"/*/gnupg/*/
    mbd_teardown
}

# A real sshd on 127.0.0.1 for ssh:// remotes (slow tier). Instance X reaches
# instance Y with X's client key, whose authorized_keys entry forces
# `mbd-remote --home Y serve`:
#   start_sshd a:b b:a     X:Y pairs; sets SSHD_PORT and SSHD_PID and gives each
#                          X a remote.ssh_command with its key and known_hosts
#   ssh_url                ssh://root@127.0.0.1:PORT
#   ssh_as a CMD...        what a's mbd-remote runs, by hand
start_sshd() {
    local dir="$BATS_TEST_TMPDIR/sshd" pair x y
    mkdir -p "$dir"
    : >"$dir/authorized_keys"
    for pair in "$@"; do
        x=${pair%%:*}
        y=${pair#*:}
        [ -f "$dir/client_$x" ] || ssh-keygen -q -t ed25519 -N '' -C "mbd-$x" -f "$dir/client_$x"
        printf 'restrict,command="%s --home %s serve" %s\n' "$MBDT_BUILD_DIR/tools/mbd-remote" "$(home_of "$y")" \
            "$(cat "$dir/client_$x.pub")" >>"$dir/authorized_keys"
    done
    sshd_run "$dir/authorized_keys" || return 1
    for pair in "$@"; do
        x=${pair%%:*}
        printf 'remote.ssh_command = %s\n' "$(ssh_command "$x")" >>"$(home_of "$x")/etc/mbd.conf"
    done
}

# sshd_run AUTHORIZED_KEYS: a real sshd on a free loopback port taking root's logins with
# the keys of that file (as its entries' options say); sets SSHD_PORT and SSHD_PID and
# writes $BATS_TEST_TMPDIR/sshd/known_hosts. stop_sshd ends it.
sshd_run() {
    local dir="$BATS_TEST_TMPDIR/sshd"
    mkdir -p "$dir" /run/sshd
    [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    for _ in 1 2 3 4 5; do
        SSHD_PORT=$((20000 + RANDOM % 30000))
        cat >"$dir/sshd_config" <<CONFIG
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $1
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ERROR
CONFIG
        /usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>>"$dir/sshd.log" &
        SSHD_PID=$!
        for _ in $(seq 50); do
            if ssh-keyscan -p "$SSHD_PORT" -t ed25519 127.0.0.1 2>/dev/null | grep -q ssh-ed25519; then
                printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
                export SSHD_PORT SSHD_PID
                return 0
            fi
            kill -0 "$SSHD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$SSHD_PID" 2>/dev/null || true
    done
    cat "$dir/sshd.log" >&2
    return 1
}

ssh_command() {
    local dir="$BATS_TEST_TMPDIR/sshd"
    printf 'ssh -F /dev/null -i %s -o IdentitiesOnly=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes' \
        "$dir/client_$1" "$dir/known_hosts"
}

ssh_url() { printf 'ssh://root@127.0.0.1:%s\n' "$SSHD_PORT"; }

ssh_as() {
    local x=$1
    shift
    # shellcheck disable=SC2046
    $(ssh_command "$x") -o BatchMode=yes -p "$SSHD_PORT" root@127.0.0.1 "$@"
}

stop_sshd() {
    [ -z "${SSHD_PID:-}" ] || kill "$SSHD_PID" 2>/dev/null || true
}
