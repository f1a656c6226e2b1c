# Helpers for mbd-repo tests: a prepared instance (instance key + repository) made once
# per test file and copied into each test's MBD_HOME, and apt checks of what we publish.
#
#   mbdt_repo_template ID [setup args]   in setup_file: make the template (mbd-repo setup --no-check;
#                                         first mbdt_repo_template_before, if the test file defines it)
#   mbdt_repo_home                        in setup: copy the template into $MBD_HOME
#   mbdt_repo_apt DIR DIST...             an apt sandbox for these distributions of repository $MBDT_REPO
#   mbdt_install NAME VERSION DIST [build args]   build, sign and install a package
#   mbdt_assert_release_ok DIST           gpgv verifies InRelease and Release.gpg; every Release entry's
#                                         size and SHA256/SHA512 match its file and its by-hash copies
#   mbdt_apt_ok DIR apt-get-args...       apt-get succeeds without W:/E: lines
# The repository is $MBDT_REPO (default: test, the template's).
#
# Load with: load ../lib/repo (after ../helpers and ../lib/debian). Loading it sets the
# file's hooks: setup_file makes the template (repository 'test', Default layout, amd64),
# setup gives each test a copy; define them again after loading to do otherwise.
#
# shellcheck disable=SC2030,SC2031 # mbdt_repo_template sets MBD_HOME and GNUPGHOME in a subshell, on purpose

mbdt_repo_template() {
    local id=$1
    shift
    export MBDT_TEMPLATE="$BATS_FILE_TMPDIR/template"
    (
        BATS_TEST_TMPDIR="$MBDT_TEMPLATE" mbd_setup
        export MBD_HOME="$MBDT_TEMPLATE/home" GNUPGHOME="$MBDT_TEMPLATE/gnupg"
        mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
        mbd-keygen init --algo ed25519 >/dev/null
        # what a test file prepares before setup (a layout, say)
        if declare -F mbdt_repo_template_before >/dev/null; then mbdt_repo_template_before; fi
        mbd-repo setup "$id" --no-check --arch amd64 "$@" >/dev/null 2>"$MBDT_TEMPLATE/setup.log"
        mbd-keygen export --output "$MBDT_TEMPLATE/key.asc"
        mbdt_uploader_key >/dev/null
        stop_gpg_agent "$MBD_HOME/gnupg" "$GNUPGHOME"
    )
}

setup_file() {
    mbdt_repo_template test
}

teardown_file() {
    rm -rf "$MBDT_TEMPLATE"
}

setup() {
    mbd_setup
    mbdt_repo_home
}

mbdt_repo_home() {
    rm -rf "$MBD_HOME" "$GNUPGHOME"
    cp -a "$MBDT_TEMPLATE/home" "$MBD_HOME"
    cp -a "$MBDT_TEMPLATE/gnupg" "$GNUPGHOME"
    find "$MBD_HOME/gnupg" "$GNUPGHOME" -name 'S.*' -delete
    export MBDT_KEY="$MBDT_TEMPLATE/key.asc"
    export MBDT_PKG="$BATS_TEST_TMPDIR/pkg"
    mkdir -p "$MBDT_PKG"
}

mbdt_repo_apt() {
    local dir=$1 d lines=()
    shift
    for d in "$@"; do
        lines+=("deb file://$MBD_HOME/repositories/${MBDT_REPO:-test} $d main"
            "deb-src file://$MBD_HOME/repositories/${MBDT_REPO:-test} $d main")
    done
    mbdt_apt_sandbox "$dir" "$MBDT_KEY" "${lines[@]}"
}

mbdt_install() {
    local name=$1 version=$2 dist=$3 changes
    shift 3
    changes=$(mbdt_build_package "$MBDT_PKG" "$name" "$version" --dist "$dist" "$@") || return 1
    mbdt_sign_changes "$changes" || return 1
    run_mbd mbd-repo install "$changes"
}

mbdt_assert_release_ok() {
    local dir="$MBD_HOME/repositories/${MBDT_REPO:-test}/dists/$1" kr="$BATS_TEST_TMPDIR/kr.gpg"
    [ -f "$kr" ] || gpg --batch --yes --dearmor -o "$kr" "$MBDT_KEY"
    gpgv --keyring "$kr" "$dir/InRelease" 2>/dev/null || { echo "gpgv: InRelease of $1 does not verify" >&2; return 1; }
    gpgv --keyring "$kr" "$dir/Release.gpg" "$dir/Release" 2>/dev/null ||
        { echo "gpgv: Release.gpg of $1 does not verify" >&2; return 1; }
    # Every listed file as apt reads it: the file, or (an uncompressed index the index set
    # does not write, listed all the same) the text its .xz or .gz decompresses to.
    local view="$BATS_TEST_TMPDIR/release-view/$1" path
    rm -rf "$view"
    while read -r _ _ path; do
        [ -d "$view/${path%/*}" ] || mkdir -p "$view/${path%/*}"
        if [ -e "$dir/$path" ]; then
            ln -s "$dir/$path" "$view/$path"
        elif [[ $path == *.gz || $path == *.xz ]]; then
            echo "$1: '$path' is listed but missing" >&2
            return 1
        else
            index_text "$dir/$path" >"$view/$path" || { echo "$1: '$path' is listed, but not there" >&2; return 1; }
        fi
    done < <(sed -n '/^SHA256:/,/^[^ ]/p' "$dir/Release" | grep '^ ')
    local algo list
    for algo in SHA256 SHA512; do
        list=$(sed -n "/^$algo:/,/^[^ ]/p" "$dir/Release" | grep '^ ')
        [ -n "$list" ] || { echo "$1: Release has no $algo list" >&2; return 1; }
        # checksums of the files and of the by-hash copies of those written
        (cd "$view" && printf '%s\n' "$list" | awk '{print $1 "  " $3}' | "${algo,,}sum" --quiet --strict -c) ||
            { echo "$1: a file does not match its $algo in Release" >&2; return 1; }
        (cd "$dir" && printf '%s\n' "$list" | awk -v a="$algo" '{n = split($3, p, "/"); d = ""
                for (i = 1; i < n; i++) d = d p[i] "/"; print $1 "  " d "by-hash/" a "/" $1, $3}' |
            while read -r sum copy file; do [ ! -e "$file" ] || printf '%s  %s\n' "$sum" "$copy"; done |
            "${algo,,}sum" --quiet --strict -c) || { echo "$1: a by-hash/$algo copy is missing or differs" >&2; return 1; }
        # sizes
        diff <(printf '%s\n' "$list" | awk '{print $3, $2}' | sort) \
            <(cd "$view" && printf '%s\n' "$list" | awk '{print $3}' | xargs stat -L -c '%n %s' | sort) >&2 ||
            { echo "$1: sizes differ from Release" >&2; return 1; }
    done
}

# apt-get must succeed and print no warning or error.
# shellcheck disable=SC2154 # bats' run sets output and status
mbdt_apt_ok() {
    run mbdt_apt "$@"
    printf '%s\n' "$output" >>"$BATS_TEST_TMPDIR/commands.log"
    if [ "$status" -ne 0 ] || printf '%s\n' "$output" | grep -E '^(W|E): '; then
        printf 'apt-get %s failed (exit %s):\n%s\n' "$*" "$status" "$output" >&2
        return 1
    fi
}
