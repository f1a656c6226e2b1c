#!/usr/bin/env bats
# mbd-repo import: an archive made by the real reprepro (its own key; mini-buildd-style
# distribution names with a rollback, and a plain one mapped with --map) taken into a
# repository: Packages and Sources stanzas the same as reprepro's (name, version,
# architecture, checksums), the rollback filled, apt installs, check passes; a second run
# adds only what is new; new uploads go on top; one published by the real aptly; over
# http (nginx) too; a bad file, a wrong key and an index naming a path out of the archive
# are reported and skipped.
#
# shellcheck disable=SC2030,SC2031 # OLD is set per test (each in its own subshell), on purpose

load ../helpers
load ../lib/debian
load ../lib/repo
load ../lib/nginx

teardown() {
    stop_nginx
    stop_gpg_agent "$BATS_TEST_TMPDIR/old/gnupg" "$BATS_TEST_TMPDIR/old-gnupg" "$BATS_TEST_TMPDIR/other-gnupg"
    mbd_teardown
}

OLD="" # the archive a test imports (reprepro's --outdir, or aptly's public/)

# old_archive: a reprepro archive signed by its own key ($BATS_TEST_TMPDIR/old/key.asc) with
# bookworm-old-unstable (hello 1.1-1, other 2.0), bookworm-old-unstable-rollback0
# (hello 1.0-1) and legacy (hello 0.9-1), published in $OLD.
old_archive() {
    OLD="$BATS_TEST_TMPDIR/old/archive"
    mbdt_reprepro "$BATS_TEST_TMPDIR/old" bookworm-old-unstable bookworm-old-unstable-rollback0 legacy
    cp "$BATS_TEST_TMPDIR/old/key.asc" "$BATS_TEST_TMPDIR/old.asc"
    old_include bookworm-old-unstable-rollback0 hello 1.0-1
    old_include bookworm-old-unstable hello 1.1-1
    old_include bookworm-old-unstable other 2.0 --no-all
    old_include legacy hello 0.9-1
}

old_include() { mbdt_reprepro_include "$BATS_TEST_TMPDIR/old" "$@"; }

# stanzas INDEX: "Package Version Architecture SHA256" per Packages stanza ("Package Version
# Architecture dsc-SHA256" per Sources stanza), sorted; INDEX as it is, or its .gz or .xz
stanzas() {
    local f
    for f in "$1" "$1.gz" "$1.xz"; do
        [ -f "$f" ] && break
    done
    /usr/lib/apt/apt-helper cat-file "$f" | awk '/^Package:/ {p = $2} /^Version:/ {v = $2} /^Architecture:/ {a = $2} /^SHA256:/ {s = $2}
         /^Checksums-Sha256:/ {c = 1; next} c && /^ / {if ($3 ~ /\.dsc$/) s = $1; next} {c = 0}
         /^$/ {if (p != "") print p, v, a, s; p = v = a = s = ""}
         END {if (p != "") print p, v, a, s}' | sort
}

# same_stanzas THEIRS OURS: their Packages and Sources of main against ours
same_stanzas() {
    local f
    for f in main/binary-amd64/Packages main/source/Sources; do
        diff <(stanzas "$OLD/dists/$1/$f") <(stanzas "$MBD_HOME/repositories/test/dists/$2/$f") ||
            { echo "$f of $1 and $2 differ" >&2; return 1; }
    done
}

