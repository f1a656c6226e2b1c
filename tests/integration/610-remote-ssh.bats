#!/usr/bin/env bats
# ssh:// remotes against a real OpenSSH server on 127.0.0.1 (started by the
# test with its own configuration and host key); each instance's client key
# may only run the forced command `mbd-remote serve` for the other instance.

load ../helpers
load ../lib/remote

setup() {
    remote_setup
    instance a
    instance b
    fake_chroot b bookworm amd64
    start_sshd a:b b:a
}

teardown() {
    stop_sshd
    remote_teardown
}

# bats test_tags=slow
@test "ssh: the interconnect, a request to b and its result back to a, through the forced command" {
    run_mbd on a mbd-remote add b "$(ssh_url)" --fingerprint "$(fpr_of b)"
    assert_output_contains "identity:    b "
    run_mbd 12 on a mbd-remote activate b
    run_mbd on b mbd-remote add a "$(ssh_url)" --fingerprint "$(fpr_of a)"
    run_mbd on b mbd-remote activate a
    run_mbd on a mbd-remote check b
    assert_output_contains "status:      active"
    assert_output_contains "knows us:    active as $(ssh_url)"
    # a request goes to b's incoming/
    assert_equal "$(route a r1)" b
    key=$(request_key a r1)
    run_mbd on a mbd-remote run
    assert_equal "$output" "sent 1, failed 0, re-routed 0, waiting 0"
    assert_stderr_contains "sent $key.mbd-request to 'b' (3 files, "
    cmp "$BATS_TEST_TMPDIR/requests/a-r1/hello-r1_1.0.tar.xz" "$(home_of b)/incoming/hello-r1_1.0.tar.xz"
    run_mbd on b mbd-test-keys verify-build "$(home_of b)/incoming/$key.mbd-request"
    assert_equal "$output" "$(fpr_of a)"
    [ -z "$(find "$(home_of b)/incoming" -name '.*')" ]
    # b's result for a goes back the same way
    run_mbd on b mbd-test-remote delivery-route "$(fpr_of a)"
    item=$output
    head -c 300000 /dev/urandom >deb
    cp deb "$item/hello-r1_1.0_amd64.deb"
    printf 'changes\n' >"$item/hello-r1_1.0_amd64.mbd-result.changes"
    run_mbd on b mbd-remote run
    assert_equal "$output" "sent 1, failed 0, re-routed 0, waiting 0"
    cmp deb "$(home_of a)/incoming/hello-r1_1.0_amd64.deb"
    [ -f "$(home_of a)/incoming/hello-r1_1.0_amd64.mbd-result.changes" ]
}

# bats test_tags=slow
@test "ssh: the forced command serves status and put, nothing else" {
    run_mbd ssh_as a status
    assert_output_contains "Fingerprint: $(fpr_of b)"
    run_mbd 2 ssh_as a cat /etc/passwd
    assert_stderr_contains "serve: 'cat /etc/passwd' is not a verb of this service (status, put)"
    run_mbd 2 ssh_as a
    run_mbd 7 ssh_as a put </dev/null
    assert_stderr_contains "not an mbd put stream"
    # b's key reaches a's home, not b's
    run_mbd ssh_as b status
    assert_output_contains "Fingerprint: $(fpr_of a)"
}

# bats test_tags=slow
@test "ssh: a peer whose sshd is down is retried (17), and the request waits in outgoing/" {
    on a mbd-remote add b "$(ssh_url)" --fingerprint "$(fpr_of b)" >/dev/null 2>&1
    on a mbd-remote activate b >/dev/null 2>&1 || true
    on b mbd-remote add a "$(ssh_url)" --fingerprint "$(fpr_of a)" >/dev/null 2>&1
    on b mbd-remote activate a >/dev/null
    on a mbd-remote check b >/dev/null
    route a r1 >/dev/null
    stop_sshd
    wait "$SSHD_PID" 2>/dev/null || true
    run_mbd 17 on a mbd-remote run
    assert_stderr_contains "cannot send '$(request_key a r1)' to 'b' (attempt 1, next in 60 s): cannot send to '$(ssh_url)': ssh exited with 255"
    [ -d "$(home_of a)/var/spool/outgoing/b/$(request_key a r1)" ]
    run_mbd 17 on a mbd-remote check b
    assert_equal "$(on a mbd-remote show b --json | jq -r .display)" "prepared A"
}
