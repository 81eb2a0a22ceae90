//! `kubectl kluctl gitops reconcile NAME`: sets `reconcile.fluxcd.io/requestedAt`, waits until
//! the agent handled that request, and prints the outcome with the summary of the run. Exits 1
//! when the KluctlDeployment ends up not Ready.

use super::client::connect;
use super::report::OutcomeReport;
use crate::cli::duration::parse_duration;
use crate::cli::flags::OutputFlags;
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{OutputFormat, OutputOptions};
use shared::crd::gitops::Gitops;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  # Deploy now and print the outcome
  kubectl kluctl gitops reconcile app -n team

  # Give a slow deploy more time, and print the outcome as YAML
  kubectl kluctl gitops reconcile app -n team --timeout 15m -o yaml";

/// Flags of `gitops reconcile`.
#[derive(clap::Args, Debug)]
#[command(about = "Ask the agent to reconcile a KluctlDeployment now and wait for the outcome", after_help = EXAMPLES)]
pub struct Args {
    /// Name of the KluctlDeployment
    name: String,

    /// How long to wait for the agent
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    timeout: Duration,

    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Requests the reconcile and waits.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self.output.options(&OutputFormat::ALL)?;
        let connection = connect(&ctx.kube, &ctx.env).await?;
        let gitops = Gitops::new(connection.client, &connection.namespace);
        let kd = gitops.get(&self.name).await?;
        if kd.spec.suspend {
            ctx.console.warn(&format!(
                "KluctlDeployment {}/{} is suspended: the agent records the request but does not deploy (resume it with `kubectl kluctl gitops resume {}`)",
                connection.namespace, self.name, self.name
            ))?;
        }
        wait_outcome(ctx, &gitops, &self.name, self.timeout, &outputs).await
    }
}

/// Requests a reconcile, waits for the agent to handle it, prints the outcome; 1 when not Ready.
pub(super) async fn wait_outcome(
    ctx: &mut Context,
    gitops: &Gitops,
    name: &str,
    timeout: Duration,
    outputs: &OutputOptions,
) -> anyhow::Result<Exit> {
    let token = gitops.request_reconcile(name).await?;
    let progress = ctx
        .console
        .progress(&format!("waiting for the agent to reconcile {name}"), None);
    let handled = gitops.wait_handled(name, &token, timeout).await;
    drop(progress);
    let report = OutcomeReport::of(&handled?);
    ctx.console.emit(outputs, &report)?;
    Ok(if report.failed() { Exit::Failure } else { Exit::Success })
}