@test "a reprepro archive goes in: same stanzas, rollback filled, apt installs, check passes; a second run adds only what is new" {
    old_archive
    run_mbd mbd-repo import "$OLD" --repository test --keyring "$BATS_TEST_TMPDIR/old.asc" \
        --map legacy=bookworm-test-stable
    assert_output_contains "bookworm-old-unstable, bookworm-old-unstable-rollback0 -> bookworm-test-unstable: 3 installed"
    assert_output_contains "legacy -> bookworm-test-stable: 1 installed"
    same_stanzas bookworm-old-unstable bookworm-test-unstable
    same_stanzas bookworm-old-unstable-rollback0 bookworm-test-unstable-rollback0
    same_stanzas legacy bookworm-test-stable
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check test
    assert_output_contains "test: ok ("
    # the pool files are reprepro's, byte for byte
    cmp "$OLD/pool/main/h/hello/hello_1.1-1_amd64.deb" "$MBD_HOME/repositories/test/pool/main/h/hello/hello_1.1-1_amd64.deb"
    # the real apt
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello other
    grep -qx "hello 1.1-1" "$apt/usr/share/hello/data"

    # a second run: nothing new, nothing done
    events=$(sqlite3 "$MBD_HOME/config.sqlite" "SELECT count(*) FROM events")
    run_mbd mbd-repo import "$OLD" --repository test --keyring "$BATS_TEST_TMPDIR/old.asc" \
        --map legacy=bookworm-test-stable --json
    assert_equal "$(jq -c '[.dists[] | [.to, .counts]]' <<<"$output")" \
        '[["bookworm-test-stable",{"held":1}],["bookworm-test-unstable",{"held":3}]]'
    assert_equal "$(sqlite3 "$MBD_HOME/config.sqlite" "SELECT count(*) FROM events")" "$events"
    # a new version there: only it comes, and shifts the rollbacks as an upload would
    old_include bookworm-old-unstable hello 1.2-1
    run_mbd mbd-repo import "$OLD" --repository test --keyring "$BATS_TEST_TMPDIR/old.asc" \
        --dist bookworm-old-unstable --json
    assert_equal "$(jq -c '.dists[0].counts' <<<"$output")" '{"held":1,"installed":1}'
    run_mbd mbd-repo show hello --repository test
    assert_output_contains "bookworm-test-unstable"
    run_mbd mbd-repo ls test --dist bookworm-test-unstable-rollback0 --json
    assert_equal "$(jq -r '.[] | select(.source == "hello") | .version' <<<"$output")" 1.1-1
    run_mbd mbd-repo ls test --dist bookworm-test-unstable-rollback1 --json
    assert_equal "$(jq -r '.[] | select(.source == "hello") | .version' <<<"$output")" 1.0-1
    # uploads go on top, under the version rule
    mbdt_install hello 1.3-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo ls test --dist bookworm-test-unstable-rollback0 --json
    assert_equal "$(jq -r '.[] | select(.source == "hello") | .version' <<<"$output")" 1.2-1
    run_mbd mbd-repo check test
}

