# Fixture builders for tests that need real Debian packages and a real apt:
#
#   mbdt_uploader_key                        make a signing key in $GNUPGHOME, print its fingerprint
#   mbdt_build_package DIR NAME VERSION [opts] make a source package (debian/rules without
#                                            debhelper, so sbuild can build it too) and build it with
#                                            dpkg-buildpackage; prints the path of the (unsigned) .changes
#       --dist D          Distribution: of the .changes (default: unstable)
#       --arch A          architecture of the arch-dependent binary (default: amd64)
#       --no-all          no Architecture: all package (NAME-doc)
#       --udeb            also a udeb (NAME-udeb, Package-Type: udeb)
#       --files N         ship N extra files in the arch-dependent package
#       --section S       source and binary section (default: misc)
#       --content TEXT    what /usr/share/NAME/data holds (default: NAME VERSION)
#       --source-only / --binary-only   what the .changes carries (default: both)
#   mbdt_sign_changes CHANGES [FPR]          debsign the .changes (and its .dsc) with the uploader key
#   mbdt_reprepro DIR DIST...                a reprepro archive under DIR (archive/: what it publishes,
#                                            conf/, pkg/) signed by a key of its own (DIR/gnupg; public
#                                            key DIR/key.asc), with these distributions (amd64, source, main)
#   mbdt_reprepro_include DIR DIST NAME VERSION [build args]   build a package (mbdt_build_package) and
#                                            let reprepro include it into DIST
#   mbdt_apt_sandbox DIR KEYFILE LINES...    an apt root in DIR whose sources are LINES ([signed-by] added)
#   mbdt_apt DIR apt-get-args...             apt-get confined to DIR (dpkg --root=DIR for install);
#                                            MBDT_APT_TOOL=apt-cache runs apt-cache instead
#
# Load with: load ../lib/debian

mbdt_uploader_key() {
    local uid="${1:-Test Uploader <uploader@example.org>}"
    gpg --batch --quiet --passphrase '' --quick-gen-key "$uid" ed25519 sign never >/dev/null 2>&1
    gpg --batch --with-colons --list-secret-keys "$uid" | awk -F: '/^fpr:/ {print $10; exit}'
}

