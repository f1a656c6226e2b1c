#!/usr/bin/env bats
# Install real packages and publish them; the real apt-get, gpgv and apt-ftparchive
# judge the result.

load ../helpers
load ../lib/debian
load ../lib/repo

# Stanzas of a Packages/Sources file as sorted "Package Version|Field|value" lines
# (continuation lines joined with \n), so two files can be compared modulo order.
normalize() {
    awk '
        function flush() { if (field != "") { lines[n++] = field "|" value; f[field] = value }; field = "" }
        function out(  i) {
            flush()
            for (i = 0; i < n; i++) print f["Package"] " " f["Version"] " " f["Architecture"] "|" lines[i]
            n = 0; delete f
        }
        /^$/ { out(); next }
        /^[ \t]/ { value = value "\\n" $0; next }
        { flush(); field = substr($0, 1, index($0, ":") - 1); value = substr($0, index($0, ":") + 2) }
        END { out() }' "$1" | sort
}

@test "a source and its binaries install, publish, and apt-get update, install and source them" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable --files 2
    assert_stderr_contains "installed hello 1.0-1~test12+1 into bookworm-test-unstable"
    mbdt_assert_release_ok bookworm-test-unstable
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello hello-doc
    [ "$("$apt/usr/bin/hello" | head -1)" = "hello 1.0-1~test12+1" ] || grep -q "hello 1.0-1~test12+1" "$apt/usr/share/hello/data"
    [ -f "$apt/usr/share/hello/file2" ]
    grep -q '^Status: install ok installed' "$apt/var/lib/dpkg/status"
    (cd "$BATS_TEST_TMPDIR" && mbdt_apt_ok "$apt" source hello)
    [ -f "$BATS_TEST_TMPDIR/hello_1.0-1~test12+1.dsc" ]
    [ -f "$BATS_TEST_TMPDIR/hello-1.0/debian/data" ]
    run_mbd mbd-repo check
}

