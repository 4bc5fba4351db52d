# SPDX-License-Identifier: MPL-2.0
# bash completion for zsat: commands, each command's flags (from its --help), and the host
# and node names of the topology file already on the command line (from `zsat show`).

_zsat_topology_file() {
    local w
    for w in "${COMP_WORDS[@]:2}"; do
        case $w in *.yaml|*.yml) [ -f "$w" ] && { printf '%s\n' "$w"; return; } ;; esac
    done
}

_zsat_names() {  # host|node FILE
    "${COMP_WORDS[0]}" show "$2" 2>/dev/null \
        | awk -v what="$1" '$1 == what {print $2}' \
        | sort -u
}

_zsat() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} zsat=${COMP_WORDS[0]}
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        local commands
        commands=$("$zsat" --help 2>/dev/null | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    local file
    file=$(_zsat_topology_file)
    case $prev in
        --host|--node)
            [ -n "$file" ] && COMPREPLY=($(compgen -W "$(_zsat_names "${prev#--}" "$file")" -- "$cur"))
            return ;;
        --topology|-o|--out)
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
    esac
    if [[ $cur == -* ]]; then
        local flags
        flags=$("$zsat" "${COMP_WORDS[1]}" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$flags --help" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur"))
}
complete -F _zsat zsat
