//! `kubectl kluctl diff`: render the target and dry-run every object against the cluster
//! (server-side apply with `dryRun=All`, hooks included), then list new, changed and orphan
//! objects. Output: a `CommandResult`; exit code as `kubectl diff` (0 none, 1 changes, 2 failure).

use super::deploy::{ProgressView, TargetFlags, deploy_options, fill_deploy_info, ignore_flags, within};
use crate::cli::flags::{ApplyFlags, DiffIgnoreFlags, ObfuscateFlags, OutputFlags, ShortOutputFlags};
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{OutputFormat, ResultReport, diff_exit};
use shared::commands;
use shared::result::ResultOptions;

const EXAMPLES: &str = "\
Examples:
  # What would deploying the target prod change?
  kubectl kluctl diff -t prod

  # Only the names, without the diffs, and ignore changes of kluctl's tag labels
  kubectl kluctl diff -t prod --short-output --ignore-tags

  # One line per object that would change, for a change ticket
  kubectl kluctl diff -t prod --names-only

  # In CI: fail the step on errors, not on changes
  kubectl kluctl diff -t prod -o yaml=diff.yaml || [ $? -eq 1 ]";

const LONG: &str = "\
Shows what `deploy` would change, without changing anything: every rendered object is applied
with server-side apply as a dry run (field manager kluctl) and the answer is compared with the
live object after normalization (managed fields, status, server-set metadata, ignoreForDiff
rules, kluctl.io/ignore-diff* annotations and the --ignore-* flags), so a change a re-apply would
not make is never shown. Orphan objects (objects of the target's discriminator that are no longer
rendered) are listed. Secret values are masked (which keys changed stays visible) unless
--no-obfuscate.

Exit codes, as kubectl diff: 0 no changes, 1 changes, 2 the diff failed.";

/// Flags of `diff`.
#[derive(clap::Args, Debug)]
#[command(about = "Show what deploying a target would change", long_about = LONG, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    target: TargetFlags,
    #[command(flatten)]
    apply: ApplyFlags,
    #[command(flatten)]
    ignore: DiffIgnoreFlags,
    #[command(flatten)]
    obfuscate: ObfuscateFlags,
    #[command(flatten)]
    short: ShortOutputFlags,
    /// One `<status> <object>` line per new, changed or orphan object (for change tickets and scripts)
    #[arg(long, help_heading = "Misc")]
    names_only: bool,
    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Runs `diff`.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self
            .output
            .options(&[OutputFormat::Text, OutputFormat::Yaml, OutputFormat::Json])
            .map_err(|e| Exit::Usage.with_error(e))?;
        let options = deploy_options(&self.apply, &Default::default(), true);
        let timeout = self.target.project.timeout;
        let result = within(timeout, async {
            let prepared = self.target.prepare(ctx, "diff", ignore_flags(&self.ignore)).await?;
            let mut info = prepared.info.clone();
            fill_deploy_info(&mut info, &options);
            let view = ProgressView::new(&ctx.console, "diff", Some(prepared.object_count()));
            let result_options = ResultOptions {
                keep_objects: false,
                reveal_secrets: self.obfuscate.no_obfuscate,
            };
            let session = prepared.session(info, result_options, &view);
            let result = commands::diff(&session, &prepared.rendered.target, &options).await?;
            view.finish(&result);
            Ok(result)
        })
        .await
        .map_err(|e| Exit::DiffFailure.with_error(e))?;
        ctx.console
            .emit(
                &outputs,
                &ResultReport::new(&result)
                    .short(self.short.short_output)
                    .names_only(self.names_only),
            )
            .map_err(|e| Exit::DiffFailure.with_error(e))?;
        diff_exit(&result)
    }
}