@test "every distribution verifies with gpgv; Release lists every index with by-hash copies" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    n=0
    for d in "$MBD_HOME"/repositories/test/dists/*; do
        mbdt_assert_release_ok "$(basename "$d")"
        n=$((n + 1))
    done
    assert_equal "$n" 46 # 6 suites and 40 rollback distributions of the Default layout
    rel="$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    for f in main/binary-amd64/Packages main/source/Sources main/Contents-amd64 \
        main/debian-installer/binary-amd64/Packages; do
        for ext in "" .gz .xz; do
            grep -q " $f$ext$" "$rel"
        done
    done
    grep -q '^Acquire-By-Hash: yes$' "$rel"
    grep -q '^Codename: bookworm-test-unstable$' "$rel"
    grep -q '^Label: test$' "$rel"
    refute_grep '^NotAutomatic' "$rel"
    # experimental suites are NotAutomatic; snapshot also ButAutomaticUpgrades
    exp="$MBD_HOME/repositories/test/dists/bookworm-test-experimental/Release"
    grep -q '^NotAutomatic: yes$' "$exp"
    refute_grep '^ButAutomaticUpgrades' "$exp"
    grep -q '^ButAutomaticUpgrades: yes$' "$MBD_HOME/repositories/test/dists/bookworm-test-snapshot/Release"
    # the Date is not in the future
    date=$(sed -n 's/^Date: //p' "$rel")
    [ "$(date -d "$date" +%s)" -le "$(date +%s)" ]
}

@test "Packages and Sources stanzas agree with apt-ftparchive on the same files" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable --files 1
    mbdt_install other 2.0~test12+1 bookworm-test-unstable --section utils
    cd "$MBD_HOME/repositories/test"
    apt-ftparchive packages pool/ >"$BATS_TEST_TMPDIR/ftp.Packages" 2>/dev/null
    apt-ftparchive sources pool/ >"$BATS_TEST_TMPDIR/ftp.Sources" 2>/dev/null
    normalize "$(index_file dists/bookworm-test-unstable/main/binary-amd64/Packages)" >"$BATS_TEST_TMPDIR/ours.p"
    normalize "$BATS_TEST_TMPDIR/ftp.Packages" >"$BATS_TEST_TMPDIR/theirs.p"
    diff "$BATS_TEST_TMPDIR/theirs.p" "$BATS_TEST_TMPDIR/ours.p"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/ours.p")" -gt 20 ]
    # Sources: ours adds Priority and Section (from the .changes, as dak does); the rest is equal
    normalize "$(index_file dists/bookworm-test-unstable/main/source/Sources)" | grep -vE '\|(Priority|Section)\|' >"$BATS_TEST_TMPDIR/ours.s"
    normalize "$BATS_TEST_TMPDIR/ftp.Sources" >"$BATS_TEST_TMPDIR/theirs.s"
    diff "$BATS_TEST_TMPDIR/theirs.s" "$BATS_TEST_TMPDIR/ours.s"
    grep -q '|Directory|pool/main/h/hello$' "$BATS_TEST_TMPDIR/ours.s"
    # Contents lists every file of the binaries (no directories), qualified by section
    zcat dists/bookworm-test-unstable/main/Contents-amd64.gz >"$BATS_TEST_TMPDIR/contents"
    grep -qE '^usr/bin/hello +misc/hello$' "$BATS_TEST_TMPDIR/contents"
    grep -qE '^usr/share/doc/other-doc/README +utils/other-doc$' "$BATS_TEST_TMPDIR/contents"
    refute_grep -E '^usr/share/doc +' "$BATS_TEST_TMPDIR/contents"
    # Debian's set: no uncompressed file, but Release lists its size and checksums, those of
    # the text both compressed forms decompress to
    for f in main/binary-amd64/Packages main/source/Sources main/Contents-amd64; do
        [ ! -e "dists/bookworm-test-unstable/$f" ]
        cmp <(xz -dc "dists/bookworm-test-unstable/$f.xz") <(zcat "dists/bookworm-test-unstable/$f.gz")
        sum=$(xz -dc "dists/bookworm-test-unstable/$f.xz" | sha256sum | cut -d' ' -f1)
        size=$(xz -dc "dists/bookworm-test-unstable/$f.xz" | wc -c)
        grep -Eq "^ $sum +$size $f\$" dists/bookworm-test-unstable/Release
    done
}

@test "a publish with nothing changed writes nothing; --rebuild gives the same indices" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    dists="$MBD_HOME/repositories/test/dists"
    before=$(find "$dists" -printf '%p %s %T@ %i\n' | sort | sha256sum)
    run_mbd mbd-repo publish test
    assert_equal "$output" ""
    after=$(find "$dists" -printf '%p %s %T@ %i\n' | sort | sha256sum)
    assert_equal "$after" "$before"
    hashes() { grep -h '^ ' "$dists"/bookworm-test-unstable/Release | sort; }
    old=$(hashes)
    run_mbd mbd-repo publish test --rebuild --dist bookworm-test-unstable
    assert_equal "$output" "bookworm-test-unstable"
    assert_equal "$(hashes)" "$old"
    mbdt_assert_release_ok bookworm-test-unstable
}

@test "sources-list lines work with apt as printed" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    run_mbd mbd-repo sources-list test --suite unstable --one-line --signed-by "$MBDT_KEY"
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 2
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_apt_sandbox "$apt" "$MBDT_KEY"
    printf '%s\n' "$output" >"$apt/etc/apt/sources.list"
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello
    run_mbd mbd-repo sources-list test --suite unstable --deb822 --signed-by "$MBDT_KEY"
    : >"$apt/etc/apt/sources.list"
    printf '%s\n' "$output" >"$apt/etc/apt/sources.list.d/test.sources"
    mbdt_apt_ok "$apt" update
    MBDT_APT_TOOL=apt-cache run mbdt_apt "$apt" policy hello
    [[ "$output" == *"file:$MBD_HOME/repositories/test bookworm-test-unstable/main amd64 Packages"* ]]
}

@test "sources-list --install writes the key and the .sources file apt then uses" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_apt_sandbox "$apt" "$MBDT_KEY"
    run_mbd 4 mbd-repo sources-list test --install --root "$apt"
    assert_stderr_contains "no directory '$apt/etc/apt/keyrings'"
    mkdir "$apt/etc/apt/keyrings"
    run_mbd 2 mbd-repo sources-list test --install --root relative/dir
    run_mbd 4 mbd-repo sources-list test --suite nothere --install --root "$apt"
    assert_equal "$(find "$apt/etc/apt/keyrings" "$apt/etc/apt/sources.list.d" -type f)" ""
    run_mbd mbd-repo sources-list test --suite unstable --install --root "$apt"
    identity=$(mbd-repo --show-config | sed -nE 's/^identity += ([^ ]+) .*/\1/p')
    assert_equal "$output" "$apt/etc/apt/keyrings/mbd-$identity.asc
