//! `kubectl kluctl gitops suspend NAME` and `resume NAME`: stop and restart deploys of a
//! KluctlDeployment. `resume` asks for a reconcile right away and waits for its outcome.

use super::client::connect;
use super::reconcile::wait_outcome;
use crate::cli::duration::parse_duration;
use crate::cli::flags::OutputFlags;
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::OutputFormat;
use shared::crd::gitops::Gitops;
use std::time::Duration;

const SUSPEND_EXAMPLES: &str = "\
Examples:
  # Stop deploying (the agent keeps the last results; deletion then leaves objects in place)
  kubectl kluctl gitops suspend app -n team";

const RESUME_EXAMPLES: &str = "\
Examples:
  # Deploy again, now, and wait for the outcome
  kubectl kluctl gitops resume app -n team

  # Resume without waiting
  kubectl kluctl gitops resume app -n team --no-wait";

/// Flags of `gitops suspend`.
#[derive(clap::Args, Debug)]
#[command(about = "Suspend a KluctlDeployment: no deploys until it is resumed", after_help = SUSPEND_EXAMPLES)]
pub struct SuspendArgs {
    /// Name of the KluctlDeployment
    name: String,
}

impl SuspendArgs {
    /// Sets `spec.suspend`.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let connection = connect(&ctx.kube, &ctx.env).await?;
        Gitops::new(connection.client, &connection.namespace)
            .set_suspend(&self.name, true)
            .await?;
        ctx.console.info(&format!(
            "KluctlDeployment {}/{} suspended",
            connection.namespace, self.name
        ))?;
        Ok(Exit::Success)
    }
}

/// Flags of `gitops resume`.
#[derive(clap::Args, Debug)]
#[command(about = "Resume a suspended KluctlDeployment and wait for its next deploy", after_help = RESUME_EXAMPLES)]
pub struct ResumeArgs {
    /// Name of the KluctlDeployment
    name: String,

    /// Return once resumed, without waiting for the deploy
    #[arg(long)]
    no_wait: bool,

    /// How long to wait for the agent
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    timeout: Duration,

    #[command(flatten)]
    output: OutputFlags,
}

impl ResumeArgs {
    /// Clears `spec.suspend`, then requests a reconcile and waits for it.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self.output.options(&OutputFormat::ALL)?;
        let connection = connect(&ctx.kube, &ctx.env).await?;
        let gitops = Gitops::new(connection.client, &connection.namespace);
        gitops.set_suspend(&self.name, false).await?;
        ctx.console.info(&format!(
            "KluctlDeployment {}/{} resumed",
            connection.namespace, self.name
        ))?;
        if self.no_wait {
            return Ok(Exit::Success);
        }
        wait_outcome(ctx, &gitops, &self.name, self.timeout, &outputs).await
    }
}