mbdt_build_package() {
    local dir=$1 name=$2 version=$3
    shift 3
    local dist=unstable arch=amd64 all=1 udeb=0 files=0 section=misc content="" what=full
    while [ $# -gt 0 ]; do
        case "$1" in
            --dist) dist=$2; shift ;;
            --arch) arch=$2; shift ;;
            --no-all) all=0 ;;
            --udeb) udeb=1 ;;
            --files) files=$2; shift ;;
            --section) section=$2; shift ;;
            --content) content=$2; shift ;;
            --source-only) what=source ;;
            --binary-only) what=binary ;;
            *) echo "mbdt_build_package: unknown option $1" >&2; return 2 ;;
        esac
        shift
    done
    [ -n "$content" ] || content="$name $version"
    local upstream=${version#*:}
    upstream=${upstream%-*}
    local tree="$dir/$name-$upstream"
    rm -rf "$tree"
    mkdir -p "$tree/debian/source"
    echo "upstream of $name" >"$tree/README"
    if [[ "$version" == *-* ]]; then
        echo "3.0 (quilt)" >"$tree/debian/source/format"
        [ -f "$dir/${name}_$upstream.orig.tar.gz" ] ||
            tar -C "$dir" --exclude=debian -czf "$dir/${name}_$upstream.orig.tar.gz" "$name-$upstream"
    else
        echo "3.0 (native)" >"$tree/debian/source/format"
    fi
    {
        printf 'Source: %s\nSection: %s\nPriority: optional\nMaintainer: Test Maintainer <maint@example.org>\n' "$name" "$section"
        printf 'Standards-Version: 4.6.2\n\n'
        printf 'Package: %s\nArchitecture: any\nDescription: test package %s\n mbd test fixture.\n' "$name" "$name"
        if [ "$all" = 1 ]; then
            printf '\nPackage: %s-doc\nArchitecture: all\nDescription: documentation of %s\n mbd test fixture.\n' "$name" "$name"
        fi
        if [ "$udeb" = 1 ]; then
            printf '\nPackage: %s-udeb\nPackage-Type: udeb\nSection: debian-installer\nArchitecture: any\n' "$name"
            printf 'Description: installer part of %s\n' "$name"
        fi
    } >"$tree/debian/control"
    echo "$content" >"$tree/debian/data"
    printf '%s (%s) %s; urgency=medium\n\n  * Test upload.\n\n -- Test Maintainer <maint@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n' \
        "$name" "$version" "$dist" >"$tree/debian/changelog"
    # A debian/rules without debhelper: what sbuild or dpkg-buildpackage can build anywhere.
    {
        printf '#!/usr/bin/make -f\n# mbd test fixture\nbuild build-arch build-indep:\n\ttrue\n'
        printf 'clean:\n\trm -rf debian/tmp-* debian/files debian/substvars\n'
        printf 'binary-arch:\n'
        printf '\tmkdir -p debian/tmp-%s/DEBIAN debian/tmp-%s/usr/bin debian/tmp-%s/usr/share/doc/%s debian/tmp-%s/usr/share/%s\n' \
            "$name" "$name" "$name" "$name" "$name" "$name"
        printf '\tprintf "#!/bin/sh\\ncat /usr/share/%s/data\\n" >debian/tmp-%s/usr/bin/%s\n' "$name" "$name" "$name"
        printf '\tchmod 755 debian/tmp-%s/usr/bin/%s\n' "$name" "$name"
        printf '\tcp debian/data debian/tmp-%s/usr/share/%s/data\n' "$name" "$name"
        printf '\tcp debian/data debian/tmp-%s/usr/share/doc/%s/README\n' "$name" "$name"
        # shellcheck disable=SC2016 # make's $$
        printf '\tfor i in $$(seq 1 %s); do echo $$i >debian/tmp-%s/usr/share/%s/file$$i; done\n' "$files" "$name" "$name"
        printf '\tdpkg-gencontrol -p%s -Pdebian/tmp-%s\n' "$name" "$name"
        printf '\tdpkg-deb --root-owner-group -Zxz --build debian/tmp-%s ..\n' "$name"
        if [ "$udeb" = 1 ]; then
            printf '\tmkdir -p debian/tmp-%s-udeb/DEBIAN debian/tmp-%s-udeb/lib/%s\n' "$name" "$name" "$name"
            printf '\tcp debian/data debian/tmp-%s-udeb/lib/%s/data\n' "$name" "$name"
            printf '\tdpkg-gencontrol -p%s-udeb -Pdebian/tmp-%s-udeb\n' "$name" "$name"
            # shellcheck disable=SC2016 # make's $$
            printf '\tdpkg-deb --root-owner-group -Zxz --build debian/tmp-%s-udeb ../%s-udeb_%s_$$(dpkg-architecture -qDEB_HOST_ARCH).udeb\n' \
                "$name" "$name" "${version#*:}"
        fi
        printf 'binary-indep:\n'
        if [ "$all" = 1 ]; then
            printf '\tmkdir -p debian/tmp-%s-doc/DEBIAN debian/tmp-%s-doc/usr/share/doc/%s-doc\n' "$name" "$name" "$name"
            printf '\tcp debian/data debian/tmp-%s-doc/usr/share/doc/%s-doc/README\n' "$name" "$name"
            printf '\tdpkg-gencontrol -p%s-doc -Pdebian/tmp-%s-doc\n' "$name" "$name"
            printf '\tdpkg-deb --root-owner-group -Zxz --build debian/tmp-%s-doc ..\n' "$name"
        fi
        printf 'binary: binary-arch binary-indep\n'
        printf '.PHONY: build build-arch build-indep clean binary binary-arch binary-indep\n'
    } >"$tree/debian/rules"
    chmod 755 "$tree/debian/rules"
    local opts=(-F -sa)
    case "$what" in
        source) opts=(-S -sa) ;;
        binary) opts=(-b) ;;
    esac
    (cd "$tree" && dpkg-buildpackage -us -uc -d -a"$arch" "${opts[@]}" >"$dir/build-$name.log" 2>&1) ||
        { cat "$dir/build-$name.log" >&2; echo "dpkg-buildpackage failed" >&2; return 1; }
    local out
    out="$dir/${name}_${version#*:}_$([ "$what" = source ] && echo source || echo "$arch").changes"
    echo "$out"
}

