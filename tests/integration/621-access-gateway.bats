#!/usr/bin/env bats
# Packagers and CI on other machines (issue 19): ssh keys with roles (mbd-keygen access), the
# gateway as their forced command (mbd-remote gateway), dput over scp through a real sshd on a
# loopback port. Builds use prebuilt results (mbd-test-build): sbuild is not what this tests.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/crash
load ../lib/remote

setup() {
    mbd_setup
    CRASH_CHROOT=fake crash_setup
    keys="$BATS_TEST_TMPDIR/keys"
    mkdir -p "$keys"
    for who in reader uploader admin stranger; do
        ssh-keygen -q -t ed25519 -N '' -C "$who@client" -f "$keys/$who"
    done
    run_mbd mbd-keygen access add rita "$keys/reader.pub" --role reader
    run_mbd mbd-keygen access add ulf "$keys/uploader.pub" --role uploader --uploader "$(mbdt_uploader_key)"
    run_mbd mbd-keygen access add ada "$keys/admin.pub" --role admin
    sshd_run "$MBD_HOME/.ssh/authorized_keys"
}

teardown() {
    stop_sshd
    mbd_remove_test_users
    mbd_teardown
}

# as WHO CMD...: ssh to the gateway with WHO's key (reader, uploader, admin, stranger)
as() {
    local who=$1
    shift
    ssh -F /dev/null -i "$keys/$who" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$BATS_TEST_TMPDIR/sshd/known_hosts" -o StrictHostKeyChecking=yes \
        -p "$SSHD_PORT" root@127.0.0.1 "$@"
}

# calls: the gateway's CALL events, oldest first
calls() {
    mbd-incoming events --type CALL --limit 0 --json | python3 -c '
import json, sys
for e in reversed(json.load(sys.stdin)):
    print(e["message"])'
}

@test "access keys: add, list, role, remove; authorized_keys holds the block and keeps other lines" {
    printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherLineOfTheAdmin admin@box\n' >"$BATS_TEST_TMPDIR/own"
    file="$MBD_HOME/.ssh/authorized_keys"
    cat "$BATS_TEST_TMPDIR/own" "$file" >"$file.new" && mv "$file.new" "$file"
    run_mbd mbd-keygen access list --json
    assert_equal "$(python3 -c 'import json, sys; print([(k["name"], k["role"]) for k in json.load(sys.stdin)])' <<<"$output")" \
        "[('ada', 'admin'), ('rita', 'reader'), ('ulf', 'uploader')]"
    # the fingerprint is ssh-keygen's
    fpr=$(ssh-keygen -l -E sha256 -f "$keys/reader.pub" | cut -d' ' -f2)
    run_mbd mbd-keygen access list
    assert_output_contains "rita reader   $fpr -"
    run_mbd mbd-keygen access role rita admin
    run_mbd mbd-keygen access remove ada
    grep -qxF "$(cat "$BATS_TEST_TMPDIR/own")" "$file"
    assert_equal "$(grep -c '^restrict,command=' "$file")" 2
    grep -qF "restrict,command=\"$MBDT_BUILD_DIR/tools/mbd-remote --home $MBD_HOME gateway --key rita\" $(cut -d' ' -f1,2 "$keys/reader.pub") mbd:rita" "$file"
    refute grep -q 'mbd:ada' "$file"
    assert_equal "$(stat -c %a "$file")" 600
    # what is refused, and how
    run_mbd 5 mbd-keygen access add again "$keys/reader.pub" --role reader
    assert_stderr_contains "is access key 'rita' already"
    run_mbd 5 mbd-keygen access add rita "$keys/stranger.pub" --role reader
    echo 'not a key' >"$BATS_TEST_TMPDIR/bad.pub"
    run_mbd 7 mbd-keygen access add bad "$BATS_TEST_TMPDIR/bad.pub" --role reader
    printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBad\n' >"$BATS_TEST_TMPDIR/bad.pub"
    run_mbd 7 mbd-keygen access add bad "$BATS_TEST_TMPDIR/bad.pub" --role reader
    assert_stderr_contains "ssh-keygen"
    run_mbd 4 mbd-keygen access add bad "$keys/stranger.pub" --role reader --uploader 0123456789012345678901234567890123456789
    run_mbd 2 mbd-keygen access add ../x "$keys/stranger.pub" --role reader
    run_mbd 2 mbd-keygen access add x "$keys/stranger.pub" --role root
    run_mbd 4 mbd-keygen access remove nobody
}

