#!/usr/bin/env bats
# Remotes: status documents, adding a peer (pinned or trusted on first use),
# the seed's three-step interconnect, checks, and the forced command's verbs.
# Instances a, b, c live side by side in the test's directory (file:// transport).

load ../helpers
load ../lib/remote
load ../fixtures/keys/keys

setup_file() { keys_setup_file; }
teardown_file() { keys_teardown_file; }
setup() { remote_setup; }
teardown() { remote_teardown; }

# The signed text of a clearsigned FILE (our documents need no dash-escaping).
signed_content() { sed -n '4,/^-----BEGIN PGP SIGNATURE-----$/p' "$1" | sed '$d'; }

# Clearsign FILE with instance NAME's own key (as a peer would sign).
sign_as() {
    gpg --homedir "$(home_of "$1")/gnupg" --batch --quiet --yes --local-user "$(fpr_of "$1")" \
        --clearsign --output - "$2"
}

@test "status: a signed document gpgv accepts, with identity, protocol, key, chroots and load" {
    instance b 3
    fake_chroot b bookworm amd64
    fake_chroot b trixie i386
    run_mbd on b mbd-remote status
    printf '%s\n' "$output" >status.asc
    cmp status.asc "$(home_of b)/var/status.asc"
    on b mbd-keygen export --binary --output b.gpg
    gpgv --keyring "$PWD/b.gpg" status.asc
    run_mbd bash -c "grep -E '^(Protocol|Identity|Fingerprint|Capacity|Running|Queued):' status.asc"
    assert_equal "$output" "Protocol: 1
Identity: b
Fingerprint: $(fpr_of b)
Capacity: 3
Running: 0
Queued: 0"
    run_mbd bash -c "sed -n '/^Chroots:/,/^Remotes:/p' status.asc"
    assert_equal "$output" "Chroots:
 bookworm amd64 active
 trixie i386 active
Remotes:"
}

@test "add without --fingerprint trusts on first use and prints the fingerprint loudly" {
    instance a
    instance b
    run_mbd on a mbd-remote add b "file://$(home_of b)"
    assert_stderr_contains "TRUST ON FIRST USE"
    pretty=$(fpr_of b | sed -E 's/(....)/\1 /g; s/ $//; s/^((.... ){5})/\1 /')
    assert_stderr_contains "$pretty"
    assert_output_contains "status:      prepared x"
    assert_output_contains "knows us:    no"
    run_mbd on a mbd-remote list --json
    assert_equal "$(jq -r '.[0] | [.name, .fingerprint, .status, .check_flag, .peer.identity] | join(" ")' <<<"$output")" \
        "b $(fpr_of b) prepared failed b"
    # the key is in the remotes trust set, inactive
    run_mbd on a mbd-test-keys peer list
    assert_equal "$(jq -r '.[] | .fingerprint + " " + (.active | tostring)' <<<"$output")" "$(fpr_of b) false"
}

@test "add with --fingerprint pins: a match is added quietly, a mismatch stores nothing and exits 8" {
    instance a
    instance b
    instance c
    run_mbd 8 on a mbd-remote add b "file://$(home_of b)" --fingerprint "$(fpr_of c)"
    assert_stderr_contains "has key $(fpr_of b), not the pinned $(fpr_of c): nothing was added"
    run_mbd on a mbd-remote list --json
    assert_equal "$output" "[]"
    run_mbd on a mbd-test-keys peer list
    assert_equal "$output" "[]"
    run_mbd on a mbd-remote add b "file://$(home_of b)" --fingerprint "$(fpr_of b | tr A-F a-f)"
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    [[ "$stderr" != *"TRUST ON FIRST USE"* ]]
    run_mbd on a mbd-remote show b --json
    assert_equal "$(jq -r .fingerprint <<<"$output")" "$(fpr_of b)"
}

