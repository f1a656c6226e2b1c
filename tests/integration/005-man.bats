#!/usr/bin/env bats
# The man pages made by the build: they lint clean, cover every command, option
# and exit code the tools define, and their examples use commands that exist.

load ../helpers

MAN_DIR="$MBDT_BUILD_DIR/man"
MBDT_FIXTURE="$MBDT_BUILD_DIR/tests/tools/mbd-cli-fixture"

# lint PAGE: groff and mandoc must not complain (mandoc's STYLE hints are not warnings).
lint() {
    local out
    out=$(groff -ww -man -Tutf8 -z "$1" 2>&1)
    [ -z "$out" ] || { printf 'groff -ww %s:\n%s\n' "$1" "$out" >&2; return 1; }
    out=$(mandoc -T lint -W warning "$1" 2>&1)
    [ -z "$out" ] || { printf 'mandoc -T lint %s:\n%s\n' "$1" "$out" >&2; return 1; }
}

# covers TOOL PAGE: the rendered page names every command path, option and exit code.
covers() {
    local tool=$1 text json path name
    text=$(MANWIDTH=200 man -l "$2" 2>/dev/null)
    json=$("$tool" --describe-cli)
    grep -qE "^ +$(basename "$tool") - " <<<"$text"
    while IFS= read -r path; do
        grep -qE "^ +$(basename "$tool") $path\$" <<<"$text" || { echo "no section for '$path'" >&2; return 1; }
    done < <(jq -r 'def p(q): .subcommands[] | (q + [.name]) as $r | ($r | join(" ")), p($r); p([])' <<<"$json")
    while IFS= read -r name; do
        grep -qF -- "$name" <<<"$text" || { echo "option '$name' missing" >&2; return 1; }
    done < <(jq -r '[.. | objects | select(has("names")) | .names[]] | unique[]' <<<"$json")
    while IFS= read -r name; do
        grep -qF -- "$name" <<<"$text" || { echo "exit code '$name' missing" >&2; return 1; }
    done < <(jq -r '.exit_codes[] | "\(.code) (\(.name))"' <<<"$json")
}

@test "every tool has a man page and mbd(7) exists; all lint clean" {
    for tool in "${MBD_TOOLS[@]}"; do
        lint "$MAN_DIR/$tool.1"
    done
    lint "$MAN_DIR/mbd.7"
}

@test "every tool's page covers its commands, options and exit codes" {
    for tool in "${MBD_TOOLS[@]}"; do
        covers "$MBDT_BUILD_DIR/tools/$tool" "$MAN_DIR/$tool.1"
    done
}

@test "a page generated for nested groups lints clean and covers them" {
    # shellcheck disable=SC2016 # a literal shell prompt
    printf '# DESCRIPTION\n\nA fixture.\n\n# EXAMPLES\n\n```\n$ mbd-cli-fixture peer key list\n```\n' \
        > "$BATS_TEST_TMPDIR/fixture.1.scd"
    run_mbd "$MBDT_SOURCE_DIR/scripts/gen-cli-docs" -o "$BATS_TEST_TMPDIR/mbd-cli-fixture.1" man \
        "$MBDT_FIXTURE" "$BATS_TEST_TMPDIR/fixture.1.scd" "$MBDT_FIXTURE"
    lint "$BATS_TEST_TMPDIR/mbd-cli-fixture.1"
    covers "$MBDT_FIXTURE" "$BATS_TEST_TMPDIR/mbd-cli-fixture.1"
    text=$(MANWIDTH=200 man -l "$BATS_TEST_TMPDIR/mbd-cli-fixture.1")
    grep -qE '^ +mbd-cli-fixture peer key import \[options\] \[FILES\.\.\.\]$' <<<"$text"
    grep -qE '^ +--mode TEXT$' <<<"$text"
    grep -qF 'One of: all, active, removed.' <<<"$text"
}

@test "mbd(7) lists every tool and every configuration key" {
    text=$(MANWIDTH=200 man -l "$MAN_DIR/mbd.7")
    for tool in "${MBD_TOOLS[@]}"; do
        grep -qE "^ +$tool\(1\)\$" <<<"$text"
    done
    while IFS= read -r key; do
        grep -qE "^ +$key \(environment MBD_" <<<"$text" || { echo "key '$key' missing" >&2; return 1; }
    done < <(mbd-repo --describe-cli | jq -r '.config[].name')
}

