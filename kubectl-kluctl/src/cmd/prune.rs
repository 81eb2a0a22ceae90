//! `kubectl kluctl prune`: delete the orphans of a target (objects carrying its discriminator,
//! managed by kluctl, no longer rendered), after showing the exact list and asking.
//! Output: a `CommandResult` with the deleted objects.

use super::delete::{DeleteFlow, run_delete_flow};
use super::deploy::{TargetFlags, within};
use crate::cli::flags::{DryRunFlags, OutputFlags, WaitFlags, YesFlags};
use crate::cmd::Context;
use crate::exit::Exit;

const EXAMPLES: &str = "\
Examples:
  # Show the orphans of the target prod, ask, and delete them
  kubectl kluctl prune -t prod

  # Only show what would be deleted
  kubectl kluctl prune -t prod --dry-run";

const LONG: &str = "\
Deletes orphan objects: live objects that carry the target's discriminator label, are managed
by kluctl (field manager kluctl and no owner, or kluctl.io/force-managed) and are no longer
rendered. Objects with kluctl.io/skip-delete or helm.sh/resource-policy: keep are kept and
reported. The exact list is shown and confirmed first (--yes skips the question; without a
terminal the command refuses). A target without a discriminator is refused, so targets sharing a
namespace never delete each other's objects.";

/// Flags of `prune`.
#[derive(clap::Args, Debug)]
#[command(about = "Delete objects of a target that are no longer rendered", long_about = LONG, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    target: TargetFlags,
    #[command(flatten)]
    yes: YesFlags,
    #[command(flatten)]
    dry_run: DryRunFlags,
    #[command(flatten)]
    wait: WaitFlags,
    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Runs `prune`.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let flow = DeleteFlow {
            command: "prune",
            yes: self.yes.yes,
            dry_run: self.dry_run.dry_run,
            wait: &self.wait,
            output: &self.output,
        };
        let timeout = self.target.project.timeout;
        within(timeout, run_delete_flow(ctx, &self.target, flow)).await
    }
}
