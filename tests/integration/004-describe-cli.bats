#!/usr/bin/env bats
# The hidden --describe-cli: the command tree as JSON, for the generated man
# pages and completions. It must agree with CLI11's own --help-all and stay hidden.

load ../helpers

MBDT_FIXTURE="$MBDT_BUILD_DIR/tests/tools/mbd-cli-fixture"

# Command paths in the JSON tree, one per line ("peer key import").
json_paths() {
    jq -r 'def walk_paths(p): .subcommands[] | (p + [.name]) as $q | ($q | join(" ")), walk_paths($q);
           walk_paths([])' <<<"$1"
}

@test "every tool describes itself as JSON with its options and the exit-code table" {
    for tool in "${MBD_TOOLS[@]}"; do
        run_mbd "$tool" --describe-cli
        assert_equal "$(jq -r .name <<<"$output")" "$tool"
        assert_equal "$(jq -r .kind <<<"$output")" tool
        assert_equal "$(jq -r .version <<<"$output")" "$("$tool" --version | awk '{print $2}')"
        jq -e '.options[] | select(.names == ["--home"]) | .value == "DIR"' <<<"$output"
        jq -e '.options[] | select(.names == ["--show-config"]) | .value == null' <<<"$output"
        jq -e '.config[] | select(.name == "home" and .env == "MBD_HOME")' <<<"$output"
        # the exit codes are those of the --help footer, in order
        footer=$("$tool" --help | sed -n 's/^Exit codes: //p')
        assert_equal "$(jq -r '[.exit_codes[] | "\(.code) \(.name)"] | join(", ")' <<<"$output")" "$footer"
    done
}

@test "--describe-cli does not show in any help" {
    for tool in "${MBD_TOOLS[@]}"; do
        run_mbd "$tool" --help-all
        refute_grep -e describe-cli <<<"$output"
    done
}

@test "at every level the JSON lists exactly the subcommands CLI11's --help lists" {
    local tool path json children listed
    for tool in "${MBD_TOOLS[@]}" "$MBDT_FIXTURE"; do
        json=$("$tool" --describe-cli)
        while IFS= read -r path; do
            children=$(jq -r --arg p "$path" 'def node(ws): if ws == [] then . else .subcommands[] | select(.name == ws[0]) | node(ws[1:]) end;
                         node($p | split(" ") | map(select(. != ""))) | [.subcommands[].name] | sort | join(" ")' <<<"$json")
            # shellcheck disable=SC2086 # path is words
            listed=$("$tool" $path --help | awk '/^Subcommands:/{s=1; next} /^[^ ]/{s=0} s && /^  [a-z]/{sub(/,$/, "", $1); print $1}' | sort | tr '\n' ' ' | sed 's/ $//')
            assert_equal "$children" "$listed"
        done < <(printf '\n'; json_paths "$json")
    done
}

@test "nested groups, commands, choices and file values are described" {
    run_mbd "$MBDT_FIXTURE" --describe-cli
    assert_equal "$(json_paths "$output" | tr '\n' ',')" "ls,peer,peer add,peer key,peer key import,peer key list,"
    jq -e '.subcommands[] | select(.name == "peer") | .kind == "group"' <<<"$output"
    jq -e '.subcommands[] | select(.name == "ls") | .kind == "command"' <<<"$output"
    jq -e '.subcommands[] | select(.name == "ls") | .options[] | select(.names == ["--mode"]) | .value | test("\\{all,active,removed\\}")' <<<"$output"
    jq -e '.. | objects | select(.name == "keyfile") | .required and (.value | test("FILE"))' <<<"$output"
    jq -e '.. | objects | select(.name == "add") | .options[] | select(.names == ["-r", "--repository"]) | .repeatable' <<<"$output"
    # and the fixture's commands really run
    run_mbd "$MBDT_FIXTURE" peer key list
    assert_equal "$output" "peer key list"
}

@test "--describe-cli is only recognised as the sole argument" {
    run_mbd 2 mbd-repo --describe-cli --home /tmp
    run_mbd 2 mbd-repo --show-config --describe-cli
}
