#!/usr/bin/env bats
# The configuration model: sources, layouts, distributions, repositories and their
# status actions; what users paste (sources lists, dput.cf); the pipeline's look-ups.

load ../helpers

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

add_source_and_dist() {
    run_mbd mbd-repo source add debian-bookworm --codename bookworm --uri http://deb.debian.org/debian --key "$KEYRING"
    run_mbd mbd-repo dist add bookworm --source debian-bookworm --arch amd64,i386 --arch-all amd64
}

@test "sources: add, list, show as JSON, refuse bad input and duplicates, remove when unused" {
    run_mbd mbd-repo source add debian-bookworm --codename bookworm --uri http://deb.debian.org/debian \
        --key "$KEYRING" --identifier Label=Debian
    assert_output_contains "status:        prepared -"
    run_mbd mbd-repo source ls --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].name')" debian-bookworm
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].suite')" bookworm
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].codeversion')" 12
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].identifiers.Label')" Debian
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].status.check_flag')" unchecked
    # its keys are in a key ring of its own, not the instance's
    [ -d "$MBD_HOME/gnupg/sources/debian-bookworm" ]
    run gpg --homedir "$MBD_HOME/gnupg/sources/debian-bookworm" --with-colons --list-keys
    printf '%s\n' "$output" | grep -q '^pub:'
    run_mbd 5 mbd-repo source add debian-bookworm --codename bookworm --uri http://x/ --key "$KEYRING"
    run_mbd 2 mbd-repo source add 'Bad Name' --codename bookworm --uri http://x/ --key "$KEYRING"
    run_mbd 2 mbd-repo source add other --codename bookworm --uri not-a-url --key "$KEYRING"
    # several archive URLs, kept in order (source check and the chroots made from it try the next
    # when one fails)
    run_mbd mbd-repo source add several --codename bookworm --uri http://x/ --uri http://y/ --key "$KEYRING"
    assert_output_contains "uris:          http://x/ http://y/"
    run_mbd 2 mbd-repo source add other --codename bookworm --uri http://x/ --uri not-a-url --key "$KEYRING"
    echo "no key here" >"$BATS_TEST_TMPDIR/empty.asc"
    run_mbd 7 mbd-repo source add other --codename bookworm --uri http://x/ --key "$BATS_TEST_TMPDIR/empty.asc"
    assert_stderr_contains "no usable OpenPGP public key"
    run_mbd 4 mbd-repo source show nothere
    run_mbd 13 mbd-repo source activate debian-bookworm
    assert_stderr_contains "it is not checked (run check first)"
    run_mbd mbd-repo dist add bookworm --source debian-bookworm --arch amd64
    run_mbd 5 mbd-repo source remove debian-bookworm
    assert_stderr_contains "used by distribution 'bookworm'"
}

@test "layouts: the two built-in ones, custom copies, and their rules" {
    run_mbd mbd-repo layout ls --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.[].name] | join(",")')" "Debian Developer,Default"
    run_mbd mbd-repo layout show Default --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.suites[].name] | join(" ")')" \
        "stable hotfix testing unstable snapshot experimental"
    assert_equal "$(printf '%s' "$output" | jq -r '.suites[] | select(.name == "unstable") | "\(.uploadable) \(.migrates_to) \(.rollbacks)"')" "true testing 9"
    assert_equal "$(printf '%s' "$output" | jq -r '.suites[] | select(.name == "snapshot") | "\(.experimental) \(.not_automatic) \(.but_automatic_upgrades)"')" "true true true"
    assert_equal "$(printf '%s' "$output" | jq -r '.version_rule')" '~%ID%%CODEVERSION%\+[1-9]'
    run_mbd mbd-repo layout show "Debian Developer" --json
    assert_equal "$(printf '%s' "$output" | jq -r '.version_rule')" null
    assert_equal "$(printf '%s' "$output" | jq -r '.meta.unstable')" sid-unstable
    run_mbd 11 mbd-repo layout suite Default unstable --rollbacks 2
    run_mbd mbd-repo layout add mine --from Default
    run_mbd mbd-repo layout suite mine unstable --uploadable --migrates-to testing --rollbacks 2
    run_mbd mbd-repo layout suite mine extra --uploadable
    run_mbd mbd-repo layout show mine --json
    assert_equal "$(printf '%s' "$output" | jq -r '.suites[] | select(.name == "unstable") | .rollbacks')" 2
    assert_equal "$(printf '%s' "$output" | jq -r '.suites[-1].name')" extra
    run_mbd 2 mbd-repo layout suite mine bad-name
    run_mbd 2 mbd-repo layout suite mine x --migrates-to nowhere
    run_mbd 2 mbd-repo layout rules mine --version-rule '('
    run_mbd mbd-repo layout rules mine --version-rule '' --meta 'devel=bookworm-unstable'
    run_mbd mbd-repo layout show mine --json
    assert_equal "$(printf '%s' "$output" | jq -r '.version_rule')" null
    run_mbd 5 mbd-repo layout add mine
}

