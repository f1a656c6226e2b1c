#!/usr/bin/env bats
# The nginx server block the package ships (examples/nginx/mbd.conf), run by Debian's
# nginx on a loopback port with this test's home: apt-get updates and installs through
# it, its cache headers are what the file says, nothing of the home but repositories/
# and site/ is reachable, build logs are text. And mbd-repo setup --url, which stores
# the URL sources-list prints.
#
# shellcheck disable=SC2030,SC2031 # NGINX_DIR and NGINX_URL are set per test, on purpose

load ../helpers
load ../lib/debian
load ../lib/repo
load ../lib/nginx

teardown() {
    stop_nginx
    mbd_teardown
}

# expect STATUS PATH [curl options]: get answers STATUS.
expect() {
    local want=$1 got
    shift
    got=$(get "$@")
    [ "$got" = "$want" ] || { printf 'GET %s: %s, expected %s\n' "$1" "$got" "$want" >&2; return 1; }
}

# refused PATH: any answer but a 200 (nginx says 400, 403 or 404), and no byte of a secret.
refused() {
    local got
    got=$(get "$1")
    case $got in
    400 | 403 | 404) ;;
    *) printf 'GET %s: %s, expected 400, 403 or 404\n' "$1" "$got" >&2; return 1 ;;
    esac
    refute_grep -q SECRET "$BATS_TEST_TMPDIR/body"
}

apt_direct=(-o Acquire::http::Proxy::127.0.0.1=DIRECT)

@test "the shipped file is valid nginx configuration as shipped" {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
    command -v nginx >/dev/null || skip "no nginx here (package nginx; scripts/install-deps)"
    NGINX_DIR="$BATS_TEST_TMPDIR/nginx"
    nginx_wrapper "$BATS_TEST_TMPDIR/nginx.conf" "$MBDT_SOURCE_DIR/examples/nginx/mbd.conf"
    run nginx -t -e "$BATS_TEST_TMPDIR/error.log" -c "$BATS_TEST_TMPDIR/nginx.conf"
    [ "$status" -eq 0 ] || { printf '%s\n' "$output" >&2; return 1; }
    [[ $output == *"test is successful"* ]]
    # installed with the documentation, as it is
    DESTDIR="$BATS_TEST_TMPDIR/root" cmake --install "$MBDT_BUILD_DIR" --prefix /usr >/dev/null
    cmp "$BATS_TEST_TMPDIR/root/usr/share/doc/mbd/examples/nginx/mbd.conf" "$MBDT_SOURCE_DIR/examples/nginx/mbd.conf"
}

@test "apt-get updates, installs and fetches sources through nginx, with the URL setup --url stored" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable --files 1
    start_nginx
    run_mbd mbd-repo setup test --no-check --url "$NGINX_URL/repositories"
    assert_output_contains "URIs: $NGINX_URL/repositories/test"
    run_mbd mbd-repo sources-list test --suite unstable --signed-by "$MBDT_KEY"
    assert_equal "$(printf '%s\n' "$output" | sed -n 's/^URIs: //p')" "$NGINX_URL/repositories/test"
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_apt_sandbox "$apt" "$MBDT_KEY"
    printf '%s\n' "$output" >"$apt/etc/apt/sources.list.d/mbd.sources"
    mbdt_apt_ok "$apt" "${apt_direct[@]}" update
    mbdt_apt_ok "$apt" "${apt_direct[@]}" install hello
    grep -q "hello 1.0-1~test12+1" "$apt/usr/share/hello/data"
    [ -f "$apt/usr/share/hello/file1" ]
    (cd "$BATS_TEST_TMPDIR" && mbdt_apt_ok "$apt" "${apt_direct[@]}" source hello)
    [ -f "$BATS_TEST_TMPDIR/hello-1.0/debian/data" ]
    MBDT_APT_TOOL=apt-cache run mbdt_apt "$apt" policy hello
    [[ $output == *"$NGINX_URL/repositories/test bookworm-test-unstable/main amd64 Packages"* ]]
    # all of it came from nginx: InRelease, the indices by hash (apt takes the strongest,
    # SHA512), the pool (apt escapes ~ and + in the URL)
    log="$NGINX_DIR/access.log"
    d=/repositories/test/dists/bookworm-test-unstable
    grep -qE "\"GET $d/InRelease HTTP/1\\.1\" 200 " "$log"
    grep -qE "\"GET $d/main/binary-amd64/by-hash/SHA(256|512)/[0-9a-f]{64,128} HTTP/1\\.1\" 200 " "$log"
    grep -qE "\"GET $d/main/source/by-hash/SHA(256|512)/[0-9a-f]{64,128} HTTP/1\\.1\" 200 " "$log"
    grep -qE '"GET /repositories/test/pool/main/h/hello/hello_1\.0-1%7etest12%2b1_amd64\.deb HTTP/1\.1" 200 ' "$log"
    grep -qE '"GET /repositories/test/pool/main/h/hello/hello_1\.0-1%7etest12%2b1\.dsc HTTP/1\.1" 200 ' "$log"
    refute_grep -E '" (4|5)[0-9][0-9] ' "$log"
    # a second update: InRelease answers 304 (not modified), nothing else is fetched
    : >"$log" # (nginx appends: its next line starts the file)
    mbdt_apt_ok "$apt" "${apt_direct[@]}" update
    grep -qE "\"GET $d/InRelease HTTP/1\\.1\" 304 " "$log"
    refute_grep by-hash "$log"
}

