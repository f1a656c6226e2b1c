#!/usr/bin/env bats
# mbd-incoming receive, the forced command of an upload-only ssh key, driven by the
# real clients without an sshd: sftp -D runs it as a local SFTP server, scp -S runs it
# in place of ssh (SFTP mode, and the legacy protocol with -O), paramiko (dput-ng's
# sftp method) talks SFTP to it over a socketpair, dput's scp method goes through scp.
# Files arrive whole or not at all, never over another; nothing else is allowed (exit 11).

load ../helpers
load ../lib/debian
load ../lib/pipeline

setup() {
    mbd_setup
    T=$BATS_TEST_TMPDIR
    IN=$MBD_HOME/incoming
    mkdir -p "$T/files" "$T/bin"
    cd "$T/files" || return 1
    # the receiving end, as sshd runs it; each session's exit code is added to server.rc
    cat >"$T/server" <<EOF
#!/bin/sh
"$MBDT_BUILD_DIR/tools/mbd-incoming" --home "$MBD_HOME" receive 2>>"$T/server.err"
echo \$? >>"$T/server.rc"
EOF
    # ssh for scp -S: what sshd gives the forced command, the subsystem's command (-s)
    # or the command line the client sent (its last argument)
    cat >"$T/ssh" <<EOF
#!/bin/sh
cmd=
for a in "\$@"; do
    [ "\$a" != -s ] || cmd=/usr/lib/openssh/sftp-server
done
for last in "\$@"; do :; done
SSH_ORIGINAL_COMMAND=\${cmd:-\$last}
echo "\$SSH_ORIGINAL_COMMAND" >>"$T/commands.seen"
export SSH_ORIGINAL_COMMAND
exec "$T/server"
EOF
    chmod +x "$T/server" "$T/ssh"
    mbd-incoming events >/dev/null # the home's layout
}

# The exit code receive wrote when it ended, or "none" if it wrote none within 10 s (the client
# may exit before its server's wrapper has written it: scp does when the server refuses).
server_rc_written() {
    local tries=100
    while [ ! -s "$T/server.rc" ] && [ $((tries -= 1)) -gt 0 ]; do
        sleep 0.1
    done
    cat "$T/server.rc" 2>/dev/null || echo none
}

# shellcheck disable=SC2154 # bats' run sets stderr
# sftp_session COMMAND...: one sftp -b session (local files in $T/files); sets status,
# output, stderr, and server_rc: the exit code of receive.
sftp_session() {
    printf '%s\n' "$@" >"$T/batch"
    rm -f "$T/server.rc"
    run --separate-stderr env SSH_ORIGINAL_COMMAND=/usr/lib/openssh/sftp-server \
        sftp -b "$T/batch" -D "$T/server"
    server_rc=$(server_rc_written)
    printf '$ sftp: %s\nexit %s, receive exit %s\n%s\n' "$*" "$status" "$server_rc" "$stderr" >>"$T/commands.log"
}

# shellcheck disable=SC2154 # bats' run sets stderr
# scp_session SCP-ARGS...: like sftp_session, for scp -S.
scp_session() {
    rm -f "$T/server.rc"
    run --separate-stderr scp -S "$T/ssh" "$@"
    server_rc=$(server_rc_written)
    printf '$ scp %s\nexit %s, receive exit %s\n%s\n' "$*" "$status" "$server_rc" "$stderr" >>"$T/commands.log"
}

# The instance home's files but its state (var/, the database).
home_files() {
    (cd "$MBD_HOME" && find . -path ./var -prune -o -name 'config.sqlite*' -prune -o -print | sort)
}

# No part, no dot file in incoming/.
assert_no_parts() {
    assert_equal "$(find "$IN" -mindepth 1 -name '.*')" ""
}

@test "receive takes nothing but an upload: no command, a shell command, scp -f, rsync exit 11" {
    run_mbd 11 env -u SSH_ORIGINAL_COMMAND mbd-incoming receive </dev/null
    assert_stderr_contains "SSH_ORIGINAL_COMMAND is not set"
    for c in "" ls "sh -c id" "scp -f incoming/x.dsc" "rsync --server -e.Lsfx . incoming" "mbd-repo ls" \
        "scp -t incoming; id" "sftp"; do
        run_mbd 11 env SSH_ORIGINAL_COMMAND="$c" mbd-incoming receive </dev/null
        assert_stderr_contains "this key may only upload files into incoming/"
        assert_equal "$output" ""
    done
    assert_equal "$(ls -A "$IN")" ""
}

