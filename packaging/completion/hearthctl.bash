# bash completion for hearthctl.
# Install: copy to /usr/share/bash-completion/completions/hearthctl (cmake
# --install does), or `source packaging/completion/hearthctl.bash`.
# Needs nothing beyond bash itself (not the bash-completion package).

_hearthctl() {
    local cur prev i w
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()

    # bash splits "--color=al" into "--color" "=" "al" (COMP_WORDBREAKS has '=').
    if [[ $prev == "=" && $COMP_CWORD -ge 2 ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
        case $prev in
            --color|--colour) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return 0 ;;
            --socket) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        esac
        return 0
    fi
    if [[ $cur == "=" ]]; then
        case $prev in
            --color|--colour) COMPREPLY=(auto always never); return 0 ;;
        esac
    fi
    case $cur in
        --color=*|--colour=*)
            COMPREPLY=($(compgen -P "${cur%%=*}=" -W "auto always never" -- "${cur#*=}")); return 0 ;;
    esac
    case $prev in
        -s|--socket) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    esac

    # Which command, if any, is already on the line (skipping option values)?
    local command=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            -s|--socket) ((i++)) ;;
            -*|=) ;;
            *) if [[ ${COMP_WORDS[i-1]} != "=" ]]; then command=$w; break; fi ;;
        esac
    done

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--socket --json --color= --no-color --help --version -s -j -h -V" -- "$cur"))
        return 0
    fi
    case $command in
        "") COMPREPLY=($(compgen -W "status reload upgrade scale stop help" -- "$cur")) ;;
        scale) ;;  # a number of workers: nothing to offer
        *) ;;      # the other commands take no arguments
    esac
    return 0
}
complete -F _hearthctl hearthctl
