#!/usr/bin/env bats
# mbd-repo mirror push: the archive copied to a downstream directory in two rsync stages
# (ftpsync's way), served there by a second nginx: apt installs from the copy, and an
# apt-get update loop reading the copy while new versions are published and pushed sees
# no hash-sum mismatch and no missing file. The marker is there during a push and gone
# after it, the trace file stays, what upstream removes goes downstream too; a bad TARGET
# exits 2, an unreachable or unwritable one 16.
# MBDT_MIRROR_PUSHES publishes and pushes during the loop (default 3), over a link of
# MBDT_MIRROR_BWLIMIT KiB/s (default 8).
#
# shellcheck disable=SC2030,SC2031 # NGINX_DIR and NGINX_URL are set per test, on purpose

load ../helpers
load ../lib/debian
load ../lib/repo
load ../lib/nginx

# The repository: one suite with two rollbacks (three distributions; the Default layout's
# 46 make a tree whose file list alone keeps rsync busy for long on the slow link below).
mbdt_repo_template_before() {
    mbd-repo layout add Mirror >/dev/null
    mbd-repo layout suite Mirror unstable --uploadable --rollbacks 2 >/dev/null
}

setup_file() {
    mbdt_repo_template test --layout Mirror
}

teardown() {
    stop_nginx
    mbd_teardown
}

apt_direct=(-o Acquire::http::Proxy::127.0.0.1=DIRECT)
dist=bookworm-test-unstable

identity() {
    mbd-repo --show-config | awk '$1 == "identity" {print $3}'
}

# pushed TARGET: a push to TARGET (a repositories/ copy) that left it whole: no marker, the
# trace file, each distribution's InRelease as upstream's, Release files that verify
pushed() {
    local target=$1 id
    id=$(identity)
    run_mbd mbd-repo mirror push "$target"
    assert_output_contains "trace: project/trace/$id"
    [ ! -e "$target/Archive-Update-in-Progress-$id" ] || { echo "marker left in $target" >&2; return 1; }
    grep -q "^Creator: mbd-repo " "$target/project/trace/$id"
    grep -q "^Distributions: .*test/$dist" "$target/project/trace/$id"
    cmp "$MBD_HOME/repositories/test/dists/$dist/InRelease" "$target/test/dists/$dist/InRelease"
    MBD_HOME=$(dirname "$target") mbdt_assert_release_ok "$dist"
}

