//! `kubectl kluctl validate`: the readiness of every deployed object of a target, once or until
//! ready (`--wait`). Output: a `ValidateResult`; exit 1 when not everything is ready.

use super::deploy::{ProgressView, TargetFlags, within};
use crate::cli::duration::parse_duration;
use crate::cli::flags::OutputFlags;
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{OutputFormat, ValidateReport, validate_exit};
use shared::commands::{self, ValidateOptions};
use shared::diff::IgnoreFlags;
use shared::result::ResultOptions;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  # Is everything of the target prod ready?
  kubectl kluctl validate -t prod

  # Wait up to 5 minutes for it, and treat warnings as errors
  kubectl kluctl validate -t prod --wait 5m --warnings-as-errors";

const LONG: &str = "\
Reads every rendered object of the target from the cluster and checks its readiness with the
rules deploy waits with (workload rollouts, Jobs, Pods, PVCs, LoadBalancer Services, CRDs, Ready
conditions; failed Jobs and image pull errors are errors at once). Missing objects are errors.
validate-result.kluctl.io/* annotations are listed as results. Exit code 0 when everything is
ready, 1 otherwise.";

/// Flags of `validate`.
#[derive(clap::Args, Debug)]
#[command(about = "Check that the deployed objects of a target are ready", long_about = LONG, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    target: TargetFlags,
    /// Validate again until everything is ready, at most this long
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Misc")]
    wait: Option<Duration>,
    /// The pause between two validations with --wait
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s", help_heading = "Misc")]
    sleep: Duration,
    /// Fail on warnings too
    #[arg(long, help_heading = "Misc")]
    warnings_as_errors: bool,
    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Runs `validate`.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self
            .output
            .options(&[OutputFormat::Text, OutputFormat::Yaml, OutputFormat::Json])?;
        let options = ValidateOptions {
            wait: self.wait,
            sleep: self.sleep,
            warnings_as_errors: self.warnings_as_errors,
        };
        let timeout = self.target.project.timeout;
        let result = within(timeout, async {
            let prepared = self.target.prepare(ctx, "validate", IgnoreFlags::default()).await?;
            let view = ProgressView::new(&ctx.console, "validate", None);
            let session = prepared.session(prepared.info.clone(), ResultOptions::default(), &view);
            let result = commands::validate(&session, &prepared.rendered.target, &options).await?;
            view.finish_with(&format!(
                "{}, {} errors, {} warnings",
                if result.ready { "ready" } else { "not ready" },
                result.errors.len(),
                result.warnings.len()
            ));
            Ok(result)
        })
        .await?;
        ctx.console.emit(&outputs, &ValidateReport(&result))?;
        validate_exit(&result)
    }
}
