# The crash harness: drives the pipeline (dput -> mbd-incoming -> build ->
# mbd-incoming -> install/publish -> mbd-repo migrate) with a ledger of every
# upload, kills it (kill -9, through MBD_FAULT fault points and at random
# moments), runs the next passes, and checks after every kill:
#   - every upload of the ledger is installed (once: one uploads row, one
#     INSTALLED event) or, for the bad ones, rejected with a REASON (once);
#     nothing is left in incoming/, var/spool/claimed/ or var/spool/build/
#   - PRAGMA integrity_check is ok; `mbd-repo check` passes
#   - apt-get update of an apt sandbox over every published distribution passes
#     (unless CRASH_APT=0)
#
# Power loss (kill -9 keeps what the page cache holds; a power cut may not): the
# passes are also run under strace, and tests/tools/crash-states rebuilds the home
# as a disk could hold it at crash points along the trace (what no fsync made
# durable may be missing, in any combination; see that tool); the next passes run
# on each such state and the same checks hold.
#
# Builds: sbuild is skipped. Every upload is also built on the host with
# dpkg-buildpackage -b, and the build step is mbd-test-build (tests/tools), a
# real mbd-build pass (spool, job records, signed result, delivery, fault
# points) whose sbuild is replaced by that prebuilt result.
#
#   crash_setup                        instance, repository 'test' (small layout), chroot, ledger
#                                      (CRASH_CHROOT=fake: a recorded chroot with an empty tarball,
#                                      enough for mbd-test-build; fast)
#   crash_points_round POINT MAX       kill at POINT's 1st, 2nd ... MAX-th pass (stops when a round
#                                      no longer reaches it); one new upload per round
#   crash_random_round                 one upload, one step killed after a random delay
#   crash_random_kills N               random rounds until N kills
#   crash_power STEP MAX [CMD...]      run step STEP (an index of crash_steps) or CMD under strace;
#                                      then for each of at most MAX crash states of its trace: the
#                                      home in that state, the next passes, the checks. Leaves the
#                                      home as the traced run left it.
#   crash_report                       "POINT KILLS" lines and the totals
#
# Load with: load ../lib/crash (after ../helpers, ../lib/debian and ../lib/pipeline).
# Figures: $CRASH_DIR/kills (one line per kill: what was killed, where).

CRASH_POINTS=(incoming.claim incoming.reject incoming.accept incoming.request build.start build.finish
    build.deliver incoming.result incoming.install install.pool install.commit publish.by-hash publish.index
    publish.release publish.recorded publish.prune publish.gc)