@test "through sshd: the reader reads, the uploader retries only its own, the admin migrates; every call is an event" {
    crash_upload
    run_mbd mbd-incoming run
    # the reader: queries pass through with their output and exit status
    run as reader mbd-repo ls --json
    [ "$status" -eq 0 ]
    python3 -c 'import json, sys; json.load(sys.stdin)' <<<"$output"
    run as reader mbd-incoming uploads
    [ "$status" -eq 0 ]
    assert_output_contains "crash1"
    run as reader mbd-repo ls nosuch
    [ "$status" -eq 4 ]
    run as reader mbd-repo migrate crash1 bookworm-test-unstable
    [ "$status" -eq 11 ]
    assert_output_contains "'mbd-repo migrate' needs admin"
    run as reader mbd-build retry 1-amd64
    [ "$status" -eq 11 ]
    # the uploader: its own upload's build, not someone else's
    build=$(mbd-incoming uploads --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["builds"][0]["id"])')
    run as uploader mbd-build retry "$build"
    echo "$output"
    [ "$status" -eq 13 ] # (its own: allowed, and refused by mbd-build itself: the build did not fail)
    assert_output_contains "only a failed build"
    run_mbd mbd-keygen access add ulf2 "$keys/stranger.pub" --role uploader
    run as stranger mbd-build retry "$build"
    [ "$status" -eq 11 ]
    assert_output_contains "only builds of uploads signed by its keys"
    run as uploader mbd-build cancel "$build" 1-amd64
    [ "$status" -eq 11 ]
    assert_output_contains "takes one build id and nothing else"
    run_mbd mbd-keygen access remove ulf2
    run as uploader mbd-repo migrate crash1 bookworm-test-unstable
    [ "$status" -eq 11 ]
    # the admin
    mbd-test-build run "$CRASH_DIR/prebuilt" 2>>"$BATS_TEST_TMPDIR/passes.log"
    run_mbd mbd-incoming run
    run as admin mbd-repo migrate crash1 bookworm-test-unstable
    [ "$status" -eq 0 ]
    run_mbd mbd-repo ls test --dist bookworm-test-testing
    assert_output_contains "crash1"
    # a key sshd does not know; a key removed since
    run as stranger mbd-repo ls
    [ "$status" -eq 255 ]
    run_mbd mbd-keygen access remove rita
    run as reader mbd-repo ls
    [ "$status" -eq 255 ]
    run calls
    assert_output_contains "rita (reader, $(ssh-keygen -l -E sha256 -f "$keys/reader.pub" | cut -d' ' -f2)): mbd-repo ls --json: exit 0"
    assert_output_contains "rita (reader"
    assert_output_contains "mbd-repo migrate crash1 bookworm-test-unstable: refused: access key 'rita' is a reader"
    assert_output_contains "ada (admin"
    assert_output_contains "mbd-repo migrate crash1 bookworm-test-unstable: exit 0"
}

@test "escapes are refused: shell syntax, paths, options that change the instance, a shell, port forwarding" {
    run_mbd mbd-repo ls
    # shellcheck disable=SC2016 # (not expanded here: what the client sends)
    for call in 'mbd-repo ls; touch /tmp/mbdt-pwned' 'mbd-repo ls $(touch /tmp/mbdt-pwned)' \
        'mbd-repo ls `touch /tmp/mbdt-pwned`' 'mbd-repo ls | tee /tmp/mbdt-pwned' 'mbd-build log ../../gnupg' \
        'mbd-repo --home /tmp ls' 'mbd-repo ls -o home=x' 'mbd-repo ls -qo home=x' 'mbd-repo ls --option=home=x' 'mbd-repo ls --log all' \
        'mbd-keygen export --output /tmp/mbdt-pwned' 'mbd-chroot shell bookworm amd64' 'mbd-incoming run' \
        'mbd-remote gateway --key ada' 'sh -c id' 'bash' '/bin/sh' 'mbd-repo'; do
        run as admin "$call"
        [ "$status" -eq 11 ] || { echo "not refused: $call ($status) $output"; return 1; }
    done
    [ ! -e /tmp/mbdt-pwned ]
    # no shell, no forwarding
    run as admin
    [ "$status" -eq 11 ]
    run timeout 30 ssh -F /dev/null -i "$keys/admin" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$BATS_TEST_TMPDIR/sshd/known_hosts" -o ExitOnForwardFailure=yes -N \
        -R "127.0.0.1:0:127.0.0.1:$SSHD_PORT" -p "$SSHD_PORT" root@127.0.0.1
    [ "$status" -eq 255 ]
    assert_output_contains "forwarding failed"
    assert_equal "$(calls | grep -c ': refused: ')" 19
}