@test "dists/ is cached for a minute, by-hash and pool files are immutable" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    start_nginx
    repo="$MBD_HOME/repositories/test"
    dist=dists/bookworm-test-unstable
    for f in InRelease Release Release.gpg main/binary-amd64/Packages.xz main/source/Sources.gz; do
        expect 200 "/repositories/test/$dist/$f"
        assert_equal "$(header cache-control)" "public, max-age=60"
        cmp "$BATS_TEST_TMPDIR/body" "$repo/$dist/$f"
    done
    byhash=$(find "$repo/$dist/main/binary-amd64/by-hash/SHA256" -type f | head -1)
    [ -n "$byhash" ]
    expect 200 "/repositories/test/${byhash#"$repo/"}"
    assert_equal "$(header cache-control)" "public, max-age=31536000, immutable"
    cmp "$BATS_TEST_TMPDIR/body" "$byhash"
    for f in pool/main/h/hello/hello_1.0-1~test12+1_amd64.deb pool/main/h/hello/hello_1.0-1~test12+1.dsc; do
        expect 200 "/repositories/test/$f"
        assert_equal "$(header cache-control)" "public, max-age=31536000, immutable"
        cmp "$BATS_TEST_TMPDIR/body" "$repo/$f"
    done
    # revalidation: the ETag nginx gave answers 304
    expect 200 "/repositories/test/$dist/InRelease"
    etag=$(header etag)
    [ -n "$etag" ]
    expect 304 "/repositories/test/$dist/InRelease" -H "If-None-Match: $etag"
}

@test "nothing but repositories/ and site/ is served: no escape, no dotfile, no foreign link, no writes" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    start_nginx
    # secrets where a way out would find them
    printf '# SECRET\n' >>"$MBD_HOME/etc/mbd.conf"
    printf 'SECRET\n' >"$MBD_HOME/var/secret"
    printf 'SECRET\n' >"$MBD_HOME/incoming/secret.changes"
    printf 'SECRET\n' >"$MBD_HOME/gnupg/secret"
    printf 'SECRET\n' >"$MBD_HOME/site/.secret"
    printf 'SECRET\n' >"$MBD_HOME/repositories/test/.secret"
    printf '<!doctype html><title>mbd</title><p>the status page</p>\n' >"$MBD_HOME/site/index.html"
    expect 200 /
    grep -q 'the status page' "$BATS_TEST_TMPDIR/body"
    assert_equal "$(header content-type)" "text/html; charset=utf-8"
    assert_equal "$(header cache-control)" "no-cache"
    expect 200 /index.html
    for p in /config.sqlite /etc/mbd.conf /var/secret /incoming/secret.changes /gnupg/secret /gnupg/ \
        /repositories/../config.sqlite /repositories/../etc/mbd.conf /repositories/%2e%2e/config.sqlite \
        /repositories/..%2fconfig.sqlite /repositories/test/../../config.sqlite /%2e%2e/gnupg/ /%2e%2e/config.sqlite \
        /../config.sqlite /..%2f..%2fhome/config.sqlite /site/index.html /repositories/%2e%2e/gnupg/secret \
        /.secret /%2esecret /repositories/test/.secret /repositories/test/dists/bookworm-test-unstable/.release/Release \
        /repositories/ /repositories/test/ /repositories/test/pool/main/h/hello/; do
        refused "$p"
    done
    # Release and Release.gpg are links through .release: followed (one owner)
    expect 200 /repositories/test/dists/bookworm-test-unstable/Release
    # a link someone else made is not
    ln -s ../config.sqlite "$MBD_HOME/site/leak"
    ln -s ../../config.sqlite "$MBD_HOME/repositories/test/leak"
    chown -h nobody "$MBD_HOME/site/leak" "$MBD_HOME/repositories/test/leak"
    refused /leak
    refused /repositories/test/leak
    # read-only: no method but GET and HEAD
    inrelease=/repositories/test/dists/bookworm-test-unstable/InRelease
    before=$(sha256sum <"$MBD_HOME$inrelease")
    for m in PUT DELETE POST PATCH; do
        code=$(get "$inrelease" -X "$m" --data-binary SECRET)
        [[ $code == 403 || $code == 405 ]] || { echo "$m $inrelease: $code" >&2; return 1; }
        code=$(get /new.html -X "$m" --data-binary SECRET)
        [[ $code == 403 || $code == 405 ]] || { echo "$m /new.html: $code" >&2; return 1; }
    done
    assert_equal "$(sha256sum <"$MBD_HOME$inrelease")" "$before"
    [ ! -e "$MBD_HOME/site/new.html" ]
    expect 200 "$inrelease" -I
}

