#!/usr/bin/env bats
# Subscriptions and notify addresses: who is mailed about which events, through
# notify.sendmail (a fake that records what it is given: the program is the seam), after
# the work is committed; a sendmail that fails delays nothing and loses nothing.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/remote

setup() {
    remote_setup
    mbdt_pipeline_instance test
    fake_chroot home bookworm amd64
    export PKG="$BATS_TEST_TMPDIR/pkg" MAILS="$BATS_TEST_TMPDIR/mails"
    mkdir -p "$PKG" "$MAILS"
    # the fake sendmail (reads the recipient from To:, as sendmail -t): each mail into its own
    # file, named by its number and address; fails while $MAILS/fail exists
    cat >"$BATS_TEST_TMPDIR/sendmail" <<EOF
#!/bin/sh
[ -e "$MAILS/fail" ] && { echo "fake sendmail: no" >&2; exit 75; }
mail=\$(cat)
n=\$(ls "$MAILS" | wc -l)
to=\$(printf '%s\\n' "\$mail" | sed -n 's/^To: //p' | head -n 1)
printf '%s\\n' "\$mail" >"$MAILS/\$n-\$to"
EOF
    chmod +x "$BATS_TEST_TMPDIR/sendmail"
    printf 'notify.sendmail = %s\n' "$BATS_TEST_TMPDIR/sendmail" >>"$MBD_HOME/etc/mbd.conf"
}
teardown() {
    remote_teardown
    mbd_remove_test_users
}

# mails to an address, oldest first
mails_to() { find "$MAILS" -name "*-$1" | sort -n; }

@test "subscribe, list, change, unsubscribe; bad addresses and event types refused" {
    run_mbd mbd-incoming subscribe team@example.org --repository test
    assert_output_contains "team@example.org gets INSTALLED,FAILED,REJECTED in repository test"
    run_mbd mbd-incoming subscribe alice@example.org --source hello --events BUILT,failed
    run_mbd 2 mbd-incoming subscribe alice@example.org --events 'BUILT;rm'
    run_mbd mbd-incoming subscribe alice@example.org --source hello --events BUILT,FAILED
    run_mbd mbd-incoming subscriptions --json
    assert_equal "$(jq -c '[.subscriptions[] | [.address, .source, .repository, (.events | join(","))]]' <<<"$output")" \
        '[["alice@example.org","hello",null,"BUILT,FAILED"],["team@example.org",null,"test","INSTALLED,FAILED,REJECTED"]]'
    for bad in mbd@vm 'a b@example.org' '<x@example.org>' 'x@example.org,y@example.org' ''; do
        run_mbd 2 mbd-incoming subscribe "$bad"
    done
    run_mbd 2 mbd-incoming subscribe x@example.org --source 'Bad Name'
    run_mbd 4 mbd-incoming unsubscribe alice@example.org
    assert_stderr_contains "no subscription of 'alice@example.org'"
    run_mbd mbd-incoming unsubscribe alice@example.org --source hello
    assert_equal "$(mbd-incoming subscriptions --json | jq '.subscriptions | length')" 1
}

@test "a rejection mails the repository's subscribers its REASON; others get nothing; a failing sendmail delays nothing and loses nothing" {
    run_mbd mbd-incoming subscribe team@example.org --repository test
    run_mbd mbd-incoming subscribe other@example.org --repository nosuch
    run_mbd mbd-incoming subscribe hello@example.org --source hello
    # events before a subscription are not mailed
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0 bookworm-test-unstable)"
    run_mbd 7 mbd-incoming run
    mail=$(mails_to team@example.org)
    assert_equal "$(wc -l <<<"$mail")" 1
    grep -q '^Subject: mbd: REJECTED tiny 1.0 bookworm-test-unstable$' "$mail"
    grep -q '^To: team@example.org$' "$mail"
    grep -q 'does not match the version rule' "$mail"
    grep -q '^Why (REASON, kept with the upload in ' "$mail"
    assert_equal "$(mails_to other@example.org)$(mails_to hello@example.org)" ""

    # sendmail refuses: the upload is rejected as quickly, the mail waits and says why
    touch "$MAILS/fail"
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.1 bookworm-test-unstable)"
    run_mbd 7 mbd-incoming run
    assert_output_contains "rejected 1"
    assert_stderr_contains "fake sendmail: no"
    assert_equal "$(mbd-incoming subscriptions --json | jq .waiting)" 1
    mbd-incoming subscriptions | grep -q '1 mail(s) waiting'
    sqlite3 "$MBD_HOME/config.sqlite" "SELECT attempts, last_error FROM mail_outbox" | grep -q '^[1-9][0-9]*|.*fake sendmail: no'
    # the next command of any tool delivers it
    rm "$MAILS/fail"
    run_mbd mbd-repo ls
    assert_equal "$(mbd-incoming subscriptions --json | jq .waiting)" 0
    grep -q '^Subject: mbd: REJECTED tiny 1.1 ' "$(mails_to team@example.org | tail -n 1)"
    assert_equal "$(mails_to team@example.org | wc -l)" 2
}

@test "a failed build's mail carries the log's last lines and a link to the whole log on the status site" {
    printf 'site.enabled = true\npublish.url = http://mbd.example.org/repositories\n' >>"$MBD_HOME/etc/mbd.conf"
    run_mbd mbd-incoming subscribe dev@example.org --source tiny --events FAILED,BUILDING
    mbdt_dput "$(mbdt_source_package "$PKG" tiny 1.0~test12+1 bookworm-test-unstable)"
    run_mbd mbd-incoming run
    run_mbd 14 mbd-build -o build.user=mbdt-nosuchuser run
    run_mbd mbd-incoming run
    assert_output_contains "failed 1"
    mails=$(mails_to dev@example.org)
    grep -q '^Subject: mbd: BUILDING tiny 1.0~test12+1 ' "$(head -n 1 <<<"$mails")"
    arch=$(grep -l '^Subject: mbd: FAILED tiny 1.0~test12+1 bookworm-test-unstable/amd64$' "$MAILS"/*-dev@example.org)
    grep -q "build user 'mbdt-nosuchuser' does not exist" "$arch"
    grep -q '^The last 40 lines of the build log:' "$arch"
    link=$(sed -n 's|^The whole log: \(http://mbd.example.org/logs/[^ ]*\.log\)$|\1|p' "$arch")
    [ -n "$link" ] || { cat "$arch" >&2; false; }
    # the link is the site's copy of the log that ends as the mail's tail does
    log="$MBD_HOME/site/logs/${link##*/}"
    [ -f "$log" ]
    grep -qF "$(tail -n 1 "$log")" "$arch"
    # and the upload's own FAILED (not installed)
    grep -l '^Subject: mbd: FAILED tiny 1.0~test12+1 bookworm-test-unstable$' "$MAILS"/*-dev@example.org | grep -q .
}