@test "sftp: put stores files byte-identical, each only once complete; the session exits 0" {
    head -c 3000000 /dev/urandom >big_1.0.tar.xz
    echo small >pkg_1.0.dsc
    sftp_session "pwd" "cd incoming" "put big_1.0.tar.xz" "put pkg_1.0.dsc /incoming/" \
        "put pkg_1.0.dsc ../incoming/other_1.0.dsc" "ls -l big_1.0.tar.xz"
    assert_equal "$status" 0
    assert_equal "$server_rc" 0
    [[ "$output" == *"Remote working directory: /"* ]]
    cmp big_1.0.tar.xz "$IN/big_1.0.tar.xz"
    cmp pkg_1.0.dsc "$IN/pkg_1.0.dsc"
    cmp pkg_1.0.dsc "$IN/other_1.0.dsc"
    assert_equal "$(ls -A "$IN" | tr '\n' ' ')" "big_1.0.tar.xz other_1.0.dsc pkg_1.0.dsc "
    [ ! -s "$T/server.err" ]
}

@test "sftp: listing, reading back, removing, renaming, links, directories, writing elsewhere are refused; nothing changes" {
    echo theirs >"$IN/theirs_1.0.dsc"
    echo mine >mine.dsc
    before=$(home_files)
    for cmd in "ls" "ls incoming" "ls -l /incoming/*.dsc" "rm incoming/theirs_1.0.dsc" \
        "rename incoming/theirs_1.0.dsc incoming/x.dsc" "mkdir incoming/sub" "mkdir /sub" "rmdir incoming" \
        "ln -s incoming/theirs_1.0.dsc incoming/l.dsc" "put mine.dsc" "put mine.dsc /mine.dsc" \
        "put mine.dsc ../mine.dsc" "put mine.dsc incoming/../../mine.dsc" "put mine.dsc /etc/mine.dsc" \
        "put mine.dsc incoming/.mine.dsc" "put mine.dsc incoming/sub/mine.dsc" "put mine.dsc incoming/theirs_1.0.dsc" \
        "put mine.dsc incoming/mine.dsc" "get incoming/mine.dsc back.dsc"; do
        # (the last two in one session: a file this session stored is not read back either)
        if [ "$cmd" = "put mine.dsc incoming/mine.dsc" ]; then
            continue
        elif [ "$cmd" = "get incoming/mine.dsc back.dsc" ]; then
            sftp_session "put mine.dsc incoming/mine.dsc" "$cmd"
            rm "$IN/mine.dsc"
        else
            sftp_session "$cmd"
        fi
        assert_equal "$server_rc" 11
        grep -q "refused: " "$T/server.err"
        # nothing on stdout but the commands sftp echoes: no listing
        refute_grep -v '^sftp> ' <<<"$output"
        assert_equal "$(cat "$IN/theirs_1.0.dsc")" theirs
        assert_equal "$(home_files)" "$before"
        [ ! -e back.dsc ]
        [ ! -e /mine.dsc ]
        [ ! -e /etc/mine.dsc ]
        : >"$T/server.err"
    done
    run cat "$T/commands.log"
    # sftp says so too (batch mode's ls goes on regardless)
    [[ "$output" == *"Permission denied"* ]]
}

@test "sftp: other files in incoming are invisible: stat and get say there is no such file" {
    echo theirs >"$IN/theirs_1.0.dsc"
    sftp_session "get incoming/theirs_1.0.dsc"
    [ "$status" -ne 0 ]
    assert_equal "$server_rc" 0 # nothing refused: there is nothing
    [[ "$stderr" == *"not found"* ]]
    [ ! -e theirs_1.0.dsc ]
    sftp_session "cd incoming/theirs_1.0.dsc"
    [ "$status" -ne 0 ]
    grep -qi "no such file" <<<"$stderr"
}

@test "sftp: a file already in incoming is never overwritten, not even one the same session stored" {
    echo old >"$IN/pkg_1.0.dsc"
    echo new >pkg_1.0.dsc
    sftp_session "put pkg_1.0.dsc incoming/"
    [ "$status" -ne 0 ]
    assert_equal "$server_rc" 11
    assert_equal "$(cat "$IN/pkg_1.0.dsc")" old
    grep -q "'pkg_1.0.dsc' is already in incoming" "$T/server.err"
    : >empty
    sftp_session "put pkg_1.0.dsc incoming/new_1.0.dsc" "put empty incoming/new_1.0.dsc"
    [ "$status" -ne 0 ]
    assert_equal "$server_rc" 11
    cmp pkg_1.0.dsc "$IN/new_1.0.dsc"
    assert_no_parts
}

