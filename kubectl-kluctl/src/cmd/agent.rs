//! `kubectl kluctl agent install -n NS`: the per-namespace agent (ServiceAccount, Role,
//! RoleBindings, Deployment), with namespaced RBAC only: no ClusterRole or ClusterRoleBinding is
//! created; deploy rights come from a RoleBinding to a built-in ClusterRole (`admin` by default)
//! inside the namespace. `--export` prints the manifests instead of applying them.

use crate::cmd::Context;
use crate::cmd::gitops::client::connect;
use crate::exit::Exit;
use shared::crd::manifests::{AgentInstallOptions, agent_manifests, default_agent_image};

const EXAMPLES: &str = "\
Examples:
  # Install the agent for namespace team (the CRD must be installed: kubectl kluctl install-crds)
  kubectl kluctl agent install -n team

  # Deploy only as the ServiceAccounts KluctlDeployments name, and print instead of applying
  kubectl kluctl agent install -n team --deploy-cluster-role none --export";

/// Flags of `agent`.
#[derive(clap::Args, Debug)]
#[command(about = "Install the per-namespace GitOps agent", after_help = EXAMPLES, subcommand_required = true, arg_required_else_help = true)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    Install(InstallArgs),
}

/// Flags of `agent install`.
#[derive(clap::Args, Debug)]
#[command(about = "Install kluctl-agent into one namespace (namespaced RBAC only)", after_help = EXAMPLES)]
struct InstallArgs {
    /// Container image of the agent
    #[arg(long, value_name = "IMAGE", default_value_t = default_agent_image())]
    image: String,

    /// Built-in ClusterRole bound inside the namespace for deploying (`none`: deploy only as the
    /// ServiceAccounts KluctlDeployments name)
    #[arg(long, value_name = "ROLE", default_value = "admin")]
    deploy_cluster_role: String,

    /// Hosts the agent may download artifacts from, host:port (default: Flux's source-controller)
    #[arg(long, value_name = "HOST:PORT", value_delimiter = ',')]
    artifact_host_allowlist: Vec<String>,

    /// KluctlDeployments the agent reconciles at the same time
    #[arg(long, value_name = "N")]
    concurrency: Option<u16>,

    /// Memory limit of the agent container
    #[arg(long, value_name = "QUANTITY", default_value = "128Mi")]
    memory_limit: String,

    /// Print the manifests as YAML instead of applying them
    #[arg(long)]
    export: bool,
}

impl Args {
    /// Runs the subcommand.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        match self.command {
            Command::Install(args) => args.run(ctx).await,
        }
    }
}

impl InstallArgs {
    async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let namespace = match &ctx.kube.namespace {
            Some(ns) => ns.clone(),
            None if self.export => {
                return Err(crate::cli::flags::usage_error(
                    "agent install --export needs -n NAMESPACE (the namespace the agent serves)",
                ));
            }
            None => connect(&ctx.kube, &ctx.env).await?.namespace,
        };
        let options = AgentInstallOptions {
            image: self.image.clone(),
            deploy_cluster_role: Some(self.deploy_cluster_role.clone()).filter(|r| r != "none" && !r.is_empty()),
            artifact_hosts: self.artifact_host_allowlist.clone(),
            concurrency: self.concurrency,
            memory_limit: self.memory_limit.clone(),
            ..AgentInstallOptions::new(&namespace)
        };
        let objects = agent_manifests(&options);
        crate::cmd::gitops::client::export_or_apply(ctx, &objects, &namespace, self.export).await?;
        if self.export {
            return Ok(Exit::Success);
        }
        ctx.console.info(&format!(
            "note: Flux's default network policies only let pods of flux-system reach source-controller; \
             allow ingress from namespace {namespace} to source-controller (port 9090) so the agent can download artifacts"
        ))?;
        Ok(Exit::Success)
    }
}
