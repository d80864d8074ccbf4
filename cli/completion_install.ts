/**
 * The line that installs each shell's completion for the current user, as the README, the
 * scripts' headers and `nx completion --help` give it. tests/completion_test.ts runs each one in
 * its shell with a new `$HOME` and checks that a new interactive shell then completes `nx`.
 */
export const COMPLETION_INSTALL = {
  /** Plain bash (4.3+): nothing from the bash-completion package is needed. */
  bash: "nx completion bash > ~/.nx-completion.bash && echo '. ~/.nx-completion.bash' >> ~/.bashrc",
  /** `~/.zfunc` goes first in `$fpath`, then compinit (again) picks `_nx` up. */
  zsh: "mkdir -p ~/.zfunc && nx completion zsh > ~/.zfunc/_nx && " +
    "echo 'fpath=(~/.zfunc $fpath); autoload -Uz compinit && compinit' >> ~/.zshrc",
  /** fish loads `~/.config/fish/completions/nx.fish` on the first Tab after `nx`. */
  fish: "mkdir -p ~/.config/fish/completions && " +
    "nx completion fish > ~/.config/fish/completions/nx.fish",
} as const;