$apt/etc/apt/sources.list.d/mbd-$identity-test.sources"
    grep -qx "Signed-By: $apt/etc/apt/keyrings/mbd-$identity.asc" "$apt/etc/apt/sources.list.d/mbd-$identity-test.sources"
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello
}

@test "a source upload and its build results install together, or not at all" {
    src=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable --source-only)
    bin=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable --binary-only)
    mbdt_sign_changes "$src"
    mbdt_sign_changes "$bin"
    cp "$MBDT_PKG/hello-doc_1.0-1~test12+1_all.deb" "$BATS_TEST_TMPDIR/saved.deb"
    echo broken >"$MBDT_PKG/hello-doc_1.0-1~test12+1_all.deb"
    run_mbd 7 mbd-repo install "$src" "$bin"
    run_mbd mbd-repo ls test
    assert_equal "$output" ""
    [ ! -e "$MBD_HOME/repositories/test/pool/main/h/hello/hello_1.0-1~test12+1.dsc" ]
    cp "$BATS_TEST_TMPDIR/saved.deb" "$MBDT_PKG/hello-doc_1.0-1~test12+1_all.deb"
    run_mbd mbd-repo install "$src" "$bin"
    run_mbd mbd-repo show hello --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].binaries | join(" ")')" \
        "hello_1.0-1~test12+1_amd64 hello-doc_1.0-1~test12+1_all"
    run sqlite3 "$MBD_HOME/config.sqlite" "SELECT COUNT(*) FROM events WHERE type = 'INSTALLED'"
    assert_equal "$output" 1
    run_mbd mbd-repo check test
}

@test "install --each imports many uploads with one publish" {
    changes=()
    for n in one two three four five; do
        changes+=("$(mbdt_build_package "$MBDT_PKG" "$n" 1.0~test12+1 --dist bookworm-test-unstable --no-all)")
    done
    # one on the command line, two from a list file, two from standard input
    printf '%s\n' "${changes[1]}" "" "${changes[2]}" >"$BATS_TEST_TMPDIR/list"
    run_mbd mbd-repo install --each "${changes[0]}" --from "$BATS_TEST_TMPDIR/list" --no-publish
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 3
    run_mbd mbd-repo install --each --from - <<<"$(printf '%s\n' "${changes[3]}" "${changes[4]}")"
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 2
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr (run_mbd)
    assert_equal "$(printf '%s\n' "$stderr" | grep -c 'published')" 1
    assert_equal "$(grep -c '^Package: ' "$(index_file "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/binary-amd64/Packages")")" 5
    run_mbd mbd-repo check test
    run_mbd 2 mbd-repo install --each --from /dev/null
    assert_stderr_contains "no .changes given"
    run_mbd 4 mbd-repo install --each --from "$BATS_TEST_TMPDIR/no-such-list"
}