@test "distributions: architectures, the one building all, extra sources with priorities, build options" {
    add_source_and_dist
    run_mbd mbd-repo source add debian-bookworm-backports --codename bookworm-backports \
        --uri http://deb.debian.org/debian --key "$KEYRING"
    run_mbd mbd-repo dist add trixie --source debian-bookworm --extra debian-bookworm-backports:100 \
        --arch amd64 --lintian-mode errfail --deb-build-options nocheck --component main,contrib --resolver aspcud
    run_mbd mbd-repo dist show trixie --json
    assert_equal "$(printf '%s' "$output" | jq -r '.extra_sources[0] | "\(.source) \(.priority)"')" "debian-bookworm-backports 100"
    assert_equal "$(printf '%s' "$output" | jq -r '.build_options.lintian_mode')" errfail
    assert_equal "$(printf '%s' "$output" | jq -r '.build_options.deb_build_options')" nocheck
    assert_equal "$(printf '%s' "$output" | jq -r '.build_options.resolver')" aspcud
    assert_equal "$(printf '%s' "$output" | jq -r '.components | join(" ")')" "main contrib"
    assert_equal "$(printf '%s' "$output" | jq -r '.arch_all')" amd64
    run_mbd 2 mbd-repo dist add sid --source debian-bookworm --arch amd64 --arch-all i386
    assert_stderr_contains "the architecture building 'all' ('i386') is not one of amd64"
    run_mbd 2 mbd-repo dist add sid --source debian-bookworm --arch amd64 --lintian-mode sometimes
    run_mbd 2 mbd-repo dist add sid --source debian-bookworm --arch amd64 --resolver xapt
    assert_stderr_contains "invalid resolver 'xapt' (apt, aptitude or aspcud)"
    run_mbd 2 mbd-repo dist add 'sid-x' --source debian-bookworm --arch amd64
    run_mbd 4 mbd-repo dist add sid --source nothere --arch amd64
    run_mbd 5 mbd-repo dist add bookworm --source debian-bookworm --arch amd64
    run_mbd mbd-repo dist ls --json
    assert_equal "$(printf '%s' "$output" | jq -r '[.[].codename] | join(" ")')" "bookworm trixie"
}

@test "repositories: create publishes every distribution; status actions follow the seed" {
    add_source_and_dist
    run_mbd 4 mbd-repo create test --dist bookworm
    assert_stderr_contains "run 'mbd-keygen init'"
    run_mbd mbd-keygen init --algo ed25519
    run_mbd 2 mbd-repo create Bad --dist bookworm
    run_mbd 2 mbd-repo create test --dist bookworm:s390x
    run_mbd 2 mbd-repo create test --dist bookworm:i386
    assert_stderr_contains "must include 'amd64', the architecture that builds 'all'"
    run_mbd 4 mbd-repo create test --dist bookworm --layout nothere
    run_mbd mbd-repo create test --dist bookworm:amd64 --origin "Example Org"
    assert_output_contains "prepared -"
    run_mbd 5 mbd-repo create test --dist bookworm
    run_mbd mbd-repo repository show test --json
    assert_equal "$(printf '%s' "$output" | jq -r '.published | length')" 46
    assert_equal "$(printf '%s' "$output" | jq -r '.distributions[0].architectures | join(" ")')" amd64
    grep -q '^Origin: Example Org$' "$MBD_HOME/repositories/test/dists/bookworm-test-hotfix-rollback3/Release"
    grep -q '^Architectures: amd64$' "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/Release"
    run_mbd 13 mbd-repo repository activate test
    run_mbd mbd-repo check test
    run_mbd mbd-repo repository activate test
    run_mbd mbd-repo repository ls --json
    assert_equal "$(printf '%s' "$output" | jq -r '.[0].status.status')" active
    run_mbd mbd-repo repository deactivate test
    assert_output_contains "prepared"
    run_mbd mbd-repo repository remove test
    [ ! -e "$MBD_HOME/repositories/test" ]
    run_mbd mbd-repo repository show test --json
    assert_equal "$(printf '%s' "$output" | jq -r '.status.status')" removed
    run_mbd mbd-repo repository prepare test
    [ -f "$MBD_HOME/repositories/test/dists/bookworm-test-unstable/InRelease" ]
}

