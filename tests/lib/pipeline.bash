# Fixtures for the pipeline tests: a tiny, lintian-clean native source package
# that sbuild builds in seconds in a bare buildd chroot (no debhelper).
#
#   mbdt_source_package DIR NAME VERSION DIST [opts]   prints the path of the signed _source.changes
#       --arch-all          also an Architecture: all package NAME-data
#       --all-only          the only binary package, NAME, is Architecture: all
#       --depends PKG       Build-Depends and Depends on PKG
#       --fail              the build fails (debian/rules exits 1)
#       --no-copyright      the binary package has no copyright file (lintian: E: no-copyright-file)
#       --option KEY=VALUE  a "* MINI_BUILDD_OPTION: KEY=VALUE" line in the changelog (repeatable)
#       --test COMMAND      an autopkgtest (debian/tests/control) running COMMAND on the installed package
#       --restrictions LIST that test's Restrictions (e.g. "needs-root, allow-stderr")
#       --unsigned          do not sign
#   mbdt_pipeline_instance REPO         instance key, repository REPO (bookworm, amd64), an uploader
#                                       granted REPO (key in $GNUPGHOME), dput.cf in $BATS_TEST_TMPDIR
#   mbdt_changes_files CHANGES          the names of the files a .changes lists, one a line
#   mbdt_build_user                     an unprivileged build user with subuid/subgid ranges, set as
#                                       build.user through MBD_BUILD_USER (call mbd_remove_test_users in teardown)
#
# Load with: load ../lib/pipeline (after ../helpers and ../lib/debian)

mbdt_source_package() {
    local dir=$1 name=$2 version=$3 dist=$4
    shift 4
    local all=0 depends="" fail=0 sign=1 options=() test="" binarch=any restrictions="" copyright=1
    while [ $# -gt 0 ]; do
        case "$1" in
            --arch-all) all=1 ;;
            --all-only) binarch=all ;;
            --depends) depends=$2; shift ;;
            --fail) fail=1 ;;
            --no-copyright) copyright=0 ;;
            --option) options+=("$2"); shift ;;
            --unsigned) sign=0 ;;
            --test) test=$2; shift ;;
            --restrictions) restrictions=$2; shift ;;
            *) echo "mbdt_source_package: unknown option $1" >&2; return 2 ;;
        esac
        shift
    done
    local tree="$dir/$name-$version"
    rm -rf "$tree"
    mkdir -p "$tree/debian/source"
    echo "3.0 (native)" >"$tree/debian/source/format"
    if [ -n "$test" ]; then
        mkdir -p "$tree/debian/tests"
        {
            printf 'Test-Command: %s\nDepends: @\n' "$test"
            [ -z "$restrictions" ] || printf 'Restrictions: %s\n' "$restrictions"
        } >"$tree/debian/tests/control"
    fi
    {
        printf 'Source: %s\nSection: misc\nPriority: optional\nMaintainer: Test Maintainer <maint@example.org>\n' "$name"
        [ -z "$depends" ] || printf 'Build-Depends: %s\n' "$depends"
        printf 'Standards-Version: 4.6.2\nRules-Requires-Root: no\n'
        [ -z "$test" ] || printf 'Testsuite: autopkgtest\n'
        printf '\n'
        printf 'Package: %s\nArchitecture: %s\n' "$name" "$binarch"
        [ -z "$depends" ] || printf 'Depends: %s\n' "$depends"
        printf 'Description: package made by the mbd test suite\n This package is built by the mbd test suite.\n'
        if [ "$all" = 1 ]; then
            printf '\nPackage: %s-data\nArchitecture: all\nMulti-Arch: foreign\n' "$name"
            printf 'Description: data made by the mbd test suite\n This package is built by the mbd test suite.\n'
        fi
    } >"$tree/debian/control"
    {
        printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n'
        printf 'Files: *\nCopyright: 2026 Test Maintainer <maint@example.org>\nLicense: GPL-2+\n'
        printf ' On Debian systems, the complete text of the GNU General Public License\n'
        printf ' version 2 can be found in "/usr/share/common-licenses/GPL-2".\n'
    } >"$tree/debian/copyright"
    {
        printf '%s (%s) %s; urgency=medium\n\n  * Test upload.\n' "$name" "$version" "$dist"
        local o
        for o in "${options[@]}"; do
            printf '  * MINI_BUILDD_OPTION: %s\n' "$o"
        done
        printf '\n -- Test Maintainer <maint@example.org>  %s\n' "$(date -R)"
    } >"$tree/debian/changelog"
    echo "$name $version" >"$tree/data"
    # one binary-* rule per package: the docs and the data, owned by root
    # shellcheck disable=SC2016 # make's $(1)
    local pkgrule='mkdir -p debian/tmp-$(1)/DEBIAN debian/tmp-$(1)/usr/share/doc/$(1) debian/tmp-$(1)/usr/share/$(1)
	cp data debian/tmp-$(1)/usr/share/$(1)/data
	COPYRIGHT
	gzip -9nc debian/changelog >debian/tmp-$(1)/usr/share/doc/$(1)/changelog.gz
	chmod -R u=rwX,go=rX debian/tmp-$(1)
	dpkg-gencontrol -p$(1) -Pdebian/tmp-$(1)
	dpkg-deb --root-owner-group --build debian/tmp-$(1) ..'
    if [ "$copyright" = 1 ]; then
        # shellcheck disable=SC2016 # make's $(1)
        pkgrule=${pkgrule/COPYRIGHT/'cp debian/copyright debian/tmp-$(1)/usr/share/doc/$(1)/copyright'}
    else
        pkgrule=${pkgrule/COPYRIGHT/'true'}
    fi
    # shellcheck disable=SC2016 # make's $(call)
    {
        printf '#!/usr/bin/make -f\n# mbd test fixture: no debhelper\ndefine package\n%s\nendef\n' "$pkgrule"
        printf 'build build-arch build-indep:\n'
        if [ "$fail" = 1 ]; then printf '\t@echo "this build fails on purpose" >&2; exit 1\n'; else printf '\ttrue\n'; fi
        printf 'clean:\n\trm -rf debian/tmp-* debian/files debian/substvars\n'
        if [ "$binarch" = any ]; then
            printf 'binary-arch: build-arch\n\t$(call package,%s)\n' "$name"
            printf 'binary-indep: build-indep\n'
        else
            printf 'binary-arch: build-arch\n'
            printf 'binary-indep: build-indep\n\t$(call package,%s)\n' "$name"
        fi
        [ "$all" = 0 ] || printf '\t$(call package,%s-data)\n' "$name"
        printf 'binary: binary-arch binary-indep\n'
        printf '.PHONY: build build-arch build-indep clean binary binary-arch binary-indep\n'
    } >"$tree/debian/rules"
    chmod 755 "$tree/debian/rules"
    (cd "$tree" && dpkg-buildpackage -us -uc -d -S >"$dir/source-$name.log" 2>&1) ||
        { cat "$dir/source-$name.log" >&2; return 1; }
    local changes="$dir/${name}_${version#*:}_source.changes"
    [ "$sign" = 0 ] || mbdt_sign_changes "$changes" || return 1
    printf '%s\n' "$changes"
}

