//! The command line: the clap root (`kubectl kluctl`), the registry of commands, and parsing
//! (multicall completion, `KLUCTL_*` variables, clap's errors and help written to the injected
//! streams).
//!
//! Commands are registered once, in the `commands!` list below; see `cmd/mod.rs` for how to
//! add one.

pub mod duration;
pub(crate) mod env;
pub mod flags;
pub(crate) mod walk;

use crate::cmd::{self, Context};
use crate::exit::{EXIT_CODES_HELP, Exit};
use crate::io::Io;
use crate::output::colour_allowed;
use clap::{CommandFactory, FromArgMatches, Parser};
use flags::{GlobalFlags, KubeFlags};
use std::ffi::OsString;
use std::io::Write;

/// Declares the `Command` enum (one variant per `cmd/<verb>.rs`) and its dispatch.
macro_rules! commands {
    ($($variant:ident => $module:ident,)*) => {
        /// Every command of the plugin; the variant name in kebab-case is the verb.
        #[derive(clap::Subcommand, Debug)]
        pub enum Command {
            $(
                #[allow(missing_docs)]
                $variant(cmd::$module::Args),
            )*
        }

        impl Command {
            /// Runs the selected command.
            pub(crate) async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
                match self {
                    $(Command::$variant(args) => args.run(ctx).await,)*
                }
            }
        }
    };
}

// Keep this list in the order `--help` shows the commands.
commands! {
    Render => render,
    ListTargets => list_targets,
    Diff => diff,
    Deploy => deploy,
    Prune => prune,
    Delete => delete,
    Validate => validate,
    Kustomize => kustomize,
    Version => version,
    Completion => completion,
    Gitops => gitops,
    InstallCrds => install_crds,
    Agent => agent,
    HelmPull => helm_pull,
    HelmUpdate => helm_update,
}

const ROOT_LONG_ABOUT: &str = "\
Render, diff, deploy and prune Kluctl projects: Jinja2-templated Kustomize and Helm deployments
with targets, args and variables. Existing Kluctl projects work unchanged.

Install as a kubectl plugin (any `kubectl-kluctl` on PATH) and run `kubectl kluctl <command>`;
the binary also works on its own as `kubectl-kluctl <command>`.";

const ROOT_AFTER_HELP: &str = "\
Environment:
  Every flag can also be set with KLUCTL_ plus its name in upper case, dashes as underscores
  (--dry-run: KLUCTL_DRY_RUN=true). Repeatable flags take an index: KLUCTL_ARG_0=a=1,
  KLUCTL_ARG_1=b=2. A flag on the command line wins over its variable. NO_COLOR turns colours off.

";

/// Render, diff, deploy and prune Kluctl projects.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-kluctl",
    bin_name = "kubectl kluctl",
    version,
    long_about = ROOT_LONG_ABOUT,
    after_help = root_after_help(),
    subcommand_required = true,
    arg_required_else_help = true,
    max_term_width = 120
)]
pub struct Cli {
    /// Connection flags (global).
    #[command(flatten)]
    pub kube: KubeFlags,

    /// Output flags of every command (global).
    #[command(flatten)]
    pub global: GlobalFlags,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

fn root_after_help() -> String {
    format!("{ROOT_AFTER_HELP}{EXIT_CODES_HELP}")
}

/// The full command tree, built (global flags propagated), for completion, docs and env vars.
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    command.build();
    command
}

/// What the command line asks for.
pub(crate) enum Parsed {
    /// Run a command.
    Run(Box<Cli>),
    /// Answer a shell completion request; the words after `kluctl`, the last one partial.
    Complete(Vec<String>),
    /// Nothing to run: help, version or a usage error was printed; exit with this.
    Done(Exit),
}

/// Parses the full argv (program name first).
pub(crate) fn parse(argv: Vec<OsString>, io: &Io) -> anyhow::Result<Parsed> {
    let program = argv.first().map(program_name).unwrap_or_default();
    let words: Vec<String> = argv.iter().skip(1).map(|w| w.to_string_lossy().into_owned()).collect();
    // kubectl runs `kubectl_complete-kluctl` for `kubectl kluctl <TAB>`; a symlink or copy of
    // this binary under that name is the completion command.
    if program.starts_with("kubectl_complete-") {
        return Ok(Parsed::Complete(words));
    }
    if words.first().map(String::as_str) == Some("__complete") {
        return Ok(Parsed::Complete(words[1..].to_vec()));
    }

    let root = command();
    let mut argv = argv;
    match env::words_from_env(&root, &words, &io.env) {
        Ok(extra) => {
            // Before a `--`, so they are read as flags.
            let at = argv.iter().position(|w| w == "--").unwrap_or(argv.len());
            argv.splice(at..at, extra.into_iter().map(OsString::from));
        }
        Err(message) => {
            let paint = crate::output::Paint::new(colour_allowed(false, &io.env) && io.tty.stderr);
            io.stderr
                .write_text(&format!("{} {message}\n", paint.error("error:")))?;
            return Ok(Parsed::Done(Exit::Usage));
        }
    }

    let no_color = argv.iter().any(|w| w == "--no-color");
    match Cli::command().try_get_matches_from(argv) {
        Ok(mut matches) => match Cli::from_arg_matches_mut(&mut matches) {
            Ok(cli) => Ok(Parsed::Run(Box::new(cli))),
            Err(err) => print_clap(err, io, no_color),
        },
        Err(err) => print_clap(err, io, no_color),
    }
}

/// Prints help, version or a usage error where clap would, honouring the colour rules.
fn print_clap(err: clap::Error, io: &Io, no_color: bool) -> anyhow::Result<Parsed> {
    let (mut stream, tty) = if err.use_stderr() {
        (io.stderr.clone(), io.tty.stderr)
    } else {
        (io.stdout.clone(), io.tty.stdout)
    };
    let rendered = err.render();
    let mut text = if colour_allowed(no_color, &io.env) && tty {
        rendered.ansi().to_string()
    } else {
        rendered.to_string()
    };
    // clap's version text has no line ending of its own.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    stream.write_all(text.as_bytes())?;
    stream.flush()?;
    Ok(Parsed::Done(if err.exit_code() == 0 {
        Exit::Success
    } else {
        Exit::Usage
    }))
}

/// The program's file name without directory and `.exe`.
fn program_name(path: &OsString) -> String {
    let name = std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".exe").map(str::to_string).unwrap_or(name)
}

impl Cli {
    /// Builds the context every command runs with.
    pub(crate) fn context(&self, io: &Io) -> anyhow::Result<Context> {
        Ok(Context {
            console: crate::output::Console::new(io, self.global.no_color),
            env: io.env.clone(),
            kube: self.kube.options()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn completion_is_recognised_by_program_name_and_subcommand() {
        let (io, _) = Io::captured(crate::io::Env::empty(), "");
        let argv = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        match parse(argv(&["/usr/local/bin/kubectl_complete-kluctl", "de"]), &io).unwrap() {
            Parsed::Complete(words) => assert_eq!(words, ["de"]),
            _ => panic!("multicall name must complete"),
        }
        match parse(argv(&["kubectl-kluctl", "__complete", "version", ""]), &io).unwrap() {
            Parsed::Complete(words) => assert_eq!(words, ["version", ""]),
            _ => panic!("__complete must complete"),
        }
    }
}