# client_dput CHANGES: dput over scp through the gateway as another user of this machine (the
# client), with its own copy of the uploader's ssh key, the files mode 0600 (dput then runs chmod)
client_dput() {
    local client=mbdtc$$ dir="$BATS_TEST_TMPDIR/client" f
    id "$client" >/dev/null 2>&1 || mbd_test_user --home-dir "$dir" "$client"
    mkdir -p "$dir"
    cp "$keys/${2:-uploader}" "$dir/id"
    cp "$BATS_TEST_TMPDIR/sshd/known_hosts" "$dir/known_hosts"
    mbd-repo -o access.host=127.0.0.1 -o access.port="$SSHD_PORT" -o access.login=root dput-conf |
        awk -v dir="$dir" '{print} /^ssh_config_options/ {
            print " IdentityFile=" dir "/id"; print " UserKnownHostsFile=" dir "/known_hosts"
            print " IdentitiesOnly=yes"; print " BatchMode=yes"}' >"$dir/dput.cf"
    for f in "$1" $(mbdt_changes_files "$1"); do
        cp "$(dirname "$1")/$(basename "$f")" "$dir/"
    done
    chmod 0600 "$dir"/*
    chown -R "$client:" "$dir"
    chmod 0700 "$dir"
    runuser -u "$client" -- env HOME="$dir" dput -u -c "$dir/dput.cf" "$MBDT_DPUT_HOST" "$dir/$(basename "$1")"
}

@test "dput over scp through sshd from another user: stored whole, built, installed; a reader may not upload" {
    CRASH_DPUT=0 crash_upload
    # a reader's upload is refused, nothing arrives
    run client_dput "$CRASH_LAST_CHANGES" reader
    [ "$status" -ne 0 ]
    assert_equal "$(find "$MBD_HOME/incoming" -type f | wc -l)" 0
    # the uploader's (scp speaks SFTP): the files arrive byte for byte, 0644
    run client_dput "$CRASH_LAST_CHANGES"
    echo "$output"
    [ "$status" -eq 0 ]
    for f in "$CRASH_LAST_CHANGES" $(mbdt_changes_files "$CRASH_LAST_CHANGES"); do
        cmp "$(dirname "$CRASH_LAST_CHANGES")/$(basename "$f")" "$MBD_HOME/incoming/$(basename "$f")"
        assert_equal "$(stat -c %a "$MBD_HOME/incoming/$(basename "$f")")" 644
    done
    run_mbd mbd-incoming run
    mbd-test-build run "$CRASH_DIR/prebuilt" 2>>"$BATS_TEST_TMPDIR/passes.log"
    run_mbd mbd-incoming run
    run_mbd mbd-repo ls test --dist bookworm-test-unstable
    grep -qE '^crash1 +1\.0~test12\+1 +bookworm-test-unstable' <<<"$output"
    run calls
    assert_output_contains "ulf (uploader"
    assert_output_contains ": stored "
    assert_output_contains "chmod: nothing to do"
    assert_output_contains "rita (reader"
    # the legacy scp protocol (scp -O, what bullseye's scp speaks) reaches the same sink
    CRASH_DPUT=0 crash_upload
    run scp -O -F /dev/null -i "$keys/uploader" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$BATS_TEST_TMPDIR/sshd/known_hosts" -P "$SSHD_PORT" \
        "$CRASH_LAST_CHANGES" "root@127.0.0.1:/incoming"
    [ "$status" -eq 0 ]
    cmp "$CRASH_LAST_CHANGES" "$MBD_HOME/incoming/$(basename "$CRASH_LAST_CHANGES")"
    # sftp: no listing, no reading back, no other directory
    printf 'ls /incoming\nget /incoming/%s\n' "$(basename "$CRASH_LAST_CHANGES")" >"$BATS_TEST_TMPDIR/batch"
    run sftp -F /dev/null -i "$keys/uploader" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$BATS_TEST_TMPDIR/sshd/known_hosts" -P "$SSHD_PORT" \
        -b "$BATS_TEST_TMPDIR/batch" root@127.0.0.1
    [ "$status" -ne 0 ]
    printf 'put %s /tmp/mbdt-sftp-escape\n' "$CRASH_LAST_CHANGES" >"$BATS_TEST_TMPDIR/batch"
    run sftp -F /dev/null -i "$keys/uploader" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$BATS_TEST_TMPDIR/sshd/known_hosts" -P "$SSHD_PORT" \
        -b "$BATS_TEST_TMPDIR/batch" root@127.0.0.1
    [ "$status" -ne 0 ]
    [ ! -e /tmp/mbdt-sftp-escape ]
}