mbdt_pipeline_instance() {
    local repo=${1:-test}
    mbd-keygen init --algo ed25519 >/dev/null || return 1
    mbd-repo setup "$repo" --codename bookworm --arch amd64 --no-check >/dev/null || return 1
    mbd-keygen export --output "$BATS_TEST_TMPDIR/instance.asc" || return 1
    local fpr
    fpr=$(mbdt_uploader_key) || return 1
    gpg --batch --armor --export "$fpr" >"$BATS_TEST_TMPDIR/uploader.asc"
    mbd-keygen uploader add "$BATS_TEST_TMPDIR/uploader.asc" --repo "$repo" >/dev/null || return 1
    mbd-repo dput-conf >"$BATS_TEST_TMPDIR/dput.cf" || return 1
    export MBDT_DPUT_HOST
    MBDT_DPUT_HOST=$(sed -n 's/^\[\(.*\)\]$/\1/p' "$BATS_TEST_TMPDIR/dput.cf" | head -n 1)
}

mbdt_changes_files() {
    sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]\{32\} [0-9]* [^ ]* [^ ]* //p' "$1"
}

mbdt_dput() {
    dput -f -u -c "$BATS_TEST_TMPDIR/dput.cf" "$MBDT_DPUT_HOST" "$1" >>"$BATS_TEST_TMPDIR/commands.log" 2>&1
}

mbdt_build_user() {
    local user=mbdtb$$ home=$BATS_RUN_TMPDIR/home-mbdtb$$
    id "$user" >/dev/null 2>&1 || mbd_test_user --home-dir "$home" "$user"
    # sbuild starts autopkgtest in the build user's home directory
    mkdir -p "$home"
    chown "$user:" "$home"
    export MBD_BUILD_USER=$user
    chmod o+x "$BATS_TEST_TMPDIR" "$(dirname "$BATS_TEST_TMPDIR")"
}

# Start Debian's apt-cacher-ng on a free loopback port with its cache and logs in DIR,
# in the background (stopped by mbdt_apt_cacher_stop DIR); prints its URL. Extra
# arguments are its settings (Offlinemode=1: serve the cache, never the network).
# (Its port must be below 32768: it refuses higher ones.)
mbdt_apt_cacher() {
    local dir=$1 port
    shift
    command -v apt-cacher-ng >/dev/null || { echo "apt-cacher-ng is not installed" >&2; return 1; }
    mkdir -p "$dir/cache" "$dir/log" "$dir/conf"
    for port in $(shuf -i 20000-32000 -n 20); do
        ss -Hltn "sport = :$port" | grep -q . || break
    done
    # a configuration of its own: Debian's remaps deb.debian.org to other mirrors (ftp.debian.org),
    # which a machine may not reach; without remaps it caches each URL as asked
    printf 'SupportDir: /usr/lib/apt-cacher-ng\nCacheDir: %s\nLogDir: %s\n' "$dir/cache" "$dir/log" >"$dir/conf/acng.conf"
    apt-cacher-ng -c "$dir/conf" ForeGround=1 Port="$port" BindAddress=127.0.0.1 \
        PidFile="$dir/pid" SocketPath="$dir/socket" "$@" >"$dir/out" 2>&1 </dev/null &
    echo $! >"$dir/acng.pid"
    local _
    for _ in $(seq 50); do
        ss -Hltn "sport = :$port" | grep -q . && { printf 'http://127.0.0.1:%s/\n' "$port"; return 0; }
        kill -0 "$(cat "$dir/acng.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "apt-cacher-ng did not start on port $port: $(cat "$dir/out")" >&2
    return 1
}

mbdt_apt_cacher_stop() {
    [ -f "$1/acng.pid" ] || return 0
    kill "$(cat "$1/acng.pid")" 2>/dev/null || true
    local _
    for _ in $(seq 50); do
        kill -0 "$(cat "$1/acng.pid")" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$1/acng.pid"
}