@test "the three-step interconnect: A fails and waits (A), B activates, A comes back" {
    instance a
    instance b
    # 1. on a: add b, activate: b does not know a yet -> auto-reactivate
    run_mbd on a mbd-remote add b "file://$(home_of b)"
    run_mbd 12 on a mbd-remote activate b
    assert_stderr_contains "remote 'b' is set to auto-reactivate (A)"
    assert_stderr_contains "'b' does not know this instance"
    assert_equal "$(on a mbd-remote show b --json | jq -r .display)" "prepared A"
    assert_equal "$(on a mbd-test-keys peer list | jq -r '.[0].active')" false
    # 2. on b: add a, activate: a knows b already
    run_mbd on b mbd-remote add a "file://$(home_of a)"
    assert_output_contains "status:      prepared"
    run_mbd on b mbd-remote activate a
    assert_output_contains "status:      active"
    assert_output_contains "knows us:    prepared A as file://$(home_of b)"
    assert_equal "$(on b mbd-test-keys peer list | jq -r '.[0].active')" true
    # 3. on a: the next check (the timer's) activates b
    run_mbd on a mbd-remote check
    assert_equal "$(awk '{print $1, $2}' <<<"$output")" "b active"
    assert_equal "$(on a mbd-test-keys peer list | jq -r '.[0].active')" true
    run_mbd on a mbd-remote show b
    assert_output_contains "knows us:    active as file://$(home_of a)"
    # each side's status document lists the other, active, by the URL it uses
    run_mbd bash -c "sed -n '/^Remotes:/,/^Public-Key:/p' '$(home_of b)/var/status.asc'"
    assert_output_contains " $(fpr_of a) active none file://$(home_of a)"
}

@test "add refuses bad names and URLs (2), an unreachable peer (17), itself (2), a known name or key (5)" {
    instance a
    instance b
    run_mbd 2 on a mbd-remote add B_1 "file://$(home_of b)"
    assert_stderr_contains "invalid remote name 'B_1'"
    for url in "http://host" "file://relative" "ssh://host/path" "ssh://-oProxyCommand=x@host" "ssh://host:99999" \
        "ssh://user@-host"; do
        run_mbd 2 on a mbd-remote add b "$url"
        assert_stderr_contains "invalid remote URL '$url'"
    done
    run_mbd 17 on a mbd-remote add b "file://$BATS_TEST_TMPDIR/nothere"
    assert_stderr_contains "cannot reach 'file://$BATS_TEST_TMPDIR/nothere'"
    assert_stderr_contains "yet: the peer writes it when 'mbd-remote status' or 'mbd-remote run' runs there"
    run_mbd 2 on a mbd-remote add me "file://$(home_of a)"
    assert_stderr_contains "is this instance"
    run_mbd on a mbd-remote add b "file://$(home_of b)"
    run_mbd 5 on a mbd-remote add b "file://$(home_of b)"
    assert_stderr_contains "remote 'b' exists"
    run_mbd 5 on a mbd-remote add b2 "file://$(home_of b)"
    assert_stderr_contains "is remote 'b' already"
    run_mbd 4 on a mbd-remote show nothere
    run_mbd 2 on a mbd-remote add c "file://$(home_of b)" --fingerprint 1234
}

@test "a status document signed by a stranger fails the check (8): the active remote waits in A until it is right" {
    instance a
    instance b
    interconnect a b
    cp "$(home_of b)/var/status.asc" good.asc
    signed_content good.asc >content
    key_sign stranger content >"$(home_of b)/var/status.asc"
    run_mbd 8 on a mbd-remote check b
    assert_stderr_contains "remote 'b': "
    assert_equal "$(on a mbd-remote show b --json | jq -r .display)" "prepared A"
    assert_equal "$(on a mbd-test-keys peer list | jq -r '.[0].active')" false
    # a status document carrying another key
    {
        sed '/^Public-Key:/,$d' content
        echo "Public-Key:"
        sed 's/^$/./; s/^/ /' "$(key_file stranger)"
    } >other
    key_sign stranger other >"$(home_of b)/var/status.asc"
    run_mbd 8 on a mbd-remote check b
    assert_stderr_contains "remote 'b' now shows key $(key_fpr stranger), not its pinned key $(fpr_of b)"
    cp good.asc "$(home_of b)/var/status.asc"
    run_mbd on a mbd-remote check b
    assert_output_contains "status:      active"
    assert_equal "$(on a mbd-test-keys peer list | jq -r '.[0].active')" true
}