@test "apt installs from the pushed copy through a second nginx, and reads it without error while pushes follow publishes" {
    local mirror="$BATS_TEST_TMPDIR/mirror" apt="$BATS_TEST_TMPDIR/apt" stop="$BATS_TEST_TMPDIR/stop"
    local n=${MBDT_MIRROR_PUSHES:-3} i pid
    mbdt_install hello 1.0-1~test12+1 "$dist" --files 1
    pushed "$mirror/repositories"
    # the same tree, links as links (Release through .release), the pair directory with them
    diff -r --no-dereference "$MBD_HOME/repositories" "$mirror/repositories" -x project \
        -x "Archive-Update-in-Progress-*" >&2
    [ -L "$mirror/repositories/test/dists/$dist/Release" ]
    [ -L "$mirror/repositories/test/dists/$dist/.release" ]
    # upstream's nginx and the mirror's
    start_nginx
    local upstream=$NGINX_URL
    start_nginx "$mirror"
    [ "$NGINX_URL" != "$upstream" ]
    [ "$NGINX_DIR" = "$BATS_TEST_TMPDIR/nginx2" ]
    local log="$NGINX_DIR/access.log"
    curl -sS --noproxy '*' -o "$BATS_TEST_TMPDIR/upstream.InRelease" "$upstream/repositories/test/dists/$dist/InRelease"
    [ "$(get "/repositories/test/dists/$dist/InRelease")" = 200 ]
    cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/upstream.InRelease"
    [ "$(get "/repositories/project/trace/$(identity)")" = 200 ]

    mbdt_apt_sandbox "$apt" "$MBDT_KEY" "deb $NGINX_URL/repositories/test $dist main"
    mbdt_apt_ok "$apt" "${apt_direct[@]}" update
    mbdt_apt_ok "$apt" "${apt_direct[@]}" install hello
    grep -q "hello 1.0-1~test12+1" "$apt/usr/share/hello/data"
    grep -qE "\"GET /repositories/test/dists/$dist/main/binary-amd64/by-hash/SHA(256|512)/[0-9a-f]+ HTTP/1\\.1\" 200 " "$log"
    grep -qE '"GET /repositories/test/pool/main/h/hello/hello_1\.0-1%7etest12%2b1_amd64\.deb HTTP/1\.1" 200 ' "$log"
    refute_grep -E '" (4|5)[0-9][0-9] ' "$log"

    # apt-get update in a loop against the mirror while new versions are installed and pushed
    # over a slow link (rsync --bwlimit, KiB/s): each push then takes seconds, and a copy in
    # one stage (rsync -a --delete) fails this loop with hash-sum mismatches
    mkdir -p "$BATS_TEST_TMPDIR/slow"
    printf '#!/bin/sh\nexec %s --bwlimit=%s "$@"\n' "$(command -v rsync)" "${MBDT_MIRROR_BWLIMIT:-8}" \
        >"$BATS_TEST_TMPDIR/slow/rsync"
    chmod +x "$BATS_TEST_TMPDIR/slow/rsync"
    mbdt_apt_loop "$apt" "$stop" "${apt_direct[@]}" &
    pid=$!
    for i in $(seq 2 $((n + 1))); do
        mbdt_install hello "1.0-$i~test12+1" "$dist"
        PATH="$BATS_TEST_TMPDIR/slow:$PATH" pushed "$mirror/repositories"
    done
    touch "$stop"
    wait "$pid"
    local runs fails
    runs=$(wc -l <"$apt.runs")
    fails=$(grep -c fail "$apt.runs" || true)
    printf 'publishes and pushes %s, apt-get update runs against the mirror %s, failed %s\n' "$n" "$runs" "$fails" >&3
    [ ! -e "$apt.failures" ] || { head -40 "$apt.failures" >&2; false; }
    [ "$runs" -ge 2 ]
    refute_grep -E '" (4|5)[0-9][0-9] ' "$log"
    # and the last version installs from the mirror
    mbdt_apt_ok "$apt" "${apt_direct[@]}" update
    mbdt_apt_ok "$apt" "${apt_direct[@]}" install hello
    grep -q "hello 1.0-$((n + 1))~test12+1" "$apt/usr/share/hello/data"
}