@test "install --each over several batches: a source back in the next batch is checked against its own; a bad upload stops the rest" {
    # 650 uploads (bench/gen-packages: a source with an amd64 and an all package each):
    # batches of 500, one going into the pool while the next is checked
    gen="$BATS_TEST_TMPDIR/gen"
    "$MBDT_SOURCE_DIR/bench/gen-packages" "$gen" 1300 --dist bookworm-test-unstable --version 1.0~test12+1 --extra 0 >/dev/null
    "$MBDT_SOURCE_DIR/bench/gen-packages" "$BATS_TEST_TMPDIR/old" 2 --dist bookworm-test-unstable --version 1.0~test12+0 --extra 0 >/dev/null
    cp "$BATS_TEST_TMPDIR"/old/pkgs/* "$gen/pkgs/"
    mapfile -t changes <"$gen/changes"
    cd "$gen/pkgs"
    # p000000 again, at an older version, right after the first batch: refused, as the
    # first batch holds a newer one
    printf '%s\n' "${changes[@]:0:510}" "$(cat "$BATS_TEST_TMPDIR/old/changes")" "${changes[@]:510}" >"$BATS_TEST_TMPDIR/list"
    run_mbd 7 mbd-repo install --each --link --from "$BATS_TEST_TMPDIR/list"
    assert_stderr_contains "p000000"
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 510
    dists="$MBD_HOME/repositories/test/dists/bookworm-test-unstable"
    assert_equal "$(grep -c '^Package: ' "$(index_file "$dists/main/binary-amd64/Packages")")" 1020
    run_mbd mbd-repo check test
    # the rest, p000600's .deb damaged: those before it go in
    printf 'damaged' >>"$gen/pkgs/p000600_1.0~test12+1_amd64.deb"
    printf '%s\n' "${changes[@]:510}" >"$BATS_TEST_TMPDIR/rest"
    run_mbd 7 mbd-repo install --each --link --from "$BATS_TEST_TMPDIR/rest"
    assert_stderr_contains "p000600"
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 90
    run_mbd mbd-repo ls --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.[] | select(.distribution == "bookworm-test-unstable")] | length')" 600
    assert_equal "$(printf '%s' "$output" | jq -r '.[] | select(.source == "p000000" and .distribution == "bookworm-test-unstable") | .version')" 1.0~test12+1
    assert_equal "$(grep -c '^Package: ' "$(index_file "$dists/main/binary-amd64/Packages")")" 1200
    [ -z "$(find "$MBD_HOME/repositories/test/pool" -name 'p0006[0-9][0-9]*')" ]
    run_mbd mbd-repo check test
}

@test "a bulk install past what a publish reads of the journal marks the distribution: no more additions journaled, built in full, as a rebuild builds it" {
    gen="$BATS_TEST_TMPDIR/gen"
    "$MBDT_SOURCE_DIR/bench/gen-packages" "$gen" 60 --dist bookworm-test-unstable --version 1.0~test12+1 --extra 0 >/dev/null
    cd "$gen/pkgs"
    head -n 5 "$gen/changes" >"$BATS_TEST_TMPDIR/first"
    tail -n +6 "$gen/changes" >"$BATS_TEST_TMPDIR/rest"
    run_mbd mbd-repo install --each --link --from "$BATS_TEST_TMPDIR/first"
    db="$MBD_HOME/config.sqlite"
    dist_id=$(sqlite3 "$db" "SELECT id FROM dists WHERE name = 'bookworm-test-unstable'")
    journal() { sqlite3 "$db" "SELECT COUNT(*) FROM dist_journal WHERE dist_id = $dist_id AND $1"; }
    # 25 uploads of a source and 2 binaries each, a publish reading 20 rows: 6 uploads are
    # journaled (18 rows), the 7th marks the distribution, the rest are not journaled
    run_mbd mbd-repo -o publish.journal_rows=20 install --each --link --no-publish --from "$BATS_TEST_TMPDIR/rest"
    assert_equal "$(journal 'source_id = 0')" 1
    assert_equal "$(journal 'source_id <> 0')" 18
    run_mbd 12 mbd-repo check test
    assert_stderr_contains "not published"
    run --separate-stderr mbd-repo --log publish -o publish.journal_rows=20 publish test
    assert_equal "$status" 0
    assert_stderr_contains "bookworm-test-unstable: marked by a bulk install: built in full"
    assert_equal "$(journal '1')" 0
    dists="$MBD_HOME/repositories/test/dists/bookworm-test-unstable"
    assert_equal "$(grep -c '^Package: ' "$(index_file "$dists/main/binary-amd64/Packages")")" 60
    assert_equal "$(grep -c '^Package: ' "$(index_file "$dists/main/source/Sources")")" 30
    run_mbd mbd-repo check test
    indices=("$dists/main/binary-amd64/Packages.xz" "$dists/main/source/Sources.xz")
    before=$(sha256sum "${indices[@]}" | cut -d' ' -f1)
    run_mbd mbd-repo publish --rebuild test
    assert_equal "$(sha256sum "${indices[@]}" | cut -d' ' -f1)" "$before"
    # one more install, alone: journaled again, no mark
    one=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable)
    mbdt_sign_changes "$one"
    run_mbd mbd-repo -o publish.journal_rows=20 install --no-publish "$one"
    assert_equal "$(journal 'source_id = 0')" 0
    [ "$(journal 'source_id <> 0')" -gt 0 ]
    run_mbd 3 mbd-repo -o publish.journal_rows=-1 publish test
    assert_stderr_contains "'publish.journal_rows' must be between 0 and 100000000, not -1"
    run_mbd 3 mbd-repo -o publish.journal_rows=-1 install --each --from "$BATS_TEST_TMPDIR/first"
    run_mbd mbd-repo publish test
    run_mbd mbd-repo check test
}

@test "superseded by-hash files stay for the grace period; Valid-Until when configured" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    bh="$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main/binary-amd64/by-hash/SHA256"
    old=$(sha256sum <"$bh/../../Packages.xz" | cut -d' ' -f1)
    mbdt_install hello 1.0-2~test12+1 bookworm-test-unstable
    [ -f "$bh/$old" ]
    run_mbd mbd-repo -o publish.byhash_grace=0 -o publish.valid_until=86400 publish test
    assert_output_contains "bookworm-test-unstable"
    rel="$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    until=$(sed -n 's/^Valid-Until: //p' "$rel")
    [ -n "$until" ]
    [ "$(date -d "$until" +%s)" -gt "$(date -d "+23 hours" +%s)" ]
    # the first publish with the new setting rewrote every Release; the old Packages is gone now
    mbdt_install other 1.0~test12+1 bookworm-test-unstable --no-all
    run_mbd mbd-repo -o publish.byhash_grace=0 -o publish.valid_until=86400 publish test --rebuild --dist bookworm-test-unstable
    [ ! -e "$bh/$old" ]
    assert_equal "$(ls "$bh" | wc -l)" 2 # Packages.gz, .xz (Debian's set writes no uncompressed file)
    run_mbd mbd-repo -o publish.valid_until=86400 check test
    # without the setting, the next publish drops Valid-Until again
    run_mbd mbd-repo publish test
    refute_grep '^Valid-Until' "$rel"
}

@test "udebs go to debian-installer/binary-ARCH/Packages; search finds sources and binaries" {
    mbdt_install inst 1.0~test12+1 bookworm-test-unstable --udeb
    dists="$MBD_HOME/repositories/test/dists/bookworm-test-unstable/main"
    grep -q '^Package: inst-udeb$' "$(index_file "$dists/debian-installer/binary-amd64/Packages")"
    grep -q '^Filename: pool/main/i/inst/inst-udeb_1.0~test12+1_amd64.udeb$' "$(index_file "$dists/debian-installer/binary-amd64/Packages")"
    refute_grep '^Package: inst-udeb$' "$(index_file "$dists/binary-amd64/Packages")"
    refute_grep 'lib/inst/data' "$(index_file "$dists/Contents-amd64")"
    mbdt_assert_release_ok bookworm-test-unstable
    mbdt_install other 1.0~test12+1 bookworm-test-unstable --no-all
    run_mbd mbd-repo search 'inst-u*' --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[].source')" inst
    run_mbd mbd-repo search 'o*'
    assert_output_contains "other"
    run_mbd mbd-repo search 'nothing*'
    assert_equal "$output" ""
    run_mbd mbd-repo ls test --dist bookworm-test-unstable --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.[].source] | join(" ")')" "inst other"
}

@test "index sets: a distribution writes and lists only the forms it names, apt reads it, and back again" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    d="$MBD_HOME/repositories/test/dists/bookworm-test-unstable"
    rel="$d/Release"
    run_mbd 2 mbd-repo dist set bookworm --indices gz,bz2
    assert_stderr_contains "invalid index form 'bz2'"
    run_mbd mbd-repo dist set bookworm --indices gz
    assert_output_contains "indices: default -> gz"
    # Taking effect needs no new package: the next publish writes the set.
    run_mbd mbd-repo publish test
    assert_output_contains bookworm-test-unstable
    grep -q ' main/binary-amd64/Packages.gz$' "$rel"
    grep -q ' main/source/Sources$' "$rel"
    [ ! -e "$d/main/source/Sources" ]
    refute_grep '\.xz$' "$rel"
    refute_grep 'Contents-' "$rel"
    refute_grep '^Acquire-By-Hash' "$rel"
    # What is published no more is gone (its by-hash copies wait for their grace period).
    [ ! -e "$d/main/binary-amd64/Packages.xz" ]
    [ ! -e "$d/main/Contents-amd64" ]
    [ ! -e "$d/main/Contents-amd64.gz" ]
    [ -e "$d/main/binary-amd64/Packages.gz" ]
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check
    # Built on from a .gz-only state (an incremental publish), and read by apt.
    mbdt_install hello 1.1-1~test12+1 bookworm-test-unstable
    gunzip -c "$d/main/binary-amd64/Packages.gz" | grep -q '^Version: 1.1-1~test12+1$'
    # No distribution publishes Contents: the package's paths were not read (its data member).
    assert_equal "$(sqlite3 "$MBD_HOME/config.sqlite" \
        "SELECT DISTINCT contents_read || ':' || contents FROM binary_packages WHERE version = '1.1-1~test12+1'")" "0:"
    run_mbd mbd-repo snapshot create bookworm-test-unstable gz-only
    run_mbd mbd-repo check
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable bookworm-test-unstable@gz-only
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello
    grep -q "hello 1.1-1~test12+1" "$apt/usr/share/hello/data"
    # The uncompressed files as a form of their own: written, then built on from them.
    run_mbd mbd-repo dist set bookworm --indices uncompressed,gz
    assert_output_contains "indices: gz -> uncompressed gz"
    run_mbd mbd-repo publish test
    cmp "$d/main/binary-amd64/Packages" <(zcat "$d/main/binary-amd64/Packages.gz")
    mbdt_install other 1.0~test12+1 bookworm-test-unstable --no-all
    grep -q '^Package: other$' "$d/main/binary-amd64/Packages"
    cmp "$d/main/binary-amd64/Packages" <(zcat "$d/main/binary-amd64/Packages.gz")
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check
    # A publish killed after recording that it no longer writes the uncompressed files,
    # before removing them, leaves them behind: check says so; the next publish removes them.
    run_mbd mbd-repo dist set bookworm --indices gz
    run env MBD_FAULT=publish.recorded:1 mbd-repo publish test
    assert_equal "$status" 137
    [ -e "$d/main/binary-amd64/Packages" ]
    run_mbd 12 mbd-repo check test
    assert_stderr_contains "'main/binary-amd64/Packages' is there, but the distribution does not publish it"
    run_mbd mbd-repo publish --rebuild test
    [ ! -e "$d/main/binary-amd64/Packages" ]
    [ ! -e "$d/main/source/Sources" ]
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check test
    # A set apt could read nothing of is refused.
    run_mbd 2 mbd-repo dist set bookworm --indices contents,by-hash
    assert_stderr_contains "has no file apt can read: it needs one of uncompressed, gz, xz"
    # The configuration default, for a distribution without a set of its own.
    run_mbd mbd-repo dist set bookworm --indices default
    run_mbd mbd-repo -o publish.indices=xz publish test
    grep -q ' main/binary-amd64/Packages.xz$' "$rel"
    refute_grep '\.gz$' "$rel"
    [ ! -e "$d/main/binary-amd64/Packages.gz" ]
    [ ! -e "$d/main/binary-amd64/Packages" ]
    run_mbd 3 mbd-repo -o publish.indices=zip publish test
    assert_stderr_contains "publish.indices: invalid index form 'zip'"
    # Debian's set again, every form built from the current content.
    run_mbd mbd-repo publish test
    for f in main/binary-amd64/Packages main/source/Sources main/Contents-amd64; do
        for ext in "" .gz .xz; do
            grep -q " $f$ext$" "$rel"
        done
    done
    grep -q '^Acquire-By-Hash: yes$' "$rel"
    xz -dc "$d/main/binary-amd64/Packages.xz" | grep -q '^Version: 1.1-1~test12+1$'
    # ... and Contents lists the paths of the package installed without them: read now.
    gunzip -c "$d/main/Contents-amd64.gz" | grep -Eq '^usr/share/hello/data +[a-z]+/hello$'
    assert_equal "$(sqlite3 "$MBD_HOME/config.sqlite" \
        "SELECT DISTINCT contents_read FROM binary_packages WHERE version = '1.1-1~test12+1'")" 1
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check
    mbdt_apt_ok "$apt" update
}

@test "a previous index file damaged in place: the next publish says so and builds that index in full" {
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    d="$MBD_HOME/repositories/test/dists/bookworm-test-unstable"
    # Debian's set: no uncompressed file; an update takes the text it copies from the .gz
    [ ! -e "$d/main/binary-amd64/Packages" ]
    f="$d/main/binary-amd64/Packages.gz" # (and its by-hash copies: one file)
    python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0xff
open(sys.argv[1], "r+b").write(b)' "$f"
    upload=$(mbdt_build_package "$MBDT_PKG" other 1.0~test12+1 --dist bookworm-test-unstable --no-all)
    mbdt_sign_changes "$upload"
    run --separate-stderr mbd-repo install "$upload" # (a warning: run_mbd refuses one)
    assert_equal "$status" 0
    assert_stderr_contains "Packages: chunk 0 of the previous .gz: corrupt gzip data: built in full"
    gunzip -c "$d/main/binary-amd64/Packages.gz" | grep -q '^Package: other$'
    gunzip -c "$d/main/binary-amd64/Packages.gz" | grep -q '^Package: hello$'
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check test
}

@test "Contents off: a data member is not read at install; turned on, one that cannot be read is warned of and has no Contents line" {
    run_mbd mbd-repo dist set bookworm --indices gz
    run_mbd mbd-repo publish test
    upload=$(mbdt_build_package "$MBDT_PKG" hello 1.0-1~test12+1 --dist bookworm-test-unstable)
    # The amd64 package's data member replaced by bytes no decompressor reads, the .changes
    # told its new size and checksums (the uploader signs them).
    deb=$(dirname "$upload")/hello_1.0-1~test12+1_amd64.deb
    old_size=$(stat -c %s "$deb") old_md5=$(md5sum <"$deb" | cut -d' ' -f1)
    old_sha1=$(sha1sum <"$deb" | cut -d' ' -f1) old_sha256=$(sha256sum <"$deb" | cut -d' ' -f1)
    work="$BATS_TEST_TMPDIR/ar" && mkdir -p "$work"
    (cd "$work" && ar x "$deb")
    data=$(cd "$work" && ls data.tar.*)
    control=$(cd "$work" && ls control.tar.*)
    head -c 4096 /dev/urandom >"$work/$data"
    rm "$deb" && (cd "$work" && ar rc "$deb" debian-binary "$control" "$data")
    new_size=$(stat -c %s "$deb")
    sed -i -e "s/$old_md5 $old_size /$(md5sum <"$deb" | cut -d' ' -f1) $new_size /" \
        -e "s/$old_sha1 $old_size /$(sha1sum <"$deb" | cut -d' ' -f1) $new_size /" \
        -e "s/$old_sha256 $old_size /$(sha256sum <"$deb" | cut -d' ' -f1) $new_size /" "$upload"
    mbdt_sign_changes "$upload"
    run_mbd mbd-repo install "$upload"
    assert_equal "$(sqlite3 "$MBD_HOME/config.sqlite" \
        "SELECT contents_read FROM binary_packages WHERE name = 'hello' AND architecture = 'amd64'")" 0
    # Contents on again: the publish reads the paths it lacks, warns of the one it cannot.
    run_mbd mbd-repo dist set bookworm --indices default
    run --separate-stderr mbd-repo publish test # (a warning: run_mbd refuses one)
    assert_equal "$status" 0
    assert_stderr_contains "W: pool/main/h/hello/hello_1.0-1~test12+1_amd64.deb: its paths cannot be read, it has no Contents line"
    d="$MBD_HOME/repositories/test/dists/bookworm-test-unstable"
    gunzip -c "$d/main/Contents-amd64.gz" >"$BATS_TEST_TMPDIR/contents"
    refute_grep ' [a-z]*/hello$' "$BATS_TEST_TMPDIR/contents"
    assert_equal "$(sqlite3 "$MBD_HOME/config.sqlite" \
        "SELECT contents_read FROM binary_packages WHERE name = 'hello' AND architecture = 'amd64'")" 1
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check
}

