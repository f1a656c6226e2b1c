#!/usr/bin/env bats
# The tools stop the gpg-agents they start: left running, each holds inotify
# instances, and a machine (a container's systemd) runs out of them.

load ../helpers

agents_of_home() {
    pgrep -f -- "gpg-agent --homedir $MBD_HOME/" || true
}

@test "signing, setting up sources and publishing leave no gpg-agent of the instance running" {
    run_mbd mbd-keygen init --algo ed25519
    run_mbd mbd-repo setup test --codename bookworm --arch amd64 --no-check
    run_mbd mbd-repo publish
    run_mbd mbd-keygen check
    run_mbd mbd-keygen export --output "$BATS_TEST_TMPDIR/key.asc"
    [ -s "$BATS_TEST_TMPDIR/key.asc" ]
    # the sources' homes (verifying only) never start one
    grep -qx no-autostart "$MBD_HOME"/gnupg/sources/*/gpg.conf
    assert_equal "$(agents_of_home)" ""
}

@test "a run that overlaps another does not stop the agent under it; the last one stops it" {
    run_mbd mbd-keygen init --algo ed25519
    # one process holds the instance home as a running tool would (the shared lock)
    exec {fd}>>"$MBD_HOME/gnupg/agent.lock"
    flock -s "$fd"
    run_mbd mbd-keygen check   # signs: starts the agent
    [ -n "$(agents_of_home)" ] # kept: another user of the home is still running
    run_mbd mbd-keygen check   # and signs with it again
    exec {fd}>&-
    run_mbd mbd-keygen check   # the last user stops it
    assert_equal "$(agents_of_home)" ""
}
