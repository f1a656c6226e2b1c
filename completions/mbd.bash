# bash completion for the mbd tools: the generic part, shared by every tool.
#
# scripts/gen-cli-docs appends to a copy of this file, per tool, the tool's
# command tree (read from its hidden --describe-cli) as an associative array
# _mbd_cli_TOOL, keyed by command path ("" is the tool itself, "peer key" a
# nested command):
#   [sub:PATH]         the subcommands of PATH
#   [opt:PATH]         the options accepted after PATH (its own and, since
#                      run_tool sets CLI11's fallthrough, its ancestors')
#   [val:PATH|OPTION]  how OPTION's value completes: words, @file, @dir, @config, @any
#   [pos:PATH]         how PATH's positional arguments complete (same forms)
#   [config]           the configuration keys (for -o KEY=VALUE)

_mbd_complete_value() {
    local spec=$1 cur=$2
    case $spec in
    @file)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    @dir)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    @config)
        compopt -o nospace 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -S = -W "${_mbd_t[config]}" -- "$cur") ;;
    @*) ;;
    *) mapfile -t COMPREPLY < <(compgen -W "$spec" -- "$cur") ;;
    esac
}

# complete -F _mbd_complete TOOL: bash calls it with the command name as $1.
_mbd_complete() {
    local -n _mbd_t="_mbd_cli_${1//[^a-zA-Z0-9]/_}"
    local cur=${COMP_WORDS[COMP_CWORD]} path="" word i
    COMPREPLY=()
    [[ $cur == = ]] && cur=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == -* ]]; then
            [[ -v "_mbd_t[val:$path|$word]" ]] || continue
            [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++)) # --option=VALUE, split at '='
            if ((i + 1 == COMP_CWORD)); then
                _mbd_complete_value "${_mbd_t[val:$path|$word]}" "$cur"
                return 0
            fi
            ((i++))
        elif [[ " ${_mbd_t[sub:$path]} " == *" $word "* ]]; then
            path=${path:+$path }$word
        fi
    done
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${_mbd_t[opt:$path]}" -- "$cur")
    elif [[ -n ${_mbd_t[sub:$path]} ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${_mbd_t[sub:$path]}" -- "$cur")
    elif [[ -v "_mbd_t[pos:$path]" ]]; then
        _mbd_complete_value "${_mbd_t[pos:$path]}" "$cur"
    fi
    return 0
}
