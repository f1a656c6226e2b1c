#!/usr/bin/env bats
# The status site (HOME/site/): written by the tools after every change when site.enabled
# is set, from the state database; HTML for people, the same data as JSON, a feed, metrics,
# build logs. Builds use prebuilt results (mbd-test-build): sbuild is not what this tests.

load ../helpers
load ../lib/debian
load ../lib/pipeline
load ../lib/crash
load ../lib/nginx

setup() {
    mbd_setup
    CRASH_CHROOT=fake crash_setup
    echo 'site.enabled = true' >>"$MBD_HOME/etc/mbd.conf"
    site="$MBD_HOME/site"
}

teardown() {
    stop_nginx
    mbd_teardown
}

# json FILE EXPR: evaluate a Python expression over the parsed FILE (d), print the result
json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# An upload built and installed, one rejected (its changelog names an unknown option that
# carries markup), through the passes the units run.
pipeline() {
    crash_upload
    crash_upload
    changes=$(mbdt_source_package "$CRASH_DIR/pkg" evil 1.0~test12+1 bookworm-test-unstable \
        --option '<script>alert(1)</script>=1')
    mbdt_dput "$changes"
    passes 7
}

# site_schema: every JSON file of the site validates against examples/site/schema.json
site_schema() {
    /usr/bin/python3 "$MBDT_SOURCE_DIR/tests/tools/site-schema" "$MBDT_SOURCE_DIR/examples/site/schema.json" "$site"
}

# passes [RC]: the incoming pass (exit RC), the build pass, the incoming pass that installs
# (the fake chroot's warnings go to a log)
passes() {
    run -"${1:-0}" mbd-incoming run
    mbd-test-build run "$CRASH_DIR/prebuilt" 2>>"$BATS_TEST_TMPDIR/passes.log"
    mbd-incoming run
}

