//! `kubectl kluctl delete`: delete every object of the target's discriminator (the inclusion
//! filters apply), after showing the exact list and asking; waits until they are gone unless
//! `--no-wait`. Output: a `CommandResult` with the deleted objects.
//!
//! Also the flow `prune` shares: plan, show, confirm, delete, report.

use super::deploy::{ProgressView, TargetFlags, print_to_stderr, within};
use crate::cli::flags::{DryRunFlags, OutputFlags, WaitFlags, YesFlags};
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{OutputFormat, ResultReport, result_exit};
use shared::commands::{self, DeleteOptions};
use shared::diff::IgnoreFlags;
use shared::result::ResultOptions;

const EXAMPLES: &str = "\
Examples:
  # Delete everything the target test deployed (asks first)
  kubectl kluctl delete -t test

  # Only the items tagged frontend, without asking and without waiting
  kubectl kluctl delete -t test -I frontend --yes --no-wait";

const LONG: &str = "\
Deletes every live object that carries the target's discriminator label and is managed by kluctl
(the rendered state is not consulted; -I/-E and the deployment-dir filters apply). Namespaces go
first, and objects inside a deleted namespace go with it. Objects with kluctl.io/skip-delete or
helm.sh/resource-policy: keep are kept and reported. The exact list is shown and confirmed first
(--yes skips the question; without a terminal the command refuses). The command waits until the
objects are gone (background propagation) unless --no-wait. A target without a discriminator is
refused.";

/// Flags of `delete`.
#[derive(clap::Args, Debug)]
#[command(about = "Delete every object a target deployed", long_about = LONG, after_help = EXAMPLES)]
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
    /// Runs `delete`.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let flow = DeleteFlow {
            command: "delete",
            yes: self.yes.yes,
            dry_run: self.dry_run.dry_run,
            wait: &self.wait,
            output: &self.output,
        };
        let timeout = self.target.project.timeout;
        within(timeout, run_delete_flow(ctx, &self.target, flow)).await
    }
}

/// What differs between `prune` and `delete`.
pub(crate) struct DeleteFlow<'a> {
    pub command: &'static str,
    pub yes: bool,
    pub dry_run: bool,
    pub wait: &'a crate::cli::flags::WaitFlags,
    pub output: &'a OutputFlags,
}

/// Plan, show, confirm, delete, report.
pub(crate) async fn run_delete_flow(ctx: &Context, target: &TargetFlags, flow: DeleteFlow<'_>) -> anyhow::Result<Exit> {
    let outputs = flow
        .output
        .options(&[OutputFormat::Text, OutputFormat::Yaml, OutputFormat::Json])?;
    let ask = !flow.yes && !flow.dry_run;
    if ask && !ctx.console.tty().stdin {
        anyhow::bail!("refusing to {} without confirmation (pass --yes)", flow.command);
    }
    let prepared = target.prepare(ctx, flow.command, IgnoreFlags::default()).await?;
    let mut info = prepared.info.clone();
    info.dry_run = flow.dry_run;
    info.no_wait = flow.wait.no_wait;
    let view = ProgressView::new(&ctx.console, flow.command, None);
    let session = prepared.session(info, ResultOptions::default(), &view);
    let plan = if flow.command == "prune" {
        commands::plan_prune(&session, &prepared.rendered.target).await?
    } else {
        commands::plan_delete(&session, &prepared.rendered.target).await?
    };
    for kept in &plan.kept {
        ctx.console
            .info(&format!("keeping {}: {}", kept.object_ref, kept.reason))?;
    }
    if plan.is_empty() {
        ctx.console.info("Nothing to delete.")?;
        let result = plan.preview();
        view.finish(&result);
        ctx.console.emit(&outputs, &ResultReport::new(&result))?;
        return result_exit(&result);
    }
    let mut list = String::from("The following objects will be deleted:\n");
    for r in &plan.objects {
        list.push_str(&format!("  {r}\n"));
    }
    ctx.console.stderr().write_text(&list)?;
    if ask {
        let question = format!("Do you really want to delete {} objects?", plan.objects.len());
        if !ctx.console.confirm(flow.command, &question).await? {
            let preview = plan.preview();
            print_to_stderr(&ctx.console, &preview, true)?;
            anyhow::bail!("{} aborted: not confirmed", flow.command);
        }
    }
    let options = DeleteOptions {
        dry_run: flow.dry_run,
        wait: (!flow.wait.no_wait).then_some(flow.wait.readiness_timeout),
    };
    let result = plan.execute(&session, options).await;
    view.finish(&result);
    ctx.console.emit(&outputs, &ResultReport::new(&result))?;
    result_exit(&result)
}
