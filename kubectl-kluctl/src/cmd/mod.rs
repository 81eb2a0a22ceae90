//! One file per command: a `#[derive(clap::Args)] pub struct Args` (flags, help, examples) and
//! `pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit>`.
//!
//! # Adding a command (two lines outside its file)
//!
//! 1. Write `src/cmd/<verb>.rs`:
//!    ```text
//!    //! `kubectl kluctl <verb>`: what it does (stage, input and output types).
//!    use crate::cli::flags::{OutputFlags, ProjectFlags};
//!    use crate::cmd::Context;
//!    use crate::exit::Exit;
//!
//!    #[derive(clap::Args, Debug)]
//!    #[command(about = "One line for the command list", long_about = LONG, after_help = EXAMPLES)]
//!    pub struct Args {
//!        #[command(flatten)]
//!        project: ProjectFlags,
//!        #[command(flatten)]
//!        output: OutputFlags,
//!    }
//!
//!    impl Args {
//!        pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
//!            let project = self.project.options()?;                 // validated once (W3)
//!            let outputs = self.output.options(&OutputFormat::ALL)?;
//!            let result = shared::...;                              // the engine does the work
//!            ctx.console.emit(&outputs, &result)?;                  // results on stdout
//!            Ok(Exit::Success)
//!        }
//!    }
//!    ```
//! 2. Add `pub mod <verb>;` below (1st line) and `<Verb> => <verb>,` to the `commands!` list in
//!    `cli/mod.rs` (2nd line). The variant name in kebab-case is the command name
//!    (`ListTargets` is `list-targets`).
//! 3. Run `UPDATE_DOCS=1 cargo test -p kubectl-kluctl --test tests docs` to regenerate
//!    `docs/commands/<verb>.md`.
//!
//! Conventions: flags come from the groups in `cli::flags` (flatten what the command honours);
//! help has an `Examples:` section (a test checks); results go through `ctx.console.emit` (stdout,
//! `-o`), everything else through `ctx.console.info/warn/progress` (stderr); prompts through
//! `ctx.console.confirm` unless `--yes`. Runtime failures return `Err` (exit 1).
//!
//! Commands that produce a `shared::result::CommandResult` print and finish with:
//! ```text
//! ctx.console.emit(&outputs, &ResultReport::new(&result).short(self.short.short_output))?;
//! result_exit(&result)      // deploy, prune, delete: 1 ("command failed") when any object failed
//! diff_exit(&result)        // diff: 0 no changes, 1 changes, 2 failure (as kubectl diff)
//! ```
//! `render --watch` and `diff --watch` loop with `crate::watch::watch`.

pub mod agent;
pub mod completion;
pub mod delete;
pub mod deploy;
pub mod diff;
pub mod gitops;
pub mod helm_pull;
pub mod helm_update;
pub mod install_crds;
pub mod kustomize;
pub mod list_targets;
pub mod prune;
pub mod render;
pub mod validate;
pub mod version;

use crate::cli::flags::KubeOptions;
use crate::io::Env;
use crate::output::Console;

/// What every command runs with: the streams, the environment and the global flags.
pub struct Context {
    /// stdout, stderr, stdin, terminals and colours.
    pub console: Console,
    /// The environment variables.
    pub env: Env,
    /// The validated global Kubernetes flags.
    pub kube: KubeOptions,
}