@test "distribution names: CODENAME-ID-SUITE, rollbacks, and a layout's meta names" {
    add_source_and_dist
    run_mbd mbd-keygen init --algo ed25519
    run_mbd mbd-repo source add debian-sid --codename sid --uri http://deb.debian.org/debian --key "$KEYRING"
    run_mbd mbd-repo dist add sid --source debian-sid --arch amd64
    run_mbd mbd-repo create dev --layout "Debian Developer" --dist sid
    run_mbd mbd-repo repository show dev --json
    printf '%s' "$output" | jq -e '.published | index("sid-dev-unstable-rollback8")' >/dev/null
    run_mbd mbd-repo ls --dist sid-dev-unstable-rollback8
    run_mbd 4 mbd-repo ls --dist sid-dev-unstable-rollback9
    # 'unstable' means sid-dev-unstable, as long as only one repository could be meant
    run_mbd mbd-repo ls --dist unstable
    run_mbd mbd-repo create dev2 --layout "Debian Developer" --dist sid
    run_mbd 4 mbd-repo ls --dist unstable
    assert_stderr_contains "is ambiguous"
}

@test "sources-list and dput-conf print what users paste" {
    add_source_and_dist
    run_mbd mbd-keygen init --algo ed25519
    run_mbd mbd-repo create test --dist bookworm
    run_mbd mbd-repo sources-list test --one-line
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 12
    assert_output_contains "deb [signed-by=/etc/apt/keyrings/mbd-"
    assert_output_contains "file://$MBD_HOME/repositories/test bookworm-test-unstable main"
    run_mbd mbd-repo sources-list test
    assert_output_contains "Signed-By: /etc/apt/keyrings/mbd-"
    assert_equal "$(grep -c '^Suites: ' <<<"$output")" 6
    run_mbd 2 mbd-repo sources-list test --one-line --deb822
    run_mbd 2 mbd-repo sources-list test --install --signed-by /x.asc
    run_mbd mbd-repo -o publish.url=http://example.org/mbd/ sources-list test --one-line --suite unstable,testing --rollbacks --no-src
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 14
    assert_output_contains "http://example.org/mbd/test bookworm-test-unstable-rollback8 main"
    run_mbd mbd-repo sources-list test --suite unstable --deb822 --signed-by /usr/share/keyrings/x.asc
    assert_equal "$output" "Types: deb deb-src
URIs: file://$MBD_HOME/repositories/test
Suites: bookworm-test-unstable
Components: main
Signed-By: /usr/share/keyrings/x.asc"
    run_mbd 4 mbd-repo sources-list test --suite nothere
    run_mbd mbd-repo -o identity=box dput-conf
    assert_equal "$output" "[mbd-box]
method = local
incoming = $MBD_HOME/incoming
allow_unsigned_uploads = 0"
    # over ssh: dput's scp method through the gateway's /incoming (man mbd: PACKAGERS ON OTHER MACHINES)
    run_mbd mbd-repo -o identity=box dput-conf --host build.example.org --login upload
    assert_equal "$(grep -v '^#' <<<"$output")" "[mbd-box]
method = scp
fqdn = build.example.org
login = upload
incoming = /incoming
allow_unsigned_uploads = 0"
    run_mbd mbd-repo -o access.host=build.example.org -o access.port=2222 dput-conf --method sftp
    assert_output_contains "login = $(id -un)"
    assert_output_contains "ssh_config_options = Port=2222"
    assert_output_contains "method = sftp"
    assert_output_contains "sftp is dput-ng's"
    run_mbd 2 mbd-repo dput-conf --method scp
    run_mbd 2 mbd-repo dput-conf --host 'a b'
    run_mbd 2 mbd-repo dput-conf --method ftp --host x
}
