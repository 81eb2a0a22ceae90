//! `kubectl kluctl gitops list` and `gitops get NAME`: KluctlDeployments as a table like
//! `flux get` prints (name, revision, suspended, ready, message, age), or as YAML/JSON.

use super::client::connect;
use super::report::{GetReport, ListReport};
use crate::cli::flags::OutputFlags;
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::OutputFormat;
use shared::crd::gitops::{Gitops, StatusRow};

const LIST_EXAMPLES: &str = "\
Examples:
  # The KluctlDeployments of a namespace
  kubectl kluctl gitops list -n team

  # Of every namespace, as JSON
  kubectl kluctl gitops list -A -o json";

const GET_EXAMPLES: &str = "\
Examples:
  # Status and last result of one KluctlDeployment
  kubectl kluctl gitops get app -n team

  # The whole object
  kubectl kluctl gitops get app -n team -o yaml";

/// Flags of `gitops list`.
#[derive(clap::Args, Debug)]
#[command(about = "List KluctlDeployments with readiness, revision and message", after_help = LIST_EXAMPLES)]
pub struct ListArgs {
    /// List the KluctlDeployments of every namespace
    #[arg(short = 'A', long)]
    all_namespaces: bool,

    #[command(flatten)]
    output: OutputFlags,
}

impl ListArgs {
    /// Prints the table.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self.output.options(&OutputFormat::ALL)?;
        let connection = connect(&ctx.kube, &ctx.env).await?;
        let gitops = Gitops::new(connection.client, &connection.namespace);
        let (objects, broken) = gitops.list(self.all_namespaces).await?;
        for name in broken {
            ctx.console.warn(&format!(
                "KluctlDeployment {name} does not match the CRD's schema and is not shown"
            ))?;
        }
        let report = ListReport {
            items: objects.iter().map(StatusRow::now).collect(),
            all_namespaces: self.all_namespaces,
        };
        ctx.console.emit(&outputs, &report)?;
        Ok(Exit::Success)
    }
}

/// Flags of `gitops get`.
#[derive(clap::Args, Debug)]
#[command(about = "Show one KluctlDeployment: readiness, revision and its last result", after_help = GET_EXAMPLES)]
pub struct GetArgs {
    /// Name of the KluctlDeployment
    name: String,

    #[command(flatten)]
    output: OutputFlags,
}

impl GetArgs {
    /// Prints the object.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self.output.options(&OutputFormat::ALL)?;
        let connection = connect(&ctx.kube, &ctx.env).await?;
        let object = Gitops::new(connection.client, &connection.namespace)
            .get(&self.name)
            .await?;
        let row = StatusRow::now(&object);
        ctx.console.emit(&outputs, &GetReport { object, row })?;
        Ok(Exit::Success)
    }
}