@test "the marker is there during both stages only; what upstream removes is deleted downstream; other mirrors' files stay" {
    local target="$BATS_TEST_TMPDIR/mirror/repositories" id
    id=$(identity)
    mbdt_install hello 1.0-1~test12+1 "$dist"
    mbdt_install other 1.0~test12+1 "$dist" --no-all
    # rsync through a shim that notes, at each run, whether the marker is at the target's top
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    cat >"$BATS_TEST_TMPDIR/bin/rsync" <<EOF
#!/bin/sh
if [ -e "$target/Archive-Update-in-Progress-$id" ]; then echo marked; else echo unmarked; fi >>"$BATS_TEST_TMPDIR/marks"
exec $(command -v rsync) "\$@"
EOF
    chmod +x "$BATS_TEST_TMPDIR/bin/rsync"
    PATH="$BATS_TEST_TMPDIR/bin:$PATH" pushed "$target"
    # the marker written, stage 1, stage 2, the trace with the marker removed
    assert_equal "$(tr '\n' ' ' <"$BATS_TEST_TMPDIR/marks")" "unmarked marked marked marked "
    [ -n "$(find "$target/test/pool" -name 'other_*')" ]
    # another mirror's marker and trace file at the top are not ours to delete
    touch "$target/Archive-Update-in-Progress-other" "$target/project/trace/other"
    # a version removed and its pool files gone after maintain (publish.pool_grace 0), the
    # superseded by-hash files too (publish.byhash_grace 0): deleted downstream by the push
    run_mbd mbd-repo remove other "$dist"
    local bh="$MBD_HOME/repositories/test/dists/$dist/main/binary-amd64/by-hash/SHA256" before after
    before=$(ls "$bh")
    run_mbd mbd-repo -o publish.pool_grace=0 -o publish.byhash_grace=0 maintain
    [ -z "$(find "$MBD_HOME/repositories/test/pool" -name 'other_*')" ]
    after=$(ls "$bh")
    [ "$before" != "$after" ]
    [ -n "$(find "$target/test/pool" -name 'other_*')" ]
    pushed "$target"
    [ -z "$(find "$target/test/pool" -name 'other_*')" ]
    [ -n "$(find "$target/test/pool" -name 'hello_*')" ]
    assert_equal "$(ls "$target/test/dists/$dist/main/binary-amd64/by-hash/SHA256")" "$after"
    # the pair directories, as upstream's
    assert_equal "$(cd "$target/test/dists/$dist" && ls -d .release.*)" \
        "$(cd "$MBD_HOME/repositories/test/dists/$dist" && ls -d .release.*)"
    [ -e "$target/Archive-Update-in-Progress-other" ]
    [ -e "$target/project/trace/other" ]

    # one repository: its directory is the target's top
    run_mbd mbd-repo mirror push --repository test "$BATS_TEST_TMPDIR/one"
    [ -d "$BATS_TEST_TMPDIR/one/pool" ]
    [ -f "$BATS_TEST_TMPDIR/one/dists/$dist/InRelease" ]
    [ -f "$BATS_TEST_TMPDIR/one/project/trace/$id" ]
    [ ! -e "$BATS_TEST_TMPDIR/one/Archive-Update-in-Progress-$id" ]
    grep -qx "Repositories: test" "$BATS_TEST_TMPDIR/one/project/trace/$id"
}

@test "a bad target exits 2 and touches nothing; an unknown repository exits 4" {
    mbdt_install hello 1.0-1~test12+1 "$dist"
    local t
    for t in '' -n --delete '-e sh' 'a b' $'a\nb' $'a\tb' 'host:' 'host::' 'rsync://' 'rsync://host' \
        'rsync://host/' :/srv "$MBD_HOME" "$MBD_HOME/" "$MBD_HOME/repositories" "$MBD_HOME/repositories/test/x" \
        "$MBD_HOME/repositories/../repositories" /; do
        run_mbd 2 mbd-repo mirror push "$t"
        assert_stderr_contains "mbd-repo: E: "
    done
    run_mbd 2 mbd-repo mirror push --repository test "$MBD_HOME/repositories/test/pool"
    run_mbd 2 mbd-repo mirror push --repository 'Test!' "$BATS_TEST_TMPDIR/m"
    run_mbd 4 mbd-repo mirror push --repository nothere "$BATS_TEST_TMPDIR/m"
    [ ! -e "$BATS_TEST_TMPDIR/m" ]
    [ ! -e "$MBD_HOME/Archive-Update-in-Progress-$(identity)" ]
    run_mbd mbd-repo check test
}

@test "an unreachable or unwritable target exits 16 with rsync's words" {
    mbdt_install hello 1.0-1~test12+1 "$dist"
    command -v rsync >/dev/null || skip "no rsync here (package rsync; scripts/install-deps)"
    # nothing listens on port 1
    run_mbd 16 mbd-repo mirror push rsync://127.0.0.1:1/archive/repositories
    assert_stderr_contains "mbd-repo: E: mirror push to 'rsync://127.0.0.1:1/archive/repositories': writing the marker failed (rsync exit"
    assert_stderr_contains "127.0.0.1"
    assert_stderr_contains "the target is as it was"
    # a file where the target's directory would be
    touch "$BATS_TEST_TMPDIR/file"
    run_mbd 16 mbd-repo mirror push "$BATS_TEST_TMPDIR/file/repositories"
    assert_stderr_contains "writing the marker failed (rsync exit"
    assert_stderr_contains "rsync"
}
