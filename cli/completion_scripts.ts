/**
 * The scripts `nx completion <shell>` prints. Each asks `nx complete -- <words…>` (the `nx` on
 * PATH) for candidates and a directive (the protocol is described in completion.ts) and does the
 * file completion itself, with the shell's own quoting: directories, and files with the extension
 * named (bundles are `<name>.nxb` directories; `--key` takes `*.key`, `trust add` `*.pub`).
 *
 * bash and fish and zsh are nx's own (bash needs nothing from the bash-completion package);
 * PowerShell's comes from @bomb.sh/tab, which speaks the same protocol. No literal tab or other
 * control character may appear in a script: the human output escapes them.
 */
export const SHELLS = ["bash", "zsh", "fish", "powershell"] as const;
export type Shell = typeof SHELLS[number];

/**
 * A script's text as written (like String.raw, no interpolation), where `$\{` stands for the
 * shell's `${`, which a template literal would take for its own.
 */
const script = (text: TemplateStringsArray) => text.raw.join("").replaceAll("$\\{", "${");

const BASH =
  script`# bash completion for nx                                        -*- shell-script -*-
#
# Made by "nx completion bash". Plain bash 4.3 or later: it needs nothing from the bash-completion
# package and works with or without it. Load it from ~/.bashrc:
#   nx completion bash > ~/.nx-completion.bash
#   echo '. ~/.nx-completion.bash' >> ~/.bashrc
# or, where the bash-completion package is installed, let it load the script on demand:
#   mkdir -p ~/.local/share/bash-completion/completions
#   nx completion bash > ~/.local/share/bash-completion/completions/nx
# Every Tab runs "nx complete -- <words...>": the nx on PATH ("npm link" in the repository).

# One word as typed, without its shell quoting ('a b', "a b" and a\ b give a b), in REPLY.
__nx_dequote() {
  local s=$1 c q='' out=''
  while [[ -n $s ]]; do
    c=$\{s:0:1} s=$\{s:1}
    if [[ $q == "'" ]]; then
      if [[ $c == "'" ]]; then q=''; else out+=$c; fi
    elif [[ $c == '\' ]]; then
      out+=$\{s:0:1} s=$\{s:1}
    elif [[ -z $q && ($c == "'" || $c == '"') ]]; then
      q=$c
    elif [[ $q == '"' && $c == '"' ]]; then
      q=''
    else
      out+=$c
    fi
  done
  REPLY=$out
}

_nx() {
  local i word cur line ext out directive
  local -a args=() lines=() values=()
  # bash splits --root=dir at "=" (COMP_WORDBREAKS): join the pieces back for nx.
  for ((i = 1; i <= COMP_CWORD; i++)); do
    word=$\{COMP_WORDS[i]}
    __nx_dequote "$word"
    if ((i > 1)) && [[ $word == = || $\{COMP_WORDS[i - 1]} == = ]]; then
      args[-1]+=$REPLY
    else
      args+=("$REPLY")
    fi
  done
  cur=$\{COMP_WORDS[COMP_CWORD]}
  [[ $cur == = ]] && cur=''
  __nx_dequote "$cur"
  cur=$REPLY

  out=$(command nx complete -- "$\{args[@]}" 2>/dev/null) || return 0
  mapfile -t lines <<<"$out"
  line=$\{lines[-1]}
  [[ $line == :* ]] || return 0
  directive=$\{line#:}
  unset 'lines[-1]'
  for line in "$\{lines[@]}"; do values+=("$\{line%%$'\t'*}"); done
  ((directive & 1)) && return 0

  COMPREPLY=()
  if ((directive & 24)); then
    # 16: directories; 8: directories and the files ending in .<value>.
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <({
      compgen -d -- "$cur"
      if ((directive & 8)); then
        for ext in "$\{values[@]}"; do compgen -f -X "!*.$ext" -- "$cur"; done
      fi
    } | sort -u)
    # One match with the extension wanted (a bundle directory) is the answer: a space, no "/".
    if ((directive & 8)) && (($\{#COMPREPLY[@]} == 1)); then
      for ext in "$\{values[@]}"; do
        if [[ $\{COMPREPLY[0]} == *."$ext" ]]; then
          compopt +o filenames 2>/dev/null
          printf -v 'COMPREPLY[0]' '%q' "$\{COMPREPLY[0]}"
          break
        fi
      done
    fi
    return 0
  fi
  for word in "$\{values[@]}"; do
    [[ $word == "$cur"* ]] && COMPREPLY+=("$word")
  done
  if (($\{#COMPREPLY[@]} == 0 && !(directive & 4))); then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
  if ((directive & 2)); then compopt -o nospace 2>/dev/null; fi
  return 0
}

complete -F _nx nx`;