mbdt_reprepro() {
    local dir=$1 fpr d
    shift
    install -d -m 700 "$dir/gnupg"
    mkdir -p "$dir/conf" "$dir/pkg"
    GNUPGHOME=$dir/gnupg gpg --batch --quiet --passphrase '' --quick-gen-key "Old Archive <old@example.org>" \
        ed25519 sign never 2>/dev/null
    fpr=$(GNUPGHOME=$dir/gnupg gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    GNUPGHOME=$dir/gnupg gpg --batch --armor --export "$fpr" >"$dir/key.asc"
    for d in "$@"; do
        printf '%s\n' "Origin: Old" "Codename: $d" "Architectures: amd64 source" "Components: main" "SignWith: $fpr" ""
    done >"$dir/conf/distributions"
}

mbdt_reprepro_include() {
    local dir=$1 dist=$2 name=$3 version=$4 changes
    shift 4
    changes=$(mbdt_build_package "$dir/pkg" "$name" "$version" --dist "$dist" "$@") || return 1
    GNUPGHOME=$dir/gnupg reprepro --silent -b "$dir" --outdir "$dir/archive" --ignore=wrongdistribution \
        include "$dist" "$changes"
}

mbdt_sign_changes() {
    local changes=$1 fpr=${2:-}
    [ -n "$fpr" ] || fpr=$(gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    debsign -k"$fpr" --re-sign "$changes" >/dev/null 2>&1 || { echo "debsign failed" >&2; return 1; }
}

mbdt_apt_sandbox() {
    local dir=$1 key=$2
    shift 2
    mkdir -p "$dir/etc/apt/sources.list.d" "$dir/etc/apt/preferences.d" "$dir/etc/apt/apt.conf.d" \
        "$dir/var/lib/apt/lists/partial" "$dir/var/cache/apt/archives/partial" \
        "$dir/var/lib/dpkg/info" "$dir/var/lib/dpkg/updates" "$dir/var/lib/dpkg/triggers" "$dir/var/log" "$dir/src"
    : >"$dir/var/lib/dpkg/status"
    : >"$dir/var/lib/dpkg/available"
    # apt reads this instead of /etc/apt/apt.conf, and its parts from under $dir
    printf 'Dir "%s/";\n' "$dir" >"$dir/etc/apt/apt.conf"
    local line
    : >"$dir/etc/apt/sources.list"
    for line in "$@"; do
        printf '%s\n' "$line" | sed -E "s#^(deb(-src)?) #\1 [signed-by=$key] #" >>"$dir/etc/apt/sources.list"
    done
}

# mbdt_apt_loop DIR STOPFILE [APT-OPTION...]: apt-get update (with those options) until
# STOPFILE exists; one line per run in DIR.runs (ok, fail), each failed run's output in
# DIR.failures (an exit status, a warning or error line, a hash or size mismatch)
mbdt_apt_loop() {
    local dir=$1 stop=$2 out rc
    shift 2
    while [ ! -e "$stop" ]; do
        rc=0
        out=$(mbdt_apt "$dir" "$@" update 2>&1) || rc=$?
        if [ "$rc" -ne 0 ] || grep -qE '^(W|E): |Hash Sum mismatch|unexpected size|Failed to fetch' <<<"$out"; then
            printf 'FAIL %s\n%s\n' "$rc" "$out" >>"$dir.failures"
            echo fail >>"$dir.runs"
        else
            echo ok >>"$dir.runs"
        fi
    done
}

mbdt_apt() {
    local dir=$1
    shift
    APT_CONFIG="$dir/etc/apt/apt.conf" "${MBDT_APT_TOOL:-apt-get}" -q -o Dir="$dir" -o Dir::State::status="$dir/var/lib/dpkg/status" -o Debug::NoLocking=1 \
        -o Dir::Etc::Trusted=/dev/null -o Dir::Etc::TrustedParts=/nonexistent -o APT::Sandbox::User=root \
        -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o Acquire::Languages=none \
        -o DPkg::Options::=--root="$dir" -o DPkg::Options::=--admindir="$dir/var/lib/dpkg" \
        -o DPkg::Options::=--force-not-root -o DPkg::Options::=--force-bad-path \
        -o DPkg::Options::=--log="$dir/var/log/dpkg.log" -o DPkg::Use-Pty=false \
        -o APT::Get::Assume-Yes=true "$@"
}
