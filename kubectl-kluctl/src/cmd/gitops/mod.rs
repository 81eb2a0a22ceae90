//! `kubectl kluctl gitops ...`: `KluctlDeployment`s for the per-namespace agent: create, list,
//! get, suspend, resume, reconcile and delete them.
//!
//! Input: the global Kubernetes flags ([`client`]) and each subcommand's flags. Output: reports
//! ([`report`]) on stdout in the `-o` formats, progress on stderr. The cluster work is in
//! `shared::crd::gitops`, the objects in `shared::crd::manifests`.

pub mod client;
mod create;
mod delete;
mod list;
mod reconcile;
pub mod report;
mod suspend;

use crate::cmd::Context;
use crate::exit::Exit;

const EXAMPLES: &str = "\
Examples:
  # Deploy target prod of the project in ./deploy of a Git repository, every 5 minutes
  kubectl kluctl gitops create app -n team --git-url https://github.com/org/repo --git-branch main \\
    --path deploy -t prod --prune

  # Show every KluctlDeployment of the namespace
  kubectl kluctl gitops list -n team

  # Deploy now and wait for the result
  kubectl kluctl gitops reconcile app -n team";

/// Flags of `gitops`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Manage KluctlDeployments deployed by the in-cluster agent (create, list, reconcile, ...)",
    after_help = EXAMPLES,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    Create(Box<create::Args>),
    List(list::ListArgs),
    Get(list::GetArgs),
    Suspend(suspend::SuspendArgs),
    Resume(suspend::ResumeArgs),
    Reconcile(reconcile::Args),
    Delete(delete::Args),
}

impl Args {
    /// Runs the subcommand.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        match self.command {
            Command::Create(args) => args.run(ctx).await,
            Command::List(args) => args.run(ctx).await,
            Command::Get(args) => args.run(ctx).await,
            Command::Suspend(args) => args.run(ctx).await,
            Command::Resume(args) => args.run(ctx).await,
            Command::Reconcile(args) => args.run(ctx).await,
            Command::Delete(args) => args.run(ctx).await,
        }
    }
}