crash_setup() {
    export PATH="$MBDT_BUILD_DIR/tests/tools:$MBDT_SOURCE_DIR/tests/tools:$PATH" # mbd-test-build, crash-states
    export CRASH_DIR="$BATS_TEST_TMPDIR/crash"
    mkdir -p "$CRASH_DIR/pkg" "$CRASH_DIR/prebuilt"
    : >"$CRASH_DIR/ledger"
    : >"$CRASH_DIR/kills"
    : >"$CRASH_DIR/durations"
    : >"$CRASH_DIR/log"
    # as root, mbd-test-build hands builds to build.user, who must reach the home
    chmod o+x "${BATS_RUN_TMPDIR:-$BATS_TEST_TMPDIR}" "$(dirname "$BATS_TEST_TMPDIR")" "$BATS_TEST_TMPDIR"
    mbd-keygen init --algo ed25519 >/dev/null || return 1
    # unstable -> testing with one rollback each: migrations, rollbacks and pool garbage come soon
    mbd-repo layout add tiny >/dev/null &&
        mbd-repo layout suite tiny testing --rollbacks 1 >/dev/null &&
        mbd-repo layout suite tiny unstable --uploadable --migrates-to testing --rollbacks 1 >/dev/null &&
        mbd-repo layout rules tiny --version-rule '~%ID%%CODEVERSION%\+[1-9]' >/dev/null &&
        mbd-repo setup test --codename bookworm --arch amd64 --layout tiny --no-check >/dev/null || return 1
    mbd-keygen export --output "$BATS_TEST_TMPDIR/instance.asc" || return 1
    local fpr
    fpr=$(mbdt_uploader_key) || return 1
    gpg --batch --armor --export "$fpr" >"$BATS_TEST_TMPDIR/uploader.asc"
    mbd-keygen uploader add "$BATS_TEST_TMPDIR/uploader.asc" --repo test >/dev/null || return 1
    mbd-repo dput-conf >"$BATS_TEST_TMPDIR/dput.cf" || return 1
    export MBDT_DPUT_HOST
    MBDT_DPUT_HOST=$(sed -n 's/^\[\(.*\)\]$/\1/p' "$BATS_TEST_TMPDIR/dput.cf" | head -n 1)
    # requests are routed to this instance only when it has a usable chroot
    if [ "${CRASH_CHROOT:-}" = fake ]; then
        mbd_fake_chroot "$MBD_HOME" bookworm amd64 || return 1
    else
        mbd_cached_chroot bookworm amd64 >>"$CRASH_DIR/log" 2>&1 || return 1
    fi
    mkdir -p "$MBD_HOME/etc"
    # nothing times out during the run; superseded by-hash files and pool garbage go at once
    printf 'incoming.timeout = 86400\npublish.byhash_grace = 0\npublish.pool_grace = 0\n' >"$MBD_HOME/etc/mbd.conf"
    CRASH_SEQ=0
}

# crash_upload [bad]: a new upload of one of CRASH_NAMES (default 3) packages, newer
# than the last, built on the host too, dput into incoming/ (unless CRASH_DPUT=0: then
# $CRASH_LAST_CHANGES names it). A bad one breaks the version rule.
crash_upload() {
    CRASH_SEQ=$((CRASH_SEQ + 1))
    local name="crash$((CRASH_SEQ % ${CRASH_NAMES:-3}))" version="1.0~test12+$CRASH_SEQ" kind=good changes
    [ "${1:-}" != bad ] || { kind=bad; version="1.$CRASH_SEQ"; }
    changes=$(mbdt_source_package "$CRASH_DIR/pkg" "$name" "$version" bookworm-test-unstable) || return 1
    if [ "$kind" = good ]; then
        (cd "$CRASH_DIR/pkg/$name-$version" && dpkg-buildpackage -us -uc -b -d >"$CRASH_DIR/pkg/binary.log" 2>&1) ||
            { cat "$CRASH_DIR/pkg/binary.log" >&2; return 1; }
        mv "$CRASH_DIR/pkg/${name}_${version}_amd64".{changes,deb,buildinfo} "$CRASH_DIR/prebuilt/"
    fi
    # shellcheck disable=SC2034 # for the test that called crash_upload
    CRASH_LAST_CHANGES=$changes
    [ "${CRASH_DPUT:-1}" = 0 ] || mbdt_dput "$changes" || return 1
    printf '%s %s %s %s\n' "$name" "$version" "$kind" "$(basename "$changes")" >>"$CRASH_DIR/ledger"
    CRASH_LAST="$name"
}

# The steps of the chain, in order.
crash_steps=("mbd-incoming run" "mbd-test-build run PREBUILT" "mbd-incoming run" "mbd-repo migrate LAST bookworm-test-unstable")

crash_step_command() {
    local s=${crash_steps[$1]}
    s=${s//PREBUILT/$CRASH_DIR/prebuilt}
    printf '%s\n' "${s//LAST/$CRASH_LAST}"
}

# crash_run FAULT CMD...: run one step; prints "killed" when it died of SIGKILL.
crash_run() {
    local fault=$1 rc
    shift
    if [ -n "$fault" ]; then
        MBD_FAULT=$fault "$@" >>"$CRASH_DIR/log" 2>&1
    else
        "$@" >>"$CRASH_DIR/log" 2>&1
    fi
    rc=$?
    case "$rc" in
        137) echo killed ;;
        0 | 7) ;;
        *) # a migration may find nothing to migrate (the upload was rejected, or is there already)
            [[ "$1 $2" == "mbd-repo migrate" ]] || { echo "$* exited $rc" >&2; return 1; } ;;
    esac
}