@test "an archive published by aptly goes in: the same stanzas as aptly's, apt installs" {
    local gnupg="$BATS_TEST_TMPDIR/old-gnupg" fpr conf="$BATS_TEST_TMPDIR/aptly.conf" pkg="$BATS_TEST_TMPDIR/old/pkg"
    install -d -m 700 "$gnupg"
    mkdir -p "$pkg"
    GNUPGHOME=$gnupg gpg --batch --quiet --passphrase '' --quick-gen-key "Old Archive <old@example.org>" ed25519 sign never
    fpr=$(GNUPGHOME=$gnupg gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    GNUPGHOME=$gnupg gpg --batch --armor --export "$fpr" >"$BATS_TEST_TMPDIR/old.asc"
    mbdt_build_package "$pkg" hello 1.0-1 >/dev/null
    mbdt_build_package "$pkg" other 2.0 --no-all >/dev/null
    printf '{"rootDir": "%s", "architectures": ["amd64"], "gpgProvider": "gpg"}\n' "$BATS_TEST_TMPDIR/aptly" >"$conf"
    GNUPGHOME=$gnupg aptly -config="$conf" repo create -distribution=bookworm-old-unstable -component=main old >/dev/null
    GNUPGHOME=$gnupg aptly -config="$conf" repo add old "$pkg" >/dev/null
    GNUPGHOME=$gnupg aptly -config="$conf" publish repo -architectures=amd64,source -gpg-key="$fpr" -batch old >/dev/null
    OLD="$BATS_TEST_TMPDIR/aptly/public"
    run_mbd mbd-repo import "$OLD" --repository test --keyring "$BATS_TEST_TMPDIR/old.asc"
    assert_output_contains "bookworm-old-unstable -> bookworm-test-unstable: 2 installed"
    same_stanzas bookworm-old-unstable bookworm-test-unstable
    run_mbd mbd-repo check test
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello other
}

@test "over http: the archive served by nginx, named distributions only; an unmapped one is reported" {
    old_archive
    mkdir -p "$BATS_TEST_TMPDIR/www/repositories"
    ln -s "$OLD" "$BATS_TEST_TMPDIR/www/repositories/old"
    start_nginx "$BATS_TEST_TMPDIR/www"
    run_mbd 12 mbd-repo import "$NGINX_URL/repositories/old" --repository test \
        --keyring "$BATS_TEST_TMPDIR/old.asc" --dist bookworm-old-unstable --dist legacy
    assert_output_contains "bookworm-old-unstable -> bookworm-test-unstable: 2 installed"
    assert_output_contains "legacy -> (not mapped): nothing"
    assert_output_contains "FAILED legacy: no suite of 'test' matches; name one with --map legacy=DIST"
    assert_stderr_contains "1 part(s) failed"
    same_stanzas bookworm-old-unstable bookworm-test-unstable
    # a URL lists no directory: it needs the names
    run_mbd 4 mbd-repo import "$NGINX_URL/repositories/old" --repository test --keyring "$BATS_TEST_TMPDIR/old.asc"
    assert_stderr_contains "no distribution to import"
}

@test "a damaged file, a wrong key, an index naming a path out of the archive: reported and skipped, the rest goes in" {
    old_archive
    # a .deb changed in place (same size): that source version fails, the others go in
    deb="$OLD/pool/main/o/other/other_2.0_amd64.deb"
    printf 'X' | dd of="$deb" bs=1 seek=100 conv=notrunc status=none
    run_mbd 12 mbd-repo import "$OLD" --repository test --keyring "$BATS_TEST_TMPDIR/old.asc" \
        --dist bookworm-old-unstable --dist bookworm-old-unstable-rollback0
    assert_output_contains "-> bookworm-test-unstable: 1 failed, 2 installed"
    assert_output_contains "FAILED other 2.0: 'other_2.0_amd64.deb' does not match its SHA256 in the archive's index"
    run_mbd mbd-repo ls test --dist bookworm-test-unstable --json
    assert_equal "$(jq -r '[.[].source] | join(" ")' <<<"$output")" hello
    run_mbd mbd-repo check test

    # another key: nothing of that distribution is trusted
    install -d -m 700 "$BATS_TEST_TMPDIR/other-gnupg"
    GNUPGHOME="$BATS_TEST_TMPDIR/other-gnupg" gpg --batch --quiet --passphrase '' --quick-gen-key "Other <o@example.org>" \
        ed25519 sign never
    GNUPGHOME="$BATS_TEST_TMPDIR/other-gnupg" gpg --batch --armor --export >"$BATS_TEST_TMPDIR/other.asc"
    run_mbd 12 mbd-repo import "$OLD" --repository test --keyring "$BATS_TEST_TMPDIR/other.asc" \
        --map legacy=bookworm-test-stable --dist legacy
    assert_output_contains "FAILED legacy: dists/legacy/InRelease:"
    run_mbd mbd-repo ls test --dist bookworm-test-stable --json
    assert_equal "$output" "[]"

    # an index (signed by the archive's key) naming ../ paths: refused before anything is read
    evil="$BATS_TEST_TMPDIR/evil"
    mkdir -p "$evil/dists/bookworm-x-unstable/main/binary-amd64" "$evil/dists/bookworm-x-unstable/main/source"
    printf '%s\n' "Package: passwd" "Version: 1" "Architecture: amd64" "Filename: pool/../../../../etc/passwd" \
        "Size: $(stat -c %s /etc/passwd)" "SHA256: $(sha256sum </etc/passwd | cut -d' ' -f1)" "" \
        >"$evil/dists/bookworm-x-unstable/main/binary-amd64/Packages"
    : >"$evil/dists/bookworm-x-unstable/main/source/Sources"
    (cd "$evil/dists/bookworm-x-unstable" &&
        apt-ftparchive -o APT::FTPArchive::Release::Components=main release . >Release &&
        GNUPGHOME="$BATS_TEST_TMPDIR/old/gnupg" gpg --batch --yes --clearsign -o InRelease Release)
    run_mbd 12 mbd-repo import "$evil" --repository test --keyring "$BATS_TEST_TMPDIR/old.asc"
    assert_output_contains "FAILED passwd 1 (amd64): Filename: 'pool/../../../../etc/passwd' has an empty, '.' or '..' segment"
    run_mbd mbd-repo ls test --dist bookworm-test-unstable --json
    assert_equal "$(jq -r '[.[].source] | join(" ")' <<<"$output")" hello
}

@test "import's error paths: no keyring, unknown repository, not an archive, bad --map" {
    run_mbd 2 mbd-repo import "$BATS_TEST_TMPDIR" --repository test
    run_mbd 4 mbd-repo import "$BATS_TEST_TMPDIR" --repository nosuch --keyring "$MBDT_KEY"
    run_mbd 4 mbd-repo import "$BATS_TEST_TMPDIR/nothing" --repository test --keyring "$MBDT_KEY"
    assert_stderr_contains "is not an archive"
    run_mbd 2 mbd-repo import "$BATS_TEST_TMPDIR" --repository test --keyring "$MBDT_KEY" --map legacy
    run_mbd 2 mbd-repo import "$BATS_TEST_TMPDIR" --repository test --keyring "$MBDT_KEY" --map ../x=bookworm-test-unstable
    run_mbd 4 mbd-repo import "$BATS_TEST_TMPDIR" --repository test --keyring "$BATS_TEST_TMPDIR/none.asc"
}