@test "build logs are UTF-8 text; a .log.gz is text at .log and a download at its own name" {
    start_nginx
    mkdir -p "$MBD_HOME/site/logs/1"
    printf 'dpkg-buildpackage: info: source package hello – “quoted”\n' >"$MBD_HOME/site/logs/1/hello_amd64.log"
    printf 'an older log – ü\n' >"$BATS_TEST_TMPDIR/old.log"
    gzip -c "$BATS_TEST_TMPDIR/old.log" >"$MBD_HOME/site/logs/1/old_amd64.log.gz"
    expect 200 /logs/1/hello_amd64.log
    assert_equal "$(header content-type)" "text/plain; charset=utf-8"
    cmp "$BATS_TEST_TMPDIR/body" "$MBD_HOME/site/logs/1/hello_amd64.log"
    # at .log: compressed on the wire for a client that takes gzip, plain for one that does not
    expect 200 /logs/1/old_amd64.log -H 'Accept-Encoding: gzip'
    assert_equal "$(header content-type)" "text/plain; charset=utf-8"
    assert_equal "$(header content-encoding)" gzip
    cmp "$BATS_TEST_TMPDIR/body" "$MBD_HOME/site/logs/1/old_amd64.log.gz"
    expect 200 /logs/1/old_amd64.log
    assert_equal "$(header content-type)" "text/plain; charset=utf-8"
    assert_equal "$(header content-encoding)" ""
    cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/old.log"
    # at .log.gz: the file, as a download nothing decompresses on the way
    expect 200 /logs/1/old_amd64.log.gz -H 'Accept-Encoding: gzip'
    assert_equal "$(header content-type)" application/gzip
    assert_equal "$(header content-encoding)" ""
    cmp "$BATS_TEST_TMPDIR/body" "$MBD_HOME/site/logs/1/old_amd64.log.gz"
    expect 404 /logs/1/missing.log
}

@test "setup --url stores publish.url; anything but an http(s) URL exits 2 and changes nothing" {
    conf="$MBD_HOME/etc/mbd.conf"
    before=$(cat "$conf" 2>/dev/null || true)
    for url in ftp://mbd.example.org/repositories file:///var/lib/mbd/repositories mbd.example.org/repositories \
        http:// http:///repositories 'http://mbd.example.org/my repositories' 'http://mbd.example.org/"x"' \
        "http://mbd.example.org/'x'" 'http://mbd.example.org/<x>' $'http://mbd.example.org/\tx'; do
        run_mbd 2 mbd-repo setup test --no-check --url "$url"
        assert_stderr_contains "mbd-repo: E: --url: "
        # checked before the identity is stored (and before the key refuses another one)
        run_mbd 2 mbd-repo setup test --no-check --identity other --url "$url"
        assert_equal "$(cat "$conf" 2>/dev/null || true)" "$before"
    done
    run_mbd mbd-repo sources-list test --suite unstable
    assert_output_contains "URIs: file://$MBD_HOME/repositories/test"
    run_mbd mbd-repo setup test --no-check --url https://mbd.example.org/repositories/
    assert_stderr_contains "publish.url = https://mbd.example.org/repositories/"
    grep -qx 'publish.url = https://mbd.example.org/repositories/' "$conf"
    assert_equal "$(grep -c '^publish\.url' "$conf")" 1
    run_mbd mbd-repo --show-config
    printf '%s\n' "$output" | grep -qE "^publish\.url += https://mbd\.example\.org/repositories/ +\(file"
    run_mbd mbd-repo sources-list test --suite unstable
    assert_output_contains "URIs: https://mbd.example.org/repositories/test"
    refute_grep -q 'file://' <<<"$output"
    # again, another URL: the line is replaced, the rest of the file kept
    run_mbd mbd-repo setup test --no-check --url http://mbd.example.org:8080/repositories
    grep -qx 'publish.url = http://mbd.example.org:8080/repositories' "$conf"
    assert_equal "$(grep -c '^publish\.url' "$conf")" 1
    assert_equal "$(grep -v '^publish\.url' "$conf")" "$(printf '%s\n' "$before" | grep -v '^publish\.url')"
    run_mbd mbd-repo sources-list test --suite unstable --one-line --no-src
    assert_output_contains " http://mbd.example.org:8080/repositories/test bookworm-test-unstable main"
}