# crash_chain FAULT: the whole chain with MBD_FAULT=FAULT; prints the step killed, if any.
crash_chain() {
    local i cmd out t0
    for i in "${!crash_steps[@]}"; do
        cmd=$(crash_step_command "$i")
        t0=$EPOCHREALTIME
        # shellcheck disable=SC2086
        out=$(crash_run "$1" $cmd) || return 1
        [ "$out" = killed ] || crash_timed "$i" "$t0"
        if [ "$out" = killed ]; then
            printf '%s\n' "${cmd%% *}"
            return 0
        fi
    done
}

# The next passes, until nothing is left to do.
crash_settle() {
    local i cmd
    for i in 1 2 3 4 5 6; do
        for cmd in "mbd-incoming run" "mbd-test-build run $CRASH_DIR/prebuilt" "mbd-incoming run"; do
            # shellcheck disable=SC2086
            crash_run "" $cmd >/dev/null || return 1
        done
        [ "$(mbd-incoming uploads --status building --limit 0 --json | jq length)" -eq 0 ] &&
            [ -z "$(find "$MBD_HOME/var/spool/build" "$MBD_HOME/var/spool/claimed" -mindepth 1 -maxdepth 1)" ] &&
            return 0
    done
    echo "passes did not settle: $(mbd-incoming uploads --status building --json)" >&2
    return 1
}

# The ledger's problems, one line each ("E MESSAGE"), and each rejected upload's kept
# directory ("R CHANGES DIR"): one jq over the ledger and the three JSON lists of
# $CRASH_DIR/{uploads,installed,rejected}.json.
crash_ledger_check() {
    jq -rn --rawfile ledger "$CRASH_DIR/ledger" --slurpfile uploads "$CRASH_DIR/uploads.json" \
        --slurpfile installed "$CRASH_DIR/installed.json" --slurpfile rejected "$CRASH_DIR/rejected.json" '
        $ledger | split("\n")[] | select(length > 0) | split(" ") | . as [$name, $version, $kind, $changes] |
        if $kind == "good" then
            [$uploads[0][] | select(.source == $name and .version == $version)] as $rows |
            [$installed[0][] | select(.source == $name and .version == $version and
                .distribution == "bookworm-test-unstable")] as $ins |
            if ($rows | length) != 1 then "E \($name) \($version): \($rows | length) uploads rows"
            elif $rows[0].status != "installed" then "E \($name) \($version) is \($rows[0].status), not installed"
            elif ($ins | length) != 1 then "E \($name) \($version) installed \($ins | length) times"
            else empty end
        else
            [$rejected[0][] | select(.message | startswith($changes + ":"))] as $rej |
            if ($rej | length) != 1 then "E \($changes) rejected \($rej | length) times"
            else "R \($changes) \($rej[0].detail)" end
        end'
}

