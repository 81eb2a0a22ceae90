//! The "Misc" flags of deploy-like commands, one small group per concern so each command
//! flattens exactly the ones it honours (Kluctl's `cmd/kluctl/args` does the same).

use crate::cli::duration::parse_duration;
use clap::{Args, ValueHint};
use std::path::PathBuf;
use std::time::Duration;

/// `--dry-run`.
#[derive(Args, Clone, Debug, Default)]
pub struct DryRunFlags {
    /// Do everything against the API server as a server-side dry-run; nothing is changed
    #[arg(long, help_heading = "Misc")]
    pub dry_run: bool,
}

/// `-y/--yes`.
#[derive(Args, Clone, Debug, Default)]
pub struct YesFlags {
    /// Do not ask for confirmation (needed when stdin is not a terminal)
    #[arg(short = 'y', long, help_heading = "Misc")]
    pub yes: bool,
}

/// How applies deal with conflicts and errors.
#[derive(Args, Clone, Debug, Default)]
pub struct ApplyFlags {
    /// Take over fields owned by other field managers instead of reporting conflicts
    #[arg(long, help_heading = "Misc")]
    pub force_apply: bool,

    /// Delete and re-create an object whose apply fails with an error that a replace can fix
    #[arg(long, help_heading = "Misc")]
    pub replace_on_error: bool,

    /// Like --replace-on-error, and delete and re-create even when a replace fails too
    #[arg(long, help_heading = "Misc")]
    pub force_replace_on_error: bool,

    /// Stop at the first object that fails instead of applying the others first
    #[arg(long, help_heading = "Misc")]
    pub abort_on_error: bool,
}

/// Waiting for readiness.
#[derive(Args, Clone, Debug)]
pub struct WaitFlags {
    /// Do not wait for hooks and waitReadiness objects to become ready
    #[arg(long, help_heading = "Misc")]
    pub no_wait: bool,

    /// How long to wait for one object to become ready
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m", help_heading = "Misc")]
    pub readiness_timeout: Duration,
}

impl Default for WaitFlags {
    fn default() -> Self {
        WaitFlags {
            no_wait: false,
            readiness_timeout: Duration::from_secs(300),
        }
    }
}

/// `--prune` (deploy).
#[derive(Args, Clone, Debug, Default)]
pub struct PruneFlags {
    /// Delete orphan objects (objects with the target's discriminator that are no longer rendered) after deploying
    #[arg(long, help_heading = "Misc")]
    pub prune: bool,
}

/// `--discriminator`.
#[derive(Args, Clone, Debug, Default)]
pub struct DiscriminatorFlags {
    /// Use this discriminator instead of the target's
    #[arg(long, value_name = "DISCRIMINATOR", help_heading = "Misc")]
    pub discriminator: Option<String>,
}

/// `--no-obfuscate`.
#[derive(Args, Clone, Debug, Default)]
pub struct ObfuscateFlags {
    /// Show Secret values in diffs (they are hidden by default)
    #[arg(long, help_heading = "Misc")]
    pub no_obfuscate: bool,
}

/// `--short-output`.
#[derive(Args, Clone, Debug, Default)]
pub struct ShortOutputFlags {
    /// List changed objects without their diffs
    #[arg(long, help_heading = "Misc")]
    pub short_output: bool,
}

/// `--render-output-dir`.
#[derive(Args, Clone, Debug, Default)]
pub struct RenderOutputDirFlags {
    /// Write the rendered project into this directory (default: a temporary directory, removed afterwards)
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath, help_heading = "Misc")]
    pub render_output_dir: Option<PathBuf>,
}

/// Rendering without a cluster.
#[derive(Args, Clone, Debug, Default)]
pub struct OfflineFlags {
    /// Render without contacting a cluster: no cluster vars, no namespace defaulting from discovery
    #[arg(long, help_heading = "Misc")]
    pub offline_kubernetes: bool,

    /// The Kubernetes version templates and Helm see when rendering offline (e.g. 1.32.0)
    #[arg(long, value_name = "VERSION", requires = "offline_kubernetes", help_heading = "Misc")]
    pub kubernetes_version: Option<String>,
}

/// `--watch` (render, diff).
#[derive(Args, Clone, Debug, Default)]
pub struct WatchFlags {
    /// Keep running: redo the command whenever a project file is saved and show only what changed (Ctrl-C to stop)
    #[arg(long, help_heading = "Misc")]
    pub watch: bool,
}
