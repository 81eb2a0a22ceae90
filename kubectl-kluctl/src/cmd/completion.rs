//! `kubectl kluctl completion SHELL`: prints a completion script for `kubectl-kluctl` used
//! directly. (`kubectl kluctl <TAB>` is completed by kubectl itself, through the
//! `kubectl_complete-kluctl` command; see `crate::complete`.)

use crate::cmd::Context;
use crate::exit::Exit;
use anyhow::Context as _;
use clap::ValueEnum;
use std::io::Write;

const LONG_ABOUT: &str = "\
Print a shell completion script for running the plugin directly as `kubectl-kluctl`.

For `kubectl kluctl <TAB>` (kubectl 1.26 or newer) no script is needed: put the
`kubectl_complete-kluctl` command from the release archive (or a symlink named so, pointing at
kubectl-kluctl) on your PATH, and kubectl's own completion completes commands, flags, targets,
contexts, tags and deployment directories.";

const EXAMPLES: &str = "\
Examples:
  # bash, for the current shell
  source <(kubectl-kluctl completion bash)

  # zsh, installed for every new shell
  kubectl-kluctl completion zsh > \"${fpath[1]}/_kubectl-kluctl\"

  # fish
  kubectl-kluctl completion fish > ~/.config/fish/completions/kubectl-kluctl.fish

  # PowerShell
  kubectl-kluctl completion powershell | Out-String | Invoke-Expression

  # kubectl kluctl <TAB>: make kubectl find the completion command
  ln -s \"$(command -v kubectl-kluctl)\" ~/.local/bin/kubectl_complete-kluctl";

/// Flags of `completion`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Print a shell completion script (bash, zsh, fish, powershell)",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
)]
pub struct Args {
    /// The shell to print the script for
    #[arg(value_enum)]
    shell: Shell,
}

/// The shells a script can be printed for.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

impl Args {
    /// Prints the script on stdout.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let shell = match self.shell {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
            Shell::Powershell => clap_complete::Shell::PowerShell,
        };
        let script = script(shell);
        let mut stdout = ctx.console.stdout();
        stdout
            .write_all(script.as_bytes())
            .context("failed to write to stdout")?;
        stdout.flush().context("failed to write to stdout")?;
        Ok(Exit::Success)
    }
}

/// The completion script for `kubectl-kluctl` in one shell.
fn script(shell: clap_complete::Shell) -> String {
    const BIN: &str = "kubectl-kluctl";
    // clap_complete's bash script spells a hyphenated binary name two different ways and then
    // never completes past the first command (clap-rs/clap#6421), so bash gets a name without
    // the hyphen, and only the final `complete ... <name>` lines name the real binary.
    const BASH_SAFE: &str = "kubectl_kluctl";
    let name = if shell == clap_complete::Shell::Bash {
        BASH_SAFE
    } else {
        BIN
    };
    // An unbuilt tree: the script is for the binary's own name, not `kubectl kluctl`.
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if shell != clap_complete::Shell::Bash {
        return text;
    }
    let registration = format!(" {BASH_SAFE}");
    text.lines()
        .map(|line| match line.strip_suffix(&registration) {
            Some(start) if line.trim_start().starts_with("complete ") => format!("{start} {BIN}\n"),
            _ => format!("{line}\n"),
        })
        .collect()
}