# Everything the harness promises, after the passes settled.
crash_assert() {
    local what=$1 ic kind changes d lines=() reason out
    ic=$(sqlite3 "$MBD_HOME/config.sqlite" 'PRAGMA integrity_check') || return 1
    [ "$ic" = ok ] || { echo "$what: integrity_check: $ic" >&2; return 1; }
    mbd-repo check test >>"$CRASH_DIR/log" 2>&1 || { echo "$what: mbd-repo check failed" >&2; mbd-repo check test >&2; return 1; }
    mbd-incoming uploads --limit 0 --json >"$CRASH_DIR/uploads.json" &&
        mbd-incoming events --type INSTALLED --limit 0 --json >"$CRASH_DIR/installed.json" &&
        mbd-incoming events --type REJECTED --limit 0 --json >"$CRASH_DIR/rejected.json" || return 1
    while read -r kind changes d; do
        [ "$kind" = R ] || { echo "$what: $changes $d" >&2; return 1; }
        reason=""
        [ ! -f "$d/REASON" ] || reason=$(<"$d/REASON")
        if [ ! -f "$d/$changes" ] || [[ $'\n'"$reason" != *$'\nReason: '* ]]; then
            echo "$what: $changes is not kept with its REASON in '$d'" >&2
            return 1
        fi
    done < <(crash_ledger_check || echo "E jq failed on the ledger")
    [ -z "$(find "$MBD_HOME/incoming" -mindepth 1 -not -name '.*')" ] ||
        { echo "$what: left in incoming/: $(ls "$MBD_HOME/incoming")" >&2; return 1; }
    [ "${CRASH_APT:-1}" = 1 ] || return 0
    # apt accepts every published distribution
    for d in "$MBD_HOME"/repositories/test/dists/*/; do
        d=$(basename "$d")
        lines+=("deb file://$MBD_HOME/repositories/test $d main" "deb-src file://$MBD_HOME/repositories/test $d main")
    done
    rm -rf "$CRASH_DIR/apt"
    mbdt_apt_sandbox "$CRASH_DIR/apt" "$BATS_TEST_TMPDIR/instance.asc" "${lines[@]}"
    if ! out=$(mbdt_apt "$CRASH_DIR/apt" update 2>&1) || grep -qE '^(W|E): ' <<<"$out"; then
        echo "$what: apt-get update: $out" >&2
        return 1
    fi
}

# crash_points_round POINT MAX
crash_points_round() {
    local point=$1 max=$2 n step bad
    for n in $(seq 1 "$max"); do
        bad=""
        [ "$point" != incoming.reject ] || bad=bad
        crash_upload $bad || return 1
        step=$(crash_chain "$point:$n") || return 1
        [ -n "$step" ] || break # this chain no longer reaches the point n times
        printf '%s %s %s\n' "$point" "$n" "$step" >>"$CRASH_DIR/kills"
        crash_settle || return 1
        crash_assert "$point:$n ($step)" || return 1
    done
    # (a chain that ran whole: the next passes have nothing to do, the checks hold)
    [ -n "$step" ] || { crash_settle && crash_assert "$point (not killed)"; }
}

# crash_timed STEP T0: remember how long step STEP (an index of crash_steps) took
# since T0 (an $EPOCHREALTIME), in ms, in $CRASH_DIR/durations.
crash_timed() {
    local t1=$EPOCHREALTIME
    echo "$1 $(((${t1/./} - ${2/./}) / 1000))" >>"$CRASH_DIR/durations"
}

# crash_delay STEP: a random delay in seconds below the median time STEP took so
# far (600 ms when it never ran whole), so that a fast step is killed as often as
# a slow one (the longest time, after one slow run, let most rounds end unkilled).
crash_delay() {
    local ms
    ms=$(awk -v s="$1" '$1 == s { print $2 }' "$CRASH_DIR/durations" 2>/dev/null | sort -n |
        awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; print (m > 0 ? m : 600) }')
    ms=$((RANDOM * ms / 32768))
    printf '%d.%03d\n' $((ms / 1000)) $((ms % 1000))
}

# One upload (one in four a bad one); one step of the chain killed after a random
# delay below the time that step takes (a step done sooner is not killed:
# crash_random_kills counts the kills).
crash_random_round() {
    local i pick=$((RANDOM % ${#crash_steps[@]})) cmd pid rc delay t0
    if [ $((RANDOM % 4)) -eq 0 ]; then crash_upload bad; else crash_upload; fi || return 1
    for i in "${!crash_steps[@]}"; do
        cmd=$(crash_step_command "$i")
        if [ "$i" -eq "$pick" ]; then
            delay=$(crash_delay "$i")
            # shellcheck disable=SC2086
            $cmd >>"$CRASH_DIR/log" 2>&1 &
            pid=$!
            sleep "$delay"
            kill -9 "$pid" 2>/dev/null || true
            rc=0
            wait "$pid" || rc=$?
            [ "$rc" -ne 137 ] || printf 'random %s %s\n' "$delay" "${cmd%% *}" >>"$CRASH_DIR/kills"
            break
        fi
        t0=$EPOCHREALTIME
        # shellcheck disable=SC2086
        crash_run "" $cmd >/dev/null || return 1
        crash_timed "$i" "$t0"
    done
    crash_settle && crash_assert "random kill of '$cmd' after $delay s"
}

# crash_random_kills N: random rounds until N of them killed something (at most 4N rounds).
crash_random_kills() {
    local want=$1 start rounds=0
    start=$(awk '$1 == "random"' "$CRASH_DIR/kills" | wc -l)
    while [ "$(awk '$1 == "random"' "$CRASH_DIR/kills" | wc -l)" -lt $((start + want)) ] && [ "$rounds" -lt $((4 * want)) ]; do
        crash_random_round || return 1
        rounds=$((rounds + 1))
    done
}

# The home as a state of crash-states left it (the gpg-agent of the one before stopped).
crash_power_restore() {
    stop_gpg_agent "$MBD_HOME/gnupg"
    rm -rf "$MBD_HOME"
    cp -a "$1" "$MBD_HOME"
}

crash_power() {
    local step=$1 max=$2 dir n desc rc=0 cmd
    shift 2
    if [ $# -gt 0 ]; then cmd=("$@"); else read -ra cmd <<<"$(crash_step_command "$step")"; fi
    dir="$CRASH_DIR/power/$step"
    rm -rf "$dir"
    mkdir -p "$dir"
    # the key ring's agent runs outside the trace (strace -f would wait for it to exit)
    gpg-connect-agent --homedir "$MBD_HOME/gnupg" /bye >/dev/null 2>&1 || true
    cp -a "$MBD_HOME" "$dir/base"
    strace -f -qq -y -xx -s 1000000000 -e trace="$(crash-states --calls)" -o "$dir/trace" \
        "${cmd[@]}" >>"$CRASH_DIR/log" 2>&1 || rc=$?
    # (a migration may find nothing to migrate, as in crash_run)
    [ "$rc" -eq 0 ] || [ "$rc" -eq 7 ] || [[ "${cmd[*]}" == "mbd-repo migrate "* ]] ||
        { echo "${cmd[*]} exited $rc under strace" >&2; return 1; }
    cp -a "$MBD_HOME" "$dir/after"
    # what the states need not vary: the log, the key ring's locks and trust database, the
    # wake flags (raised again at boot), the lock files
    crash-states --home "$MBD_HOME" --base "$dir/base" --trace "$dir/trace" --out "$dir/states" --max "$max" \
        --durable '^(var/log|gnupg|var/spool/wake|var/lock)/' 2>"$dir/summary" || { cat "$dir/summary" >&2; return 1; }
    printf '%s: %s\n' "${cmd[*]}" "$(cat "$dir/summary")" >>"$CRASH_DIR/power.summary"
    while read -r n desc; do
        crash_power_restore "$dir/states/$n"
        { crash_settle && crash_assert "${cmd[*]}, state $n"; } ||
            { echo "after a power cut in '${cmd[*]}' (state $n: $desc)" >&2; return 1; }
        printf 'power %s %s\n' "${cmd[0]}" "$n" >>"$CRASH_DIR/kills"
    done <"$dir/states/states"
    crash_power_restore "$dir/after"
}

crash_report() {
    local p
    for p in "${CRASH_POINTS[@]}"; do
        printf '%-18s %s\n' "$p" "$(awk -v p="$p" '$1 == p' "$CRASH_DIR/kills" | wc -l)"
    done
    printf '%-18s %s\n' random "$(awk '$1 == "random"' "$CRASH_DIR/kills" | wc -l)"
    printf '%-18s %s\n' total "$(wc -l <"$CRASH_DIR/kills")"
    printf 'uploads %s (bad %s)\n' "$(wc -l <"$CRASH_DIR/ledger")" "$(awk '$3 == "bad"' "$CRASH_DIR/ledger" | wc -l)"
}