# Options of other programs the pages name, as "PROGRAM --option": such an option
# passes where its line names the program.
FOREIGN_OPTIONS=("journalctl --since" "gpg --verify" "sbuild --chroot-mode" "mmdebstrap --variant"
    "mmdebstrap --mode" "cmake --preset" "cmake --build" "tests/run --fast" "systemd-nspawn --boot"
    "systemd --user" "systemd-run --wait" "systemctl --failed")

# TOOL's option names, " --a --b ... ".
options_of() {
    printf ' %s ' "$("$1" --describe-cli | jq -r '[.. | objects | select(has("names")) | .names[]] | unique | join(" ")')"
}

@test "every option and configuration key the hand-written pages and READMEs name exists" {
    local -A opts
    local tool all keys sections f page n line o known t
    for tool in "${MBD_TOOLS[@]}"; do
        opts[$tool]=$(options_of "$tool")
        all+=${opts[$tool]}
    done
    keys=" $(mbd-repo --describe-cli | jq -r '[.config[].name] | join(" ")') "
    sections=" $(mbd-repo --describe-cli | jq -r '[.config[].name | split(".")[0]] | unique | join(" ")') "
    for f in "$MBDT_SOURCE_DIR"/man/*.scd "$MBDT_SOURCE_DIR/README.md" "$MBDT_SOURCE_DIR/systemd/README.md"; do
        page=$(basename "$f" .1.scd)
        while IFS=: read -r n line; do
            # a tool's page: its own options; elsewhere any tool's; and those of the tools the line names
            known=${opts[$page]:-$all}
            for t in "${MBD_TOOLS[@]}"; do
                [[ $line != *"$t"* ]] || known+=${opts[$t]}
            done
            while read -r o; do
                [[ $known != *" $o "* ]] || continue
                for t in "${FOREIGN_OPTIONS[@]}"; do
                    [[ ${t#* } != "$o" || $line != *"${t% *}"* ]] || continue 2
                done
                echo "$f:$n: '$o' is an option of none of the tools the line is about" >&2
                return 1
            done < <(grep -oE '(^|[^[:alnum:]_-])--[a-z][a-z0-9-]*' <<<"$line" | sed 's/^[^-]*//')
            # *section.key* in a man page, section one of the configuration's: a key that exists
            while read -r o; do
                [[ $sections != *" ${o%%.*} "* || $keys == *" $o "* ]] ||
                    { echo "$f:$n: no configuration key '$o'" >&2; return 1; }
            done < <(grep -oE '\*[a-z]+\.[a-z_]+\*' <<<"$line" | tr -d '*')
        done < <(grep -nE -- '--[a-z]|\*[a-z]+\.[a-z_]+\*' "$f")
    done
}

@test "the hand-written examples only run mbd commands that exist" {
    local page line tool words node w
    for page in "$MBDT_SOURCE_DIR"/man/*.scd; do
        while IFS= read -r line; do
            # every mbd-TOOL in the line, with the words after it
            while [[ $line =~ (^|[[:space:]])(mbd-[a-z]+)([[:space:]].*|$) ]]; do
                tool=${BASH_REMATCH[2]}
                line=${BASH_REMATCH[3]}
                [[ " ${MBD_TOOLS[*]} " == *" $tool "* ]] || continue
                read -ra words <<<"$line"
                node=$("$tool" --describe-cli)
                for w in "${words[@]}"; do
                    [[ $w == -* || $w == '|' ]] && break
                    jq -e --arg w "$w" '.subcommands[] | select(.name == $w)' <<<"$node" >/dev/null || break
                    node=$(jq --arg w "$w" '.subcommands[] | select(.name == $w)' <<<"$node")
                done
                if [ "$(jq -r .kind <<<"$node")" = group ] ||
                   { [ "$(jq -r .kind <<<"$node")" = tool ] && [[ ${words[0]:-} != -* ]]; }; then
                    echo "$page: '$tool$line' is not a complete mbd command" >&2
                    return 1
                fi
            done
        done < <(sed -n '/^# EXAMPLES/,/^# /p' "$page" | grep -E '^[$#] ')
    done
}