@test "a peer speaking another protocol is refused with a clear error (12)" {
    instance a
    instance b
    signed_content "$(home_of b)/var/status.asc" | sed 's/^Protocol: 1$/Protocol: 2/' >content
    sign_as b content >"$(home_of b)/var/status.asc"
    run_mbd 12 on a mbd-remote add b "file://$(home_of b)"
    assert_stderr_contains "remote 'b' speaks protocol 2"
    assert_stderr_contains "this mbd 0.1.0 speaks protocol 1"
    assert_equal "$(on a mbd-remote list --json)" "[]"
}

@test "deactivate, then remove: an active remote is not removed (13); the key goes with it" {
    instance a
    instance b
    interconnect a b
    run_mbd 13 on a mbd-remote remove b
    assert_stderr_contains "remote 'b' is active; deactivate it first"
    run_mbd on a mbd-remote deactivate b
    assert_output_contains "status:      prepared"
    assert_equal "$(on a mbd-test-keys peer list | jq -r '.[0].active')" false
    run_mbd on a mbd-remote remove b
    assert_equal "$(on a mbd-remote list --json)" "[]"
    assert_equal "$(on a mbd-test-keys peer list)" "[]"
    # b sees a no longer knows it at its next check
    run_mbd 12 on b mbd-remote check a
    assert_equal "$(on b mbd-remote show a --json | jq -r .display)" "prepared A"
}

# A put stream (remote/transport.hpp) of the given files.
put_stream() {
    printf 'mbd-put 1\n'
    local f
    for f in "$@"; do
        printf 'file %s %s %s\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
        cat "$f"
    done
    printf 'end\n'
}

@test "serve: status and put only; put stores complete files, refuses bad ones, leaves no part behind" {
    instance b
    run_mbd on b mbd-remote serve status
    assert_output_contains "Fingerprint: $(fpr_of b)"
    head -c 100000 /dev/urandom >data.bin
    printf 'doc\n' >x.mbd-request
    put_stream data.bin x.mbd-request >stream
    run_mbd on b bash -c 'mbd-remote serve put <stream'
    assert_equal "$output" "stored data.bin
stored x.mbd-request"
    cmp data.bin "$(home_of b)/incoming/data.bin"
    # a wrong checksum, a truncated stream, a bad name
    sed '0,/^file data.bin/s/ [0-9a-f]\{64\}$/ '"$(printf '0%.0s' {1..64})"'/' stream >bad
    run_mbd 7 on b bash -c 'mbd-remote serve put <bad'
    assert_stderr_contains "SHA256 of 'data.bin' does not match"
    head -c 5000 stream >short
    run_mbd 7 on b bash -c 'mbd-remote serve put <short'
    assert_stderr_contains "it ends in the middle of a file"
    printf 'mbd-put 1\nfile ../evil 1 %s\nx' "$(printf x | sha256sum | cut -d' ' -f1)" >evil
    run_mbd 7 on b bash -c 'mbd-remote serve put <evil'
    [ ! -e "$(home_of b)/evil" ]
    run ls -A "$(home_of b)/incoming"
    assert_equal "$output" "data.bin
x.mbd-request"
    # verbs: only these two; the forced command's SSH_ORIGINAL_COMMAND wins over arguments
    run_mbd 2 on b mbd-remote serve cat /etc/passwd
    assert_stderr_contains "serve: 'cat /etc/passwd' is not a verb of this service (status, put)"
    run_mbd 2 on b env SSH_ORIGINAL_COMMAND="rm -rf /" mbd-remote serve status
    run_mbd on b env SSH_ORIGINAL_COMMAND="status" mbd-remote serve
    assert_output_contains "Fingerprint: $(fpr_of b)"
}