@test "a database from before 'uncompressed' was a form: a set of its own keeps the uncompressed files, the default drops them" {
    d="$MBD_HOME/repositories/test/dists/bookworm-test-unstable"
    # as the last mbd left it: the default set, which wrote the uncompressed files
    run_mbd mbd-repo dist set bookworm --indices uncompressed,gz,xz,contents,by-hash
    mbdt_install hello 1.0-1~test12+1 bookworm-test-unstable
    [ -e "$d/main/binary-amd64/Packages" ]
    raw=$(sha256sum <"$d/main/binary-amd64/Packages" | cut -d' ' -f1)
    [ -e "$d/main/binary-amd64/by-hash/SHA256/$raw" ]
    sqlite3 "$MBD_HOME/config.sqlite" "UPDATE distributions SET indices = NULL;
        UPDATE published_dists SET indices = 'gz xz contents by-hash';
        UPDATE schema_version SET version = version - 1 WHERE domain = 'repo'"
    # upgraded: the default is Debian's set, without them; Release lists them all the same
    run_mbd mbd-repo publish test
    assert_output_contains bookworm-test-unstable
    [ ! -e "$d/main/binary-amd64/Packages" ]
    [ ! -e "$d/main/source/Sources" ]
    grep -q " $raw .* main/binary-amd64/Packages\$" "$d/Release"
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check
    # its by-hash copies go after their grace, though Release still names the hash; a
    # compressed file Release names keeps its by-hash copy, even while the file is lost
    xz_hash=$(sha256sum "$d/main/source/Sources.xz" | cut -d' ' -f1)
    mv "$d/main/source/Sources.xz" "$BATS_TEST_TMPDIR/Sources.xz"
    run_mbd mbd-repo -o publish.byhash_grace=0 maintain
    [ ! -e "$d/main/binary-amd64/by-hash/SHA256/$raw" ]
    [ -e "$d/main/binary-amd64/Packages.xz" ]
    [ -e "$d/main/source/by-hash/SHA256/$xz_hash" ]
    mv "$BATS_TEST_TMPDIR/Sources.xz" "$d/main/source/Sources.xz"
    mbdt_assert_release_ok bookworm-test-unstable
    # a set of its own from then ('gz': the uncompressed files and .gz) gets the word
    sqlite3 "$MBD_HOME/config.sqlite" "UPDATE distributions SET indices = 'gz';
        UPDATE schema_version SET version = version - 1 WHERE domain = 'repo'"
    run_mbd mbd-repo dist show bookworm --json
    assert_equal "$(jq -r .indices <<<"$output")" "uncompressed gz"
    run_mbd mbd-repo publish test
    cmp "$d/main/binary-amd64/Packages" <(zcat "$d/main/binary-amd64/Packages.gz")
    [ ! -e "$d/main/binary-amd64/Packages.xz" ]
    mbdt_assert_release_ok bookworm-test-unstable
    run_mbd mbd-repo check
    apt="$BATS_TEST_TMPDIR/apt"
    mbdt_repo_apt "$apt" bookworm-test-unstable
    mbdt_apt_ok "$apt" update
    mbdt_apt_ok "$apt" install hello
}