const ZSH = script`#compdef nx
# zsh completion for nx
#
# Made by "nx completion zsh". Needs zsh's completion system (compinit). Put it in a directory of
# $fpath as _nx, ahead of compinit in ~/.zshrc, and start a new shell:
#   mkdir -p ~/.zfunc && nx completion zsh > ~/.zfunc/_nx
#   echo 'fpath=(~/.zfunc $fpath); autoload -Uz compinit && compinit' >> ~/.zshrc
# or source it after compinit in ~/.zshrc: source <(nx completion zsh)
# Every Tab runs "nx complete -- <words...>": the nx on PATH ("npm link" in the repository).

_nx() {
  local out directive line tab=$'\t'
  local -a args lines values patterns
  args=("$\{(@Q)words[2,CURRENT]}")
  out=$(command nx complete -- "$\{args[@]}" 2>/dev/null) || return 1
  lines=("$\{(@f)out}")
  [[ $\{lines[-1]} == :* ]] || return 1
  directive=$\{lines[-1]#:}
  lines=("$\{(@)lines[1,-2]}")
  (( directive & 1 )) && return 1
  # --option=value: complete the value after the "=".
  [[ $PREFIX == -*=* ]] && compset -P '*='
  if (( directive & 16 )); then
    _files -/
  elif (( directive & 8 )); then
    for line in "$\{lines[@]}"; do patterns+=("*.$\{line%%$tab*}"); done
    # Space-separated patterns: a trailing "(…)" would be read as glob qualifiers.
    _files -g "$\{(j: :)patterns}"
  else
    for line in "$\{lines[@]}"; do
      if [[ $line == *$tab* ]]; then
        values+=("$\{$\{line%%$tab*}//:/\\:}:$\{line#*$tab}")
      else
        values+=("$\{line//:/\\:}")
      fi
    done
    if (( $\{#values} )); then
      if (( directive & 2 )); then
        _describe -t values value values -S ''
      else
        _describe -t values value values
      fi
    elif (( ! (directive & 4) )); then
      _files
    fi
  fi
}

if [[ $\{funcstack[1]} == _nx ]]; then
  _nx "$@"
else
  compdef _nx nx
fi`;

const FISH = script`# fish completion for nx
#
# Made by "nx completion fish". Install:
#   mkdir -p ~/.config/fish/completions
#   nx completion fish > ~/.config/fish/completions/nx.fish
# Every Tab runs "nx complete -- <words...>": the nx on PATH ("npm link" in the repository).

function __nx_complete
    set -l args (commandline -opc)
    set -e args[1]
    set -l current (commandline -ct)
    # --option=value: complete the value, keep the option in front of each candidate.
    set -l flag (string match -r -- '^-[^=]*=' $current)
    set -l value (string replace -r -- '^-[^=]*=' '' $current)
    set -l out (command nx complete -- $args (string trim -c '\'"' -- $current) 2>/dev/null)
    or return
    string match -q -- ':*' $out[-1]; or return
    set -l directive (string sub -s 2 -- $out[-1])
    set -e out[-1]
    test (math "bitand($directive, 1)") -eq 0; or return
    if test (math "bitand($directive, 24)") -ne 0
        # 16: directories; 8: directories and the files ending in .<line>.
        set -l pattern '/$'
        if test (math "bitand($directive, 8)") -ne 0
            for ext in $out
                set pattern "$pattern|\\."(string split -f1 \t -- $ext)'/?$'
            end
        end
        for path in (complete -C "__fish_command_without_completions $value")
            set path (string split -f1 \t -- $path)
            string match -qr -- "($pattern)" $path; and printf '%s%s\n' "$flag" $path
        end
        return
    end
    for line in $out
        printf '%s%s\n' "$flag" $line
    end
    if test (count $out) -eq 0; and test (math "bitand($directive, 4)") -eq 0
        complete -C "__fish_command_without_completions $value"
    end
end

complete -c nx -e
complete -c nx -f -a '(__nx_complete)'`;

/** Runs `print` with console.log redirected into a string (tab writes its script that way). */
function captured(print: () => void): string {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.map(String).join(" "));
  try {
    print();
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

export async function completionScript(shell: Shell): Promise<string> {
  switch (shell) {
    case "bash":
      return BASH;
    case "zsh":
      return ZSH;
    case "fish":
      return FISH;
    case "powershell": {
      // @bomb.sh/tab (and the node:assert it imports) loads for this script only, not at start-up.
      const { script: tabScript } = await import("@bomb.sh/tab");
      return captured(() => tabScript("powershell", "nx", "nx")).replaceAll("\t", "    ");
    }
  }
}