@test "after the passes the site shows the instance, builds, logs, sources, the rejection; nginx serves every link; chromium shows it" {
    pipeline
    # the home page and its JSON twin
    [ -f "$site/index.html" ]
    fpr=$(mbd-keygen show --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["fingerprint"])')
    grep -q "$fpr" "$site/index.html"
    assert_equal "$(json "$site/index.json" 'd["instance"]["fingerprint"]')" "$fpr"
    assert_equal "$(json "$site/index.json" 'len(d["builds"])')" 2
    assert_equal "$(json "$site/index.json" 'sorted({b["status"] for b in d["builds"]})')" "['successful']"
    assert_equal "$(json "$site/index.json" 'd["chroots"][0]["codename"]')" bookworm
    gpg --batch --show-keys "$site/key.asc" | grep -q "$fpr"
    # every build's log is served, and linked from the home page
    for log in $(json "$site/index.json" '" ".join(b["log"] for b in d["builds"])'); do
        [ -s "$site/$log" ]
        grep -q "href=\"$log\"" "$site/index.html"
    done
    # the source's page: its version in unstable, its upload installed
    json "$site/sources/crash2.json" 'd["versions"][0]["distribution"]' | grep -qx bookworm-test-unstable
    assert_equal "$(json "$site/sources/crash2.json" 'd["uploads"][0]["status"]')" installed
    grep -q '1.0~test12+2' "$site/sources/crash2.html"
    # lintian's tags beside a build's log (the prebuilt logs have no lintian run: one is added)
    log=$(json "$site/index.json" '[b["log"] for b in d["builds"] if b["source"] == "crash2"][0]')
    printf '\nlintian\n-------\n\nW: crash2: some-warning detail\nI: crash2: some-info\n' >>"$site/$log"
    run_mbd mbd-repo site --full
    grep -q 'lintian: W: some-warning, I: some-info' "$site/sources/crash2.html"
    # with its changelog entry
    grep -q 'Test upload' "$site/sources/crash2.html"
    json "$site/sources/crash2.json" 'd["changes"]' | grep -q 'Test upload'
    # the repository page lists what the suite holds
    grep -q 'href="test/bookworm-test-unstable.html"' "$site/repository/test.html"
    assert_equal "$(json "$site/repository/test/bookworm-test-unstable.json" '[x["source"] for x in d["holds"]]')" \
        "['crash1', 'crash2']"
    grep -q 'href="../../sources/crash1.html"' "$site/repository/test/bookworm-test-unstable.html"
    # the rejection: its reason, markup escaped, nothing executable
    assert_equal "$(json "$site/rejected.json" 'd["rejected"][0]["source"]')" evil
    grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$site/rejected.html"
    assert_equal "$(json "$site/rejected.json" 'd["rejected"][0]["changed_by"]')" "Test Maintainer <maint@example.org>"
    grep -q 'Test Maintainer &lt;maint@example.org&gt;' "$site/rejected.html"
    # (the JSON twins carry the text as data, escaped as JSON strings)
    refute grep -rq --include='*.html' --include='*.atom' '<script>alert' "$site"
    # the feed and the metrics
    python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$site/feed.atom"
    grep -q 'INSTALLED crash2' "$site/feed.atom"
    grep -qx 'mbd_builds{status="successful"} 2' "$site/metrics.prom"
    published=$(sqlite3 "$MBD_HOME/config.sqlite" "SELECT p.published FROM published_dists p JOIN dists d
        ON d.id = p.dist_id WHERE d.name = 'bookworm-test-unstable'")
    grep -qx "mbd_last_publish_timestamp_seconds{distribution=\"bookworm-test-unstable\"} $published" "$site/metrics.prom"
    took=$(sqlite3 "$MBD_HOME/config.sqlite" "SELECT printf('%.3f', p.took_ms / 1000.0) FROM published_dists p
        JOIN dists d ON d.id = p.dist_id WHERE d.name = 'bookworm-test-unstable' AND p.took_ms > 0")
    [ -n "$took" ]
    grep -qx "mbd_publish_seconds{distribution=\"bookworm-test-unstable\"} $took" "$site/metrics.prom"
    # no page names the home or carries secret key material
    refute grep -rqF "$MBD_HOME" "$site"
    refute grep -rq 'PRIVATE KEY' "$site"
    # every JSON file has the shape the shipped schema documents
    run_mbd site_schema
    # served by the shipped nginx, with publish.url set: every link of every page answers 200
    start_nginx
    printf 'publish.url = %s/repositories\naccess.host = build.example.org\n' "$NGINX_URL" >>"$MBD_HOME/etc/mbd.conf"
    run_mbd mbd-repo site --full
    run crawl "$NGINX_URL/index.html"
    printf '%s\n' "$output" | tail -n 5
    [ "$status" -eq 0 ]
    assert_output_contains " 0 broken"
    # pages, logs, the key, the pool files and the feed were all reached
    for path in /sources/crash1.html /sources/crash1.json /key.asc /feed.atom /search.html /rejected.json \
        '/repositories/test/pool/main/c/crash1/crash1_1.0~test12+1_amd64.deb' \
        '/repositories/test/pool/main/c/crash1/crash1_1.0~test12+1.dsc'; do
        grep -qxF "200 $NGINX_URL$path" <<<"$output" || { echo "not crawled: $path" >&2; false; }
    done
    grep -qE "^200 $NGINX_URL/logs/[^ ]+\.log$" <<<"$output"
    refute grep -q '^external' <<<"$output"
    # the apt sources the repository page shows are the ones sources-list prints for this URL
    grep -qF "URIs: $NGINX_URL/repositories/test" "$site/repository/test.html"
    # and the dput stanza for uploads over ssh, the one dput-conf prints, without naming keys or the home
    dput=$(json "$site/repository/test.json" 'd["dput"]')
    assert_equal "$dput" "$(mbd-repo dput-conf | grep -v '^#   ' | sed 's/uploader or admin:$/uploader or admin./')"
    grep -qx 'fqdn = build.example.org' <<<"$dput"
    grep -qx 'method = scp' <<<"$dput"
    grep -qF 'incoming = /incoming' "$site/repository/test.html"
    refute grep -rqF "$MBD_HOME" "$site"
    # the source's and the repository's own feeds
    for feed in sources/crash1.atom repository/test.atom; do
        python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$site/$feed"
        grep -qxF "200 $NGINX_URL/$feed" <<<"$output"
    done
    grep -q 'INSTALLED crash1' "$site/sources/crash1.atom"
    refute grep -q 'crash2' "$site/sources/crash1.atom"
    grep -q 'INSTALLED crash2' "$site/repository/test.atom"

    # in a real browser at a phone's width: no console message, the text shows what was built
    browse "$NGINX_URL/index.html" home
    grep -q 'crash2' "$shots/home.dom"
    grep -q '1.0~test12+2' "$shots/home.dom"
    grep -q 'successful' "$shots/home.dom"
    browse "$NGINX_URL/sources/crash1.html" source
    grep -q 'installed' "$shots/source.dom"
    log=$(json "$site/index.json" 'd["builds"][0]["log"]')
    browse "$NGINX_URL/$log" log
    grep -q 'Status: successful\|crash' "$shots/log.dom"
    # the search page's script finds the binary by a part of its name
    browse "$NGINX_URL/search.html?q=rash1" search
    grep -q 'href="sources/crash1.html"' "$shots/search.dom"
    refute grep -q 'crash2' "$shots/search.dom"
    if [ -n "${MBDT_ARTEFACTS:-}" ]; then
        mkdir -p "$MBDT_ARTEFACTS"
        cp "$shots"/*.png "$MBDT_ARTEFACTS/"
    fi
}

@test "a source's page links each upgrade to devscripts' debdiff of the two versions" {
    export CRASH_NAMES=1
    crash_upload
    passes
    refute json "$site/sources/crash0.json" 'd["upgrades"] or exit(1)'
    crash_upload
    passes
    pool="$MBD_HOME/repositories/test/pool/main/c/crash0"
    assert_equal "$(json "$site/sources/crash0.json" '[(u["repository"], u["from"], u["to"]) for u in d["upgrades"]]')" \
        "[('test', '1.0~test12+1', '1.0~test12+2')]"
    file=$(json "$site/sources/crash0.json" 'd["upgrades"][0]["debdiff"]')
    assert_equal "$file" "sources/crash0/test_1.0~test12+1_1.0~test12+2.debdiff"
    grep -qF 'href="crash0/test_1.0~test12+1_1.0~test12+2.debdiff"' "$site/sources/crash0.html"
    run --separate-stderr debdiff "$pool/crash0_1.0~test12+1.dsc" "$pool/crash0_1.0~test12+2.dsc"
    [ "$status" -eq 1 ]
    assert_equal "$(cat "$site/$file")" "$output"
    run_mbd site_schema
}

# browse URL NAME: headless Chromium (Debian's chromium) loads URL 390 px wide, as a phone
# shows it: its screenshot to $shots/NAME.png, its DOM after its scripts ran to
# $shots/NAME.dom; fails on any message the page wrote to the console (errors included).
browse() {
    local url=$1 name=$2
    command -v chromium >/dev/null || skip "no chromium here (package chromium; scripts/install-deps)"
    shots="$BATS_TEST_TMPDIR/shots"
    mkdir -p "$shots"
    local chromium=(timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run
        --user-data-dir="$BATS_TEST_TMPDIR/chromium" --virtual-time-budget=5000 '--window-size=390,844')
    "${chromium[@]}" --enable-logging=stderr --v=0 --screenshot="$shots/$name.png" "$url" 2>"$shots/$name.log"
    "${chromium[@]}" --dump-dom "$url" >"$shots/$name.dom" 2>/dev/null
    [ -s "$shots/$name.png" ]
    [ -s "$shots/$name.dom" ]
    refute grep 'CONSOLE' "$shots/$name.log"
}

@test "only pages whose data changed are rewritten; --full makes them all again; off by default" {
    pipeline
    touch -d '2000-01-01' "$site/sources/crash2.html" "$site/sources/crash1.html" \
        "$site/repository/test/bookworm-test-testing.html"
    crash_upload # crash0
    passes
    [ -f "$site/sources/crash0.html" ]
    run_mbd mbd-repo migrate crash1 bookworm-test-unstable
    # crash1's page changed (its migration), crash2's was left as it was
    [ "$(stat -c %Y "$site/sources/crash1.html")" -gt 946684800 ]
    grep -q bookworm-test-testing "$site/sources/crash1.html"
    assert_equal "$(stat -c %Y "$site/sources/crash2.html")" 946684800
    # testing's page changed with the migration; unstable's stayed as the last upload left it
    grep -q crash1 "$site/repository/test/bookworm-test-testing.html"
    touch -d '2000-01-01' "$site/repository/test/bookworm-test-unstable.html"
    run_mbd mbd-repo migrate crash0 bookworm-test-unstable
    assert_equal "$(stat -c %Y "$site/repository/test/bookworm-test-unstable.html")" 946684800
    grep -q crash0 "$site/repository/test/bookworm-test-testing.html"
    run_mbd mbd-repo site
    assert_output_contains "0 written"
    run_mbd mbd-repo site --full
    assert_output_contains "0 written"
    rm "$site/sources/crash2.html"
    run_mbd mbd-repo site --full
    assert_output_contains "1 written"
    [ -f "$site/sources/crash2.html" ]
    # a read-only command writes nothing; without site.enabled no change writes the site
    rm -r "$site"
    run_mbd mbd-repo ls
    [ ! -e "$site" ]
    sed -i '/^site.enabled/d' "$MBD_HOME/etc/mbd.conf"
    run_mbd mbd-repo migrate crash2 bookworm-test-unstable
    [ ! -e "$site" ]
}

@test "the admin's page frame replaces the built-in one; a site that cannot be written fails no pass" {
    mkdir -p "$MBD_HOME/etc/site"
    mbd-repo site --template | sed 's/<main>/<main><p>OUR FRAME<\/p>/' >"$MBD_HOME/etc/site/page.html"
    grep -q 'OUR FRAME' "$MBD_HOME/etc/site/page.html"
    run_mbd mbd-repo site
    grep -q 'OUR FRAME' "$site/index.html"
    grep -q 'OUR FRAME' "$site/repository/test/bookworm-test-unstable.html"
    # the site's place taken by a file: the passes still do their work, with a warning
    rm -r "$site"
    : >"$site"
    crash_upload
    run --separate-stderr mbd-incoming run
    [ "$status" -eq 0 ]
    assert_stderr_contains "W: the status site was not brought up to date"
    assert_output_contains "accepted 1"
    [ "$(find "$MBD_HOME/var/spool/build" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1 ]
}

# install_source NAME: a package built with dpkg-buildpackage, installed into unstable
install_source() {
    local changes
    changes=$(mbdt_build_package "$BATS_TEST_TMPDIR/pkg" "$1" 1.0~test12+1 --dist bookworm-test-unstable) || return 1
    run_mbd mbd-repo install --dist bookworm-test-unstable "$changes"
}

# mtimes NAMES...: the modification times of the unstable pages NAME.html
mtimes() {
    local n
    for n in "$@"; do
        stat -c "$n %Y" "$site/repository/test/bookworm-test-unstable/$n.html"
    done
}

@test "past site.page_size sources, a distribution and the search index are cut into pages by name; one upload rewrites one" {
    mkdir -p "$BATS_TEST_TMPDIR/pkg"
    echo 'site.page_size = 2' >>"$MBD_HOME/etc/mbd.conf"
    for name in alpha beta1 beta2 gamma libxa libxb; do
        install_source "$name"
    done
    local dist="$site/repository/test/bookworm-test-unstable"
    assert_equal "$(json "$dist.json" 'd["sources"]')" 6
    assert_equal "$(json "$dist.json" '[p["prefix"] for p in d["pages"]]')" "['a', 'b', 'g', 'l']"
    assert_equal "$(json "$dist/b.json" '[h["source"] for h in d["holds"]]')" "['beta1', 'beta2']"
    assert_equal "$(json "$dist/l.json" '[h["source"] for h in d["holds"]]')" "['libxa', 'libxb']"
    grep -q 'href="../../../sources/libxa.html"' "$dist/l.html"
    grep -q 'href="bookworm-test-unstable/g.html"' "$dist.html"
    assert_equal "$(json "$site/search-index.json" '[p["file"] for p in d["parts"]]')" \
        "['search/a.json', 'search/b.json', 'search/g.json', 'search/l.json']"
    assert_equal "$(json "$site/search/l.json" '[(e["source"], e["binaries"]) for e in d]')" \
        "[('libxa', ['libxa', 'libxa-doc']), ('libxb', ['libxb', 'libxb-doc'])]"

    # one more source: its page, the index and its search part change; the other pages do not
    touch -d '2000-01-01' "$dist"/*.html "$site"/search/*.json
    install_source alpha2
    assert_equal "$(json "$dist/a.json" '[h["source"] for h in d["holds"]]')" "['alpha', 'alpha2']"
    [ "$(stat -c %Y "$dist/a.html")" -gt 946684800 ]
    assert_equal "$(mtimes b g l)" "$(printf 'b 946684800\ng 946684800\nl 946684800')"
    assert_equal "$(json "$dist.json" 'd["sources"]')" 7
    [ "$(stat -c %Y "$site/search/a.json")" -gt 946684800 ]
    assert_equal "$(stat -c %Y "$site/search/b.json")" 946684800
    # (the cut kept in var/site.cuts, counted again where alpha2 went, is the cut made anew)
    grep -qx "repository/test/bookworm-test-unstable 2 a alpha alpha2 2" "$MBD_HOME/var/site.cuts"
    cp -a "$site" "$BATS_TEST_TMPDIR/kept"
    run_mbd mbd-repo site --full
    diff -r "$BATS_TEST_TMPDIR/kept/repository" "$site/repository"
    diff -r "$BATS_TEST_TMPDIR/kept/search" "$site/search"
    diff "$BATS_TEST_TMPDIR/kept/search-index.json" "$site/search-index.json"

    # a name that needs a page of its own, a kept cut that is not one: made anew
    echo 'garbage' >"$MBD_HOME/var/site.cuts"
    install_source delta
    assert_equal "$(json "$dist.json" '[p["prefix"] for p in d["pages"]]')" "['a', 'b', 'd', 'g', 'l']"
    assert_equal "$(json "$site/search/d.json" '[e["source"] for e in d]')" "['delta']"

    # a page whose last source leaves goes, with its search part
    run_mbd mbd-repo remove beta1 bookworm-test-unstable
    assert_equal "$(json "$dist/b.json" '[h["source"] for h in d["holds"]]')" "['beta2']"
    run_mbd mbd-repo remove gamma bookworm-test-unstable
    [ ! -e "$dist/g.html" ]
    [ ! -e "$dist/g.json" ]
    [ ! -e "$site/search/g.json" ]
    assert_equal "$(json "$dist.json" '[p["prefix"] for p in d["pages"]]')" "['a', 'b', 'd', 'l']"

    # every link resolves; the search page's script reads every part
    start_nginx
    run crawl "$NGINX_URL/index.html"
    printf '%s\n' "$output" | tail -n 3
    [ "$status" -eq 0 ]
    assert_output_contains " 0 broken"
    grep -qxF "200 $NGINX_URL/repository/test/bookworm-test-unstable/l.html" <<<"$output"
    browse "$NGINX_URL/search.html?q=libx" search
    grep -q 'href="sources/libxb.html"' "$shots/search.dom"
    grep -q 'href="sources/libxa.html"' "$shots/search.dom"
    refute grep -q 'href="sources/alpha' "$shots/search.dom"
    run_mbd site_schema

    # back to one page per distribution: the cut pages go
    sed -i '/^site.page_size/d' "$MBD_HOME/etc/mbd.conf"
    run_mbd mbd-repo site --full
    [ ! -e "$dist" ]
    [ ! -e "$site/search/a.json" ]
    assert_equal "$(json "$dist.json" '[h["source"] for h in d["holds"]]')" "['alpha', 'alpha2', 'beta2', 'delta', 'libxa', 'libxb']"
    assert_equal "$(json "$site/search-index.json" '[p["file"] for p in d["parts"]]')" "['search/all.json']"
}
