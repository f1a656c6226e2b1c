# The shipped nginx server block (examples/nginx/mbd.conf) run by Debian's nginx on a
# loopback port, serving this test's home (or another directory laid out like one).
#
#   start_nginx [HOME] the shipped file with /var/lib/mbd replaced by HOME (default $MBD_HOME)
#                      and one listen line on 127.0.0.1 and a free port; sets NGINX_URL
#                      (http://127.0.0.1:PORT) and NGINX_DIR (its pid, logs and temporary files:
#                      $BATS_TEST_TMPDIR/nginx for the first one a test starts, nginx2, ... for
#                      the next); skips without root or nginx
#   stop_nginx         (in teardown) stops every one the test started
#   get PATH [opts]    fetch NGINX_URL/PATH as written; body and headers in $BATS_TEST_TMPDIR;
#                      prints the status code
#   header NAME        a header of the last get's response
#
# Load with: load ../lib/nginx (after ../helpers)
# shellcheck disable=SC2030,SC2031 # NGINX_DIR and NGINX_URL are set per test, on purpose

NGINX_DIR=""
NGINX_URL=""
NGINX_DIRS=() # every instance the test started

# nginx_wrapper FILE SERVER-CONF: an nginx.conf around a server block, writing only
# under $NGINX_DIR, its workers running as www-data as in Debian's nginx.conf.
nginx_wrapper() {
    mkdir -p "$NGINX_DIR/tmp"
    cat >"$1" <<CONF
user www-data;
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $NGINX_DIR/access.log;
    client_body_temp_path $NGINX_DIR/tmp/body;
    proxy_temp_path $NGINX_DIR/tmp/proxy;
    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/tmp/scgi;
    include $2;
}
CONF
}

# start_nginx [HOME]: the shipped file with the home replaced by HOME (default $MBD_HOME) and
# its listen lines by one on 127.0.0.1 and a free port; sets NGINX_URL (http://127.0.0.1:PORT).
start_nginx() {
    local home=${1:-$MBD_HOME}
    [ "$(id -u)" -eq 0 ] || skip "needs root (nginx's workers run as www-data)"
    command -v nginx >/dev/null || skip "no nginx here (package nginx; scripts/install-deps)"
    NGINX_DIR="$BATS_TEST_TMPDIR/nginx"
    [ "${#NGINX_DIRS[@]}" -eq 0 ] || NGINX_DIR+=$((${#NGINX_DIRS[@]} + 1))
    NGINX_URL=""
    mkdir -p "$NGINX_DIR" "$home/site"
    # www-data reaches the home as it reaches /var/lib/mbd (0755 all the way)
    local d=$BATS_TEST_TMPDIR
    while [ "$d" != "$(dirname "$BATS_RUN_TMPDIR")" ] && [ "$d" != / ]; do
        chmod o+x "$d"
        d=$(dirname "$d")
    done
    local port _
    for _ in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 30000))
        sed -e "s#/var/lib/mbd#$home#g" -e "s#^\( *\)listen 80;#\1listen 127.0.0.1:$port;#" \
            -e '/^ *listen \[::\]:80;/d' "$MBDT_SOURCE_DIR/examples/nginx/mbd.conf" >"$NGINX_DIR/mbd.conf"
        # the file still has the form the substitutions expect
        assert_equal "$(grep -cE "^ +root $home(/site)?;$" "$NGINX_DIR/mbd.conf")" 2
        assert_equal "$(grep -cE '^ +listen ' "$NGINX_DIR/mbd.conf")" 1
        grep -qE "^ +listen 127\.0\.0\.1:$port;$" "$NGINX_DIR/mbd.conf"
        nginx_wrapper "$NGINX_DIR/nginx.conf" "$NGINX_DIR/mbd.conf"
        # (nginx binds its port before it becomes a daemon: it fails here when the port is taken)
        if nginx -e "$NGINX_DIR/error.log" -c "$NGINX_DIR/nginx.conf" 2>>"$NGINX_DIR/start.log"; then
            NGINX_URL="http://127.0.0.1:$port"
            NGINX_DIRS+=("$NGINX_DIR")
            return 0
        fi
    done
    cat "$NGINX_DIR/start.log" "$NGINX_DIR/error.log" >&2
    return 1
}

stop_nginx() {
    local dir
    for dir in "${NGINX_DIRS[@]}"; do
        stop_nginx_in "$dir"
    done
    NGINX_DIRS=()
}

# stop_nginx_in DIR: the instance whose pid file is in DIR
stop_nginx_in() {
    local pid="" _
    for _ in $(seq 50); do
        pid=$(cat "$1/nginx.pid" 2>/dev/null) && [ -n "$pid" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] || return 0
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# get PATH [curl options]: fetch NGINX_URL/PATH exactly as written (no ..-folding by curl):
# the body goes to $BATS_TEST_TMPDIR/body, the headers (lower-case names) to .../headers;
# prints the status code.
get() {
    local path=$1
    shift
    curl -sS --noproxy '*' --path-as-is -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/headers.raw" \
        -w '%{http_code}' "$@" "$NGINX_URL$path"
    tr -d '\r' <"$BATS_TEST_TMPDIR/headers.raw" | sed -E 's/^([^:]+):/\L\1:/' >"$BATS_TEST_TMPDIR/headers"
}

# header NAME: its value in the last get's response (empty when absent).
header() {
    sed -n "s/^$1: //p" "$BATS_TEST_TMPDIR/headers"
}

