#!/usr/bin/env bats
# The bash and zsh completions made by the build, exercised through bash's own
# completion interface (COMP_WORDS/COMP_CWORD + the registered function), on
# whatever commands the tools define, and on the fixture's nested groups.

load ../helpers

COMPLETIONS="$MBDT_BUILD_DIR/completions"
MBDT_FIXTURE="$MBDT_BUILD_DIR/tests/tools/mbd-cli-fixture"

# complete TOOL WORD... : what bash completes for the last word, sorted, one line.
complete_words() {
    bash -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        fn=$(complete -p "$1" | sed -E "s/.*-F ([^ ]+) .*/\1/")
        "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"
    ' bash "$@"
}

# walk TOOL COMPLETION-FILE: at every command path, the subcommands and options
# completed are exactly those --describe-cli defines there (plus the inherited ones).
walk() {
    local tool=$1 file=$2 json path want got name
    json=$("$tool" --describe-cli)
    while IFS= read -r path; do
        # shellcheck disable=SC2016 # a jq program
        local node='def node(ws): if ws == [] then . else .subcommands[] | select(.name == ws[0]) | node(ws[1:]) end;
                    node($p | split(" ") | map(select(. != "")))'
        want=$(jq -r --arg p "$path" "$node | [.subcommands[].name] | sort | join(\" \")" <<<"$json")
        # shellcheck disable=SC2086 # path is words
        got=$(complete_words "$file" "$(basename "$tool")" $path "")
        if [ -n "$want" ]; then assert_equal "$got" "$want"; fi
        # shellcheck disable=SC2086
        got=" $(complete_words "$file" "$(basename "$tool")" $path "-") "
        for name in $(jq -r --arg p "$path" "$node | .options[].names[]" <<<"$json") --home --show-config; do
            [[ $got == *" $name "* ]] || { echo "'$path': option $name not completed ($got)" >&2; return 1; }
        done
    done < <(printf '\n'; jq -r 'def p(q): .subcommands[] | (q + [.name]) as $r | ($r | join(" ")), p($r); p([])' <<<"$json")
}

@test "bash completes every tool's commands and options at every level" {
    for tool in "${MBD_TOOLS[@]}"; do
        walk "$MBDT_BUILD_DIR/tools/$tool" "$COMPLETIONS/bash/$tool"
    done
}

@test "bash completes nested groups, choices, files, directories and configuration keys" {
    local file="$BATS_TEST_TMPDIR/mbd-cli-fixture"
    run_mbd "$MBDT_SOURCE_DIR/scripts/gen-cli-docs" -o "$file" bash "$MBDT_SOURCE_DIR/completions/mbd.bash" "$MBDT_FIXTURE"
    walk "$MBDT_FIXTURE" "$file"
    assert_equal "$(complete_words "$file" mbd-cli-fixture "")" "ls peer"
    assert_equal "$(complete_words "$file" mbd-cli-fixture peer k)" "key"
    assert_equal "$(complete_words "$file" mbd-cli-fixture peer key "")" "import list"
    assert_equal "$(complete_words "$file" mbd-cli-fixture --home /tmp peer key "")" "import list"
    assert_equal "$(complete_words "$file" mbd-cli-fixture ls --mode "")" "active all removed"
    assert_equal "$(complete_words "$file" mbd-cli-fixture ls --mode = a)" "active all"
    keys=$("$MBDT_FIXTURE" --describe-cli | jq -r '[.config[].name | select(startswith("build.")) + "="] | sort | join(" ")')
    [ -n "$keys" ]
    assert_equal "$(complete_words "$file" mbd-cli-fixture -o build.)" "$keys"
    mkdir -p "$BATS_TEST_TMPDIR/dir/sub" && touch "$BATS_TEST_TMPDIR/dir/key.asc"
    assert_equal "$(complete_words "$file" mbd-cli-fixture peer add "$BATS_TEST_TMPDIR/dir/k")" \
        "$BATS_TEST_TMPDIR/dir/key.asc"
    assert_equal "$(complete_words "$file" mbd-cli-fixture peer key import --into "$BATS_TEST_TMPDIR/dir/")" \
        "$BATS_TEST_TMPDIR/dir/sub"
    # a value is not taken for a command: after --repository comes a free word
    assert_equal "$(complete_words "$file" mbd-cli-fixture peer add -r "")" ""
}

@test "the zsh completions are valid zsh and define their functions" {
    for tool in "${MBD_TOOLS[@]}"; do
        zsh -n "$COMPLETIONS/zsh/_$tool"
        head -n 1 "$COMPLETIONS/zsh/_$tool" | grep -qx "#compdef $tool"
        zsh -fc "fpath=('$COMPLETIONS/zsh' \$fpath); autoload -Uz compinit && compinit -u -d '$BATS_TEST_TMPDIR/zcd';
                 autoload -Uz _$tool; functions _$tool >/dev/null && [[ \${_comps[$tool]} == _$tool ]]"
    done
}

@test "zsh completes every tool's commands (or options), and nested groups, choices, keys and directories" {
    local lines=() want=() tool json i
    for tool in "${MBD_TOOLS[@]}"; do
        json=$("$tool" --describe-cli)
        if [ "$(jq '.subcommands | length' <<<"$json")" -gt 0 ]; then
            lines+=("$tool ")
            want+=("$(jq -r '[.subcommands[].name] | sort | join(" ")' <<<"$json")")
        else
            lines+=("$tool --")
            want+=("$(jq -r '[.options[].names[] | select(startswith("--"))] | sort | join(" ")' <<<"$json")")
        fi
    done
    mkdir -p "$BATS_TEST_TMPDIR/fx" "$BATS_TEST_TMPDIR/dir/sub"
    touch "$BATS_TEST_TMPDIR/dir/file"
    "$MBDT_SOURCE_DIR/scripts/gen-cli-docs" -o "$BATS_TEST_TMPDIR/fx/_mbd-cli-fixture" zsh "$MBDT_FIXTURE"
    cp "$COMPLETIONS"/zsh/_mbd-* "$BATS_TEST_TMPDIR/fx/"
    lines+=("mbd-cli-fixture " "mbd-cli-fixture peer key " "mbd-cli-fixture ls --mode " "mbd-cli-fixture -o build."
            "mbd-cli-fixture peer key import --into dir/")
    # (for a path, zsh's _path_files also adds the typed directory 'dir'; 'file' is no directory)
    want+=("ls peer" "import list" "active all removed"
           "$("$MBDT_FIXTURE" --describe-cli | jq -r '[.config[].name | select(startswith("build."))] | sort | join(" ")')" "dir sub")
    cd "$BATS_TEST_TMPDIR"
    PATH="$(dirname "$MBDT_FIXTURE"):$PATH" run_mbd "$MBDT_SOURCE_DIR/tests/zsh-complete" "$BATS_TEST_TMPDIR/fx" "${lines[@]}"
    for i in "${!lines[@]}"; do
        assert_equal "$(sed -n "$((i + 1))p" <<<"$output")" "${want[$i]}"
    done
}
