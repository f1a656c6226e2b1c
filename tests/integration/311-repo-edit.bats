#!/usr/bin/env bats
# A configuration that can change (issue 20): sources, distributions, layouts and
# repositories are edited and removed after they are made; an edit flags what depends on
# it changed ('*') until it is prepared or checked again, and uploads wait for that.

load ../helpers
load ../lib/debian
load ../lib/repo
load ../lib/pipeline

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

setup() {
    mbd_setup
    mbdt_repo_home
    # uploads: the test's key may upload to 'test' through dput's local method
    local fpr
    fpr=$(gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    gpg --batch --armor --export "$fpr" >"$BATS_TEST_TMPDIR/uploader.asc"
    mbd-keygen uploader add "$BATS_TEST_TMPDIR/uploader.asc" --repo test >/dev/null
    mbd-repo dput-conf >"$BATS_TEST_TMPDIR/dput.cf"
    export MBDT_DPUT_HOST
    MBDT_DPUT_HOST=$(sed -n 's/^\[\(.*\)\]$/\1/p' "$BATS_TEST_TMPDIR/dput.cf" | head -n 1)
}

mirror() {
    mbd-repo --show-config | sed -n 's/^mirror *= \([^ ]*\).*/\1/p'
}

# repository test's check flag and status
repo_state() {
    mbd-repo repository show test --json | jq -r '.status.status + " " + .status.check_flag'
}

# Upload tiny VERSION to DIST; mbd-incoming must accept it (no CODE) or reject it with CODE and REASON.
upload() {
    local version=$1 dist=$2 code=${3:-} reason=${4:-} changes dir
    changes=$(mbdt_source_package "$MBDT_PKG" tiny "$version" "$dist" --arch-all) || return 1
    mbdt_dput "$changes" || return 1
    if [ -z "$code" ]; then
        run_mbd mbd-incoming run
        assert_output_contains "accepted 1"
        return
    fi
    run_mbd 7 mbd-incoming run
    assert_output_contains "rejected 1"
    dir=$(ls -td "$MBD_HOME"/var/rejected/*/ | head -n 1)
    grep -qF "Code: $code " "$dir/REASON" || { cat "$dir/REASON" >&2; return 1; }
    grep -qF -- "$reason" "$dir/REASON" || { cat "$dir/REASON" >&2; return 1; }
}

release_field() { sed -n "s/^$2: //p" "$MBD_HOME/repositories/test/dists/$1/Release"; }

@test "an architecture added to a distribution is published by prepare; uploads wait for it; removed again" {
    run_mbd mbd-repo dist set bookworm --add-arch i386 --lintian-mode ignore
    assert_output_contains "changed: architectures: amd64 -> amd64 i386"
    assert_output_contains "changed: lintian mode: errfail -> ignore"
    assert_stderr_contains "mbd-repo repository prepare test"
    assert_stderr_contains "no chroot bookworm/i386"
    assert_equal "$(repo_state)" "active changed"
    mbd-repo repository ls | grep -q '^test  *active \*'
    mbd-repo repository show test --json | jq -e '.changes | contains("distribution bookworm: architectures")'
    # not published yet, and no upload is taken until it is
    assert_equal "$(release_field bookworm-test-unstable Architectures)" "amd64"
    upload 1.0~test12+1 bookworm-test-unstable 7 "repository 'test' was changed (distribution bookworm: architectures"
    run_mbd mbd-repo repository prepare test
    assert_equal "$(repo_state)" "active unchecked"
    assert_equal "$(mbd-repo repository show test --json | jq -r .changes)" ""
    assert_equal "$(release_field bookworm-test-unstable Architectures)" "amd64 i386"
    [ -f "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/binary-i386/Packages.xz" ]
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check test
    # builds for both now, with the new lintian mode
    upload 1.0~test12+2 bookworm-test-unstable
    run_mbd mbd-incoming uploads --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[-1].builds | map(.architecture) | sort | join(",")')" "amd64,i386"
    grep -q '^Lintian-Mode: ignore$' "$MBD_HOME"/var/spool/waiting/*/*.mbd-request
    # and away again: nothing of i386 is held, so it may go
    run_mbd mbd-repo dist set bookworm --remove-arch i386
    run_mbd mbd-repo repository prepare test
    assert_equal "$(release_field bookworm-test-unstable Architectures)" "amd64"
    refute_grep 'binary-i386' "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check test
    # the same edit twice changes nothing the second time
    run_mbd mbd-repo dist set bookworm --lintian-mode ignore
    assert_output_contains "nothing changed"
}

@test "dist set and dist remove refuse what would break the archive; a refused edit changes nothing" {
    run_mbd mbd-repo dist set bookworm --add-arch i386
    run_mbd mbd-repo repository prepare test
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable --arch i386 --no-all
    mbdt_install world 1.0-1~test12+1 bookworm-test-unstable
    before=$(mbd-repo dist show bookworm --json)
    run_mbd 5 mbd-repo dist set bookworm --remove-arch i386 --lintian-mode ignore
    assert_stderr_contains "cannot lose architecture 'i386': its repositories hold 1 binaries of it"
    run_mbd 2 mbd-repo dist set bookworm --remove-arch amd64
    assert_stderr_contains "'amd64' builds Architecture: all in 'bookworm' (choose another with --arch-all first)"
    run_mbd 5 mbd-repo dist set bookworm --component contrib
    assert_stderr_contains "cannot lose component 'main': its repositories hold 2 sources in it"
    run_mbd 4 mbd-repo dist set bookworm --extra nosuch:100
    assert_stderr_contains "no source 'nosuch'"
    run_mbd 4 mbd-repo dist set bookworm --remove-extra nosuch
    run_mbd 2 mbd-repo dist set bookworm --lintian-mode sometimes
    run_mbd 2 mbd-repo dist set bookworm --extra debian-bookworm
    assert_stderr_contains "is the base source already"
    assert_equal "$(mbd-repo dist show bookworm --json)" "$before"
    assert_equal "$(repo_state)" "active unchecked"
    run_mbd 5 mbd-repo dist remove bookworm
    assert_stderr_contains "served by repository 'test' (mbd-repo repository set test --remove-dist bookworm first)"
    run_mbd 4 mbd-repo dist set nosuch --add-arch i386
    # an extra source with its priority, changed, removed; a component added
    run_mbd mbd-repo source add debian-trixie --codename trixie --uri "$(mirror)" --key "$KEYRING"
    run_mbd mbd-repo dist set bookworm --extra debian-trixie:100 --component main,contrib
    assert_output_contains "changed: extra sources:  -> debian-trixie:100"
    assert_output_contains "changed: components: main -> main contrib"
    run_mbd mbd-repo dist set bookworm --extra debian-trixie:200
    assert_output_contains "changed: extra sources: debian-trixie:100 -> debian-trixie:200"
    run_mbd 5 mbd-repo source remove debian-trixie
    run_mbd mbd-repo dist set bookworm --remove-extra debian-trixie
    run_mbd mbd-repo source remove debian-trixie
    run_mbd mbd-repo repository prepare test
    [ -f "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/contrib/binary-amd64/Packages.xz" ]
    mbdt_assert_release_ok bookworm-test-unstable
    # a distribution nothing serves goes
    run_mbd mbd-repo source add debian-trixie --codename trixie --uri "$(mirror)" --key "$KEYRING"
    run_mbd mbd-repo dist add trixie --source debian-trixie --arch amd64
    run_mbd mbd-repo dist remove trixie
    run_mbd 4 mbd-repo dist show trixie
}

@test "trixie added to a repository holding bookworm packages; bookworm untouched; a codename removed retires after its grace" {
    printf 'site.enabled = true\n' >>"$MBD_HOME/etc/mbd.conf"
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    dist="$MBD_HOME/repositories/test/dists/bookworm-test-unstable"
    packages=$(sha256sum <"$dist/main/binary-amd64/Packages.xz")
    inrelease=$(sha256sum <"$dist/InRelease")
    run_mbd mbd-repo source add debian-trixie --codename trixie --uri "$(mirror)" --key "$KEYRING"
    run_mbd mbd-repo dist add trixie --source debian-trixie --arch amd64 --indices xz,by-hash
    run_mbd mbd-repo dist show trixie --json
    assert_equal "$(jq -r .indices <<<"$output")" "xz by-hash"
    run_mbd mbd-repo repository set test --add-dist trixie --prepare
    assert_output_contains "changed: codename trixie added"
    # trixie's own index set; bookworm keeps Debian's
    grep -q ' main/binary-amd64/Packages.xz$' "$MBD_HOME/repositories/test/dists/trixie-test-unstable/Release"
    refute_grep '\.gz$' "$MBD_HOME/repositories/test/dists/trixie-test-unstable/Release"
    refute_grep 'Contents-' "$MBD_HOME/repositories/test/dists/trixie-test-unstable/Release"
    grep -q ' main/Contents-amd64.gz$' "$dist/Release"
    assert_equal "$(repo_state)" "active unchecked"
    assert_equal "$(find "$MBD_HOME/repositories/test/dists" -maxdepth 1 -name 'trixie-test-*' | wc -l)" 46
    # bookworm's files are the same files (not even signed again)
    assert_equal "$(sha256sum <"$dist/main/binary-amd64/Packages.xz")" "$packages"
    assert_equal "$(sha256sum <"$dist/InRelease")" "$inrelease"
    mbdt_install hello 1.0-1~test13+1 trixie-test-unstable
    mbdt_assert_release_ok trixie-test-unstable
    run_mbd mbd-repo check test
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable trixie-test-unstable
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install -s hello=1.0-1~test12+1
    assert_output_contains "Inst hello (1.0-1~test12+1 "
    mbdt_apt_ok "$apt" install -s hello=1.0-1~test13+1
    assert_output_contains "Inst hello (1.0-1~test13+1 "
    run_mbd 5 mbd-repo repository set test --add-dist trixie
    assert_stderr_contains "serves 'trixie' already"

    # bookworm removed: it holds packages, so it stays published (refusing uploads) for its grace
    run_mbd mbd-repo -o publish.retire_grace=30 repository set test --remove-dist bookworm --prepare
    assert_output_contains "changed: codename bookworm removed"
    mbd-repo repository show test --json | jq -e '.distributions[] | select(.codename == "bookworm") | .retire_after'
    [ -f "$dist/InRelease" ]
    upload 1.0~test12+1 bookworm-test-unstable 7 "repository 'test' no longer serves 'bookworm'"
    run_mbd 11 mbd-repo repository set test --remove-dist trixie
    assert_stderr_contains "'trixie' is the last codename repository 'test' serves"
    # kept again before the grace is over, then removed again
    run_mbd mbd-repo repository set test --add-dist bookworm --prepare
    assert_output_contains "changed: codename bookworm kept again"
    # (a grace of a few seconds: a loaded machine takes one between two commands)
    run_mbd mbd-repo -o publish.retire_grace=4 repository set test --remove-dist bookworm --prepare
    run_mbd mbd-repo maintain
    [ -f "$dist/InRelease" ]
    sleep 5
    run_mbd mbd-repo -o publish.pool_grace=0 maintain
    assert_output_contains "bookworm-test-unstable retired"
    [ ! -e "$dist" ]
    assert_equal "$(find "$MBD_HOME/repositories/test/dists" -maxdepth 1 -name 'bookworm-*' | wc -l)" 0
    run_mbd mbd-repo repository show test --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.distributions[].codename] | join(",")')" trixie
    # its pool files went with it; trixie's stayed
    refute_grep '~test12' <(find "$MBD_HOME/repositories/test/pool" -type f)
    find "$MBD_HOME/repositories/test/pool" -type f -name '*~test13+1*' | grep -q .
    run_mbd mbd-repo check test
    # the status site lost bookworm's pages with it, and kept trixie's
    assert_equal "$(find "$MBD_HOME/site/repository/test" -name 'bookworm-*' | wc -l)" 0
    [ -f "$MBD_HOME/site/repository/test/trixie-test-unstable.html" ]
    # a client of trixie alone sees nothing change; one of bookworm now fails, as it should
    mbdt_repo_apt "$BATS_TEST_TMPDIR/apt-trixie" trixie-test-unstable
    mbdt_apt_ok "$BATS_TEST_TMPDIR/apt-trixie" update
    run ! mbdt_apt_ok "$apt" update
}

@test "source set: URLs in order past a dead one, keys, fields; the changed flag round trip; an inactive source refuses uploads" {
    src=debian-bookworm
    run_mbd mbd-repo source set "$src" --uri http://127.0.0.1:9/debian --uri "$(mirror)" --identifier Label=Debian
    assert_output_contains "changed: uris: $(mirror) -> http://127.0.0.1:9/debian $(mirror)"
    assert_output_contains "changed: identifiers: '' -> Label=Debian"
    assert_stderr_contains "mbd-repo source check $src"
    assert_equal "$(mbd-repo source show "$src" --json | jq -r .status.check_flag)" changed
    upload 1.0~test12+1 bookworm-test-unstable 7 "source '$src' was changed and not checked since"
    # the check reads the second URL, and says so
    run_mbd mbd-repo source check "$src"
    assert_output_contains "checked at:    $(mirror)"
    assert_equal "$(mbd-repo source show "$src" --json | jq -r '.status.check_flag + " " + .uri_used')" "none $(mirror)"
    # checked but not active: deactivated, as far as uploads go
    upload 1.0~test12+1 bookworm-test-unstable 7 "source '$src' is inactive: it was deactivated"
    run_mbd mbd-repo source activate "$src"
    upload 1.0~test12+1 bookworm-test-unstable

    # keys replaced by a key that does not sign the Release: changed, then failed and out of service
    (
        export GNUPGHOME="$BATS_TEST_TMPDIR/other"
        mkdir -m 700 "$GNUPGHOME"
        gpg --batch --quiet --passphrase '' --quick-gen-key "Nobody <nobody@example.org>" ed25519 sign never
        gpg --batch --export --armor >"$BATS_TEST_TMPDIR/nobody.asc"
        gpgconf --homedir "$GNUPGHOME" --kill all
    )
    run_mbd 7 mbd-repo source set "$src" --key /dev/null
    assert_stderr_contains "no usable OpenPGP public key"
    assert_equal "$(mbd-repo source show "$src" --json | jq -r .status.check_flag)" none
    run_mbd mbd-repo source set "$src" --key "$BATS_TEST_TMPDIR/nobody.asc"
    assert_output_contains "changed: keys:"
    run_mbd 8 mbd-repo source check "$src"
    run_mbd mbd-repo source show "$src" --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.status + " " + .status.check_flag')" "prepared failed-reactivate"
    printf '%s' "$output" | jq -e '.check_message | contains("signed by unknown key")'
    upload 1.0~test12+2 bookworm-test-unstable 7 "source '$src' is inactive: its last check failed:"
    # the right keys again: the next passing check puts it back into service by itself
    run_mbd mbd-repo source set "$src" --key "$KEYRING"
    run_mbd mbd-repo source check "$src"
    assert_equal "$(mbd-repo source show "$src" --json | jq -r '.status.status + " " + .status.check_flag')" "active none"
    upload 1.0~test12+2 bookworm-test-unstable

    # an extra source's builds read the URL its check found answering, not a dead first one
    run_mbd mbd-repo source add debian-trixie --codename trixie --uri http://127.0.0.1:9/debian --uri "$(mirror)" \
        --key "$KEYRING"
    run_mbd mbd-repo source check debian-trixie
    run_mbd mbd-repo source activate debian-trixie
    run_mbd mbd-repo dist set bookworm --extra debian-trixie:100
    run_mbd mbd-repo repository prepare test
    upload 1.0~test12+3 bookworm-test-unstable
    req=$(grep -l 'Version: 1.0~test12+3' "$MBD_HOME"/var/spool/waiting/*/*.mbd-request)
    grep -qF "deb $(mirror) trixie main" "$req"
    refute_grep '127.0.0.1:9' "$req"
    # field edits are validated
    run_mbd 2 mbd-repo source set debian-trixie --uri not-a-url
    run_mbd 4 mbd-repo source set nosuch --origin X
}

@test "layout remove and remove-suite: custom layouts no repository uses" {
    run_mbd 11 mbd-repo layout remove Default
    run_mbd 11 mbd-repo layout remove-suite Default stable
    run_mbd mbd-repo layout add small --from Default
    run_mbd 5 mbd-repo layout remove-suite small stable
    assert_stderr_contains "migrates to 'stable'"
    run_mbd mbd-repo layout remove-suite small snapshot
    run_mbd mbd-repo layout show small --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.suites[].name] | join(",")')" "stable,hotfix,testing,unstable,experimental"
    run_mbd 4 mbd-repo layout remove-suite small nosuch
    run_mbd mbd-repo layout remove small
    run_mbd 4 mbd-repo layout show small
}

@test "setup with two codenames adds each one's updates, security and backports only where the mirror serves them" {
    export MBD_HOME="$BATS_TEST_TMPDIR/fresh"
    mkdir -p "$MBD_HOME"
    run_mbd mbd-repo setup two --codename bookworm --codename bullseye --arch amd64 --no-chroot --email mbd@example.org
    said=$output
    # shellcheck disable=SC2154 # (run_mbd sets stderr)
    log=$stderr
    m=$(mirror)
    # the oracle: apt's own downloader asks the mirror for each candidate's InRelease
    for codename in bookworm bullseye; do
        for suffix in updates security backports; do
            url=$m
            [ "$suffix" = security ] && url=${m%/}-security
            name=debian-$codename-$suffix
            if /usr/lib/apt/apt-helper -oAPT::Sandbox::User=root download-file \
                "$url/dists/$codename-$suffix/InRelease" "$BATS_TEST_TMPDIR/InRelease" >/dev/null 2>&1; then
                assert_equal "$(mbd-repo source show "$name" --json | jq -r .status.status)" active
                mbd-repo dist show "$codename" --json | jq -e --arg n "$name" '.extra_sources | map(.source) | index($n)' >/dev/null
            else
                run_mbd 4 mbd-repo source show "$name"
                grep -qF "source '$name': cannot download" <<<"$said"
                grep -qF "skipped source '$name'" <<<"$log"
            fi
        done
    done
    # bullseye's backports left deb.debian.org for archive.debian.org: skipped, and said so
    run_mbd 4 mbd-repo source show debian-bullseye-backports
    run_mbd mbd-repo repository show two --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.distributions[].codename] | join(",")')" bookworm,bullseye
    run_mbd mbd-repo check two
    # setup again keeps it; a codename it does not serve is what repository set adds
    run_mbd mbd-repo setup two --codename bookworm --arch amd64 --no-chroot
    run_mbd 5 mbd-repo setup two --codename trixie --arch amd64 --no-chroot
    assert_stderr_contains "mbd-repo repository set two --add-dist trixie"
}
