//! `kubectl kluctl install-crds`: the `KluctlDeployment` CustomResourceDefinition, generated from
//! `shared::crd`, applied server-side (needs cluster-admin once) and waited for until the API
//! serves it; `--export` prints it instead.

use crate::cmd::Context;
use crate::cmd::gitops::client::connect;
use crate::exit::Exit;
use anyhow::bail;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use std::time::{Duration, Instant};

const EXAMPLES: &str = "\
Examples:
  # Install (or update) the CRD, as cluster-admin
  kubectl kluctl install-crds

  # Print it, e.g. to commit it to a GitOps repository
  kubectl kluctl install-crds --export > kluctldeployment-crd.yaml";

/// Flags of `install-crds`.
#[derive(clap::Args, Debug)]
#[command(about = "Install the KluctlDeployment CRD (needs cluster-admin once)", after_help = EXAMPLES)]
pub struct Args {
    /// Print the CRD as YAML instead of applying it
    #[arg(long)]
    export: bool,
}

impl Args {
    /// Applies (or prints) the CRD.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let crd = serde_json::to_value(shared::crd::crd())?;
        if self.export {
            ctx.console.stdout().write_text(&shared::yaml::to_yaml_string(&crd))?;
            return Ok(Exit::Success);
        }
        let connection = connect(&ctx.kube, &ctx.env).await?;
        shared::crd::gitops::apply_objects(&connection.client, std::slice::from_ref(&crd), &connection.namespace)
            .await?;
        let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let api: kube::Api<CustomResourceDefinition> = kube::Api::all(connection.client.clone());
        let started = Instant::now();
        loop {
            let established = api.get_opt(&name).await?.is_some_and(|crd| {
                crd.status
                    .and_then(|s| s.conditions)
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"))
            });
            if established {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("failed to wait for CRD {name}: not established after 60s");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        ctx.console
            .info(&format!("CustomResourceDefinition {name} installed"))?;
        Ok(Exit::Success)
    }
}
