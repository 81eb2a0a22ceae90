//! `kubectl kluctl gitops delete NAME`: deletes a KluctlDeployment after confirmation and waits
//! until the agent finalized it (with `spec.delete`, after deleting every deployed object).

use super::client::connect;
use crate::cli::duration::parse_duration;
use crate::cli::flags::YesFlags;
use crate::cmd::Context;
use crate::exit::Exit;
use shared::crd::gitops::Gitops;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  # Delete it (asks first) and wait for the agent to finish
  kubectl kluctl gitops delete app -n team

  # In a script: no question, no waiting
  kubectl kluctl gitops delete app -n team --yes --no-wait";

/// Flags of `gitops delete`.
#[derive(clap::Args, Debug)]
#[command(about = "Delete a KluctlDeployment (with spec.delete, the agent deletes what it deployed)", after_help = EXAMPLES)]
pub struct Args {
    /// Name of the KluctlDeployment
    name: String,

    /// Return once deletion started, without waiting for the agent
    #[arg(long)]
    no_wait: bool,

    /// How long to wait for the agent
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    timeout: Duration,

    #[command(flatten)]
    yes: YesFlags,
}

impl Args {
    /// Confirms, deletes and waits.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let connection = connect(&ctx.kube, &ctx.env).await?;
        let gitops = Gitops::new(connection.client, &connection.namespace);
        let kd = gitops.get(&self.name).await?;
        let what = format!("KluctlDeployment {}/{}", connection.namespace, self.name);
        if !self.yes.yes {
            let consequence = if kd.spec.delete && !kd.spec.suspend {
                "the agent will also delete every object it deployed"
            } else {
                "the deployed objects stay in place"
            };
            let question = format!("Delete {what}? ({consequence})");
            if !ctx.console.confirm("delete", &question).await? {
                return Ok(Exit::Failure);
            }
        }
        gitops
            .delete(&self.name, (!self.no_wait).then_some(self.timeout))
            .await?;
        ctx.console.info(&format!("{what} deleted"))?;
        Ok(Exit::Success)
    }
}