@test "scp in SFTP mode and legacy -O: files arrive byte-identical; -p and the target's spellings are taken" {
    head -c 3000000 /dev/urandom >big_1.0.tar.xz
    echo small >pkg_1.0.dsc
    for mode in "" -O; do
        # shellcheck disable=SC2088 # a literal ~: scp's SFTP mode takes ~/ as the start
        for target in incoming /incoming incoming/ "~/incoming"; do
            # shellcheck disable=SC2088 # (in the legacy protocol, the remote shell expands it)
            [ "$target" != "~/incoming" ] || [ "$mode" = "" ] || continue
            rm -f "$IN"/*
            scp_session $mode -p big_1.0.tar.xz pkg_1.0.dsc "uploadhost:$target"
            assert_equal "$status" 0
            assert_equal "$server_rc" 0
            cmp big_1.0.tar.xz "$IN/big_1.0.tar.xz"
            cmp pkg_1.0.dsc "$IN/pkg_1.0.dsc"
            assert_no_parts
        done
    done
    # both protocols were spoken
    grep -qx "scp -p -d -t incoming" "$T/commands.seen"
    grep -qx "/usr/lib/openssh/sftp-server" "$T/commands.seen"
}

@test "scp: other targets, directories, downloads and files already there are refused; nothing changes" {
    echo theirs >"$IN/theirs_1.0.dsc"
    echo mine >mine.dsc
    mkdir dir
    echo x >dir/x.dsc
    for mode in "" -O; do
        for target in /tmp "/tmp/mine-$$.dsc" "incoming/sub/x.dsc" ".." "incoming/../x"; do
            scp_session $mode mine.dsc "uploadhost:$target"
            [ "$status" -ne 0 ]
            assert_equal "$server_rc" 11
        done
        scp_session $mode mine.dsc "uploadhost:incoming/theirs_1.0.dsc"
        [ "$status" -ne 0 ]
        assert_equal "$server_rc" 11
        scp_session $mode mine.dsc mine.dsc "uploadhost:incoming/theirs_1.0.dsc"
        [ "$status" -ne 0 ]
        scp_session $mode -r dir uploadhost:incoming
        [ "$status" -ne 0 ]
        # (scp -O takes a download's refusal for an empty answer: it exits 0 with nothing)
        scp_session $mode uploadhost:incoming/theirs_1.0.dsc back.dsc
        [ ! -e back.dsc ]
    done
    # legacy: the sink refuses each in the protocol and the client says so
    scp_session -O mine.dsc mine.dsc uploadhost:incoming
    scp_session -O mine.dsc uploadhost:incoming
    [ "$status" -ne 0 ]
    assert_equal "$server_rc" 11
    [[ "$stderr" == *"'mine.dsc' is already in incoming"* ]]
    rm "$IN/mine.dsc"
    scp_session -O -r dir uploadhost:incoming
    assert_equal "$server_rc" 11
    [[ "$stderr" == *"directories are not allowed: 'dir'"* ]]
    scp_session -O uploadhost:incoming/theirs_1.0.dsc back.dsc
    assert_equal "$server_rc" 11
    assert_equal "$(ls -A "$IN")" theirs_1.0.dsc
    assert_equal "$(cat "$IN/theirs_1.0.dsc")" theirs
    [ ! -e "/tmp/mine-$$.dsc" ]
    [ ! -e "$MBD_HOME/mine.dsc" ]
}

@test "a transfer killed halfway leaves nothing in incoming: sftp, scp, scp -O, and receive ended by SIGTERM" {
    head -c 20000000 /dev/urandom >huge_1.0.tar.xz
    printf 'put huge_1.0.tar.xz incoming/\n' >"$T/batch"
    for how in sftp scp scp-O receive-TERM; do
        rm -f "$T/server.rc"
        : >"$T/server.err"
        # 8000 kbit/s: 20 seconds for the file, were it not killed
        case $how in
        sftp | receive-TERM)
            SSH_ORIGINAL_COMMAND=/usr/lib/openssh/sftp-server sftp -l 8000 -b "$T/batch" -D "$T/server" \
                >/dev/null 2>&1 &
            ;;
        scp) scp -l 8000 -S "$T/ssh" huge_1.0.tar.xz uploadhost:incoming >/dev/null 2>&1 & ;;
        scp-O) scp -O -l 8000 -S "$T/ssh" huge_1.0.tar.xz uploadhost:incoming >/dev/null 2>&1 & ;;
        esac
        client=$!
        for _ in $(seq 100); do
            [ ! -s "$IN/.huge_1.0.tar.xz.mbd-part" ] || break
            sleep 0.1
        done
        [ -s "$IN/.huge_1.0.tar.xz.mbd-part" ]
        sleep 0.3
        if [ "$how" = receive-TERM ]; then
            server=$(pgrep -f -- "--home $MBD_HOME receive")
            kill -TERM "$server"
        else
            kill -KILL "$client"
        fi
        wait "$client" || true
        for _ in $(seq 100); do
            [ ! -s "$T/server.rc" ] || break
            sleep 0.1
        done
        echo "$how: receive exit $(cat "$T/server.rc"): $(cat "$T/server.err")" >>"$T/commands.log"
        assert_equal "$(cat "$T/server.rc")" 17
        [ ! -e "$IN/huge_1.0.tar.xz" ]
        assert_no_parts
    done
    grep -q "receive-TERM: .*ended by signal 15" "$T/commands.log"
    grep -q "scp-O: .*the connection ended in the middle of 'huge_1.0.tar.xz': not stored" "$T/commands.log"
}

@test "paramiko (dput-ng's sftp method): put with confirm stores the files; listing is refused" {
    head -c 1000000 /dev/urandom >big_1.0.tar.xz
    echo small >pkg_1.0.dsc
    cat >"$T/paramiko-put.py" <<'EOF'
import os, select, socket, subprocess, sys
import paramiko

class Pipe:
    """What paramiko's SFTPClient needs of a channel, over a socket."""
    def __init__(self, s): self.s = s
    def get_name(self): return "receive"
    def send(self, d): return self.s.send(d)
    def recv(self, n): return self.s.recv(n)
    def recv_ready(self): return bool(select.select([self.s], [], [], 0)[0])
    def close(self): self.s.close()

ours, theirs = socket.socketpair()
server = subprocess.Popen([sys.argv[1]], stdin=theirs, stdout=theirs,
                          env=dict(os.environ, SSH_ORIGINAL_COMMAND="internal-sftp"))
theirs.close()
sftp = paramiko.SFTPClient(Pipe(ours))
sftp.chdir("incoming")  # what older dput-ng does; newer ones join the path
for f in sys.argv[2:]:
    print(f, sftp.put(f, f, confirm=True).st_size)
try:
    sftp.listdir(".")
    print("listed")
except IOError as e:
    print("listing refused:", e)
sftp.close()
sys.exit(server.wait())
EOF
    rm -f "$T/server.rc"
    run --separate-stderr /usr/bin/python3 "$T/paramiko-put.py" "$T/server" big_1.0.tar.xz pkg_1.0.dsc
    printf '%s\n%s\n' "$output" "$stderr" >>"$T/commands.log"
    assert_equal "$status" 0
    assert_equal "$(cat "$T/server.rc")" 11 # for the listing
    assert_output_contains "big_1.0.tar.xz 1000000"
    assert_output_contains "listing refused"
    cmp big_1.0.tar.xz "$IN/big_1.0.tar.xz"
    cmp pkg_1.0.dsc "$IN/pkg_1.0.dsc"
    assert_no_parts
}

@test "dput's scp method uploads a signed source package that mbd-incoming accepts" {
    mbdt_pipeline_instance test
    changes=$(mbdt_source_package "$T/pkg" tiny 1.0~test12+1 bookworm-test-unstable)
    chmod 644 "$T/pkg"/* # dput runs 'ssh HOST chmod' when a file is not 0644 (not an upload: refused)
    printf '[uploadhost]\nmethod = scp\nfqdn = uploadhost\nincoming = incoming\n' >"$T/dput-scp.cf"
    printf '#!/bin/sh\nexec /usr/bin/scp -S "%s" "$@"\n' "$T/ssh" >"$T/bin/scp"
    chmod +x "$T/bin/scp"
    rm -f "$T/server.rc"
    PATH="$T/bin:$PATH" run --separate-stderr dput -u -c "$T/dput-scp.cf" uploadhost "$changes"
    printf '%s\n%s\n' "$output" "$stderr" >>"$T/commands.log"
    assert_equal "$status" 0
    assert_equal "$(cat "$T/server.rc")" 0
    while read -r f; do
        cmp "$T/pkg/$f" "$IN/$f"
    done < <(mbdt_changes_files "$changes")
    run_mbd mbd-incoming run
    assert_output_contains "accepted 1"
}
