//! `kluctl-agent`: one agent per namespace, with namespaced RBAC only, that watches
//! `KluctlDeployment` objects, fetches the Flux source artifacts they name and deploys them with
//! the same engine as the plugin.
//!
//! Data flow of one reconcile (one module per step):
//!
//! ```text
//! controller (watch KluctlDeployments + Flux sources, triggers) ─► reconcile
//!   ─► source::Sources::get ─SourceObject─► dependencies ─► artifact::Fetcher::fetch ─FetchedArtifact─►
//!   engine::Engine::deploy (render, scope check, apply, prune) ─EngineReport─► status + events + metrics
//! ```
//!
//! `main.rs` parses [`config::Args`], starts logging and calls [`run`]; everything else is in
//! the library so tests run the agent in-process.

pub mod artifact;
pub mod config;
pub mod controller;
pub mod dependencies;
pub mod engine;
pub mod events;
pub mod logging;
pub mod metrics;
pub mod reconcile;
pub mod server;
pub mod source;
pub mod status;

use anyhow::Context as _;
use config::AgentConfig;
use std::sync::Arc;

/// The agent's version, as built.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How the agent reaches the API server: in-cluster inside a pod, else a kubeconfig resolved
/// as kubectl does (`--kubeconfig`, `KUBECONFIG`, `~/.kube/config`, `--context`).
pub async fn kube_config(config: &AgentConfig) -> anyhow::Result<kube::Config> {
    let options = kube::config::KubeConfigOptions {
        context: config.context.clone(),
        ..Default::default()
    };
    let mut kube_config = match &config.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("failed to read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .with_context(|| format!("failed to load kubeconfig {}", path.display()))?
        }
        None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && config.context.is_none() => {
            kube::Config::incluster().context("failed to load the in-cluster configuration")?
        }
        None => kube::Config::from_kubeconfig(&options)
            .await
            .context("failed to load the kubeconfig (set KUBECONFIG or pass --kubeconfig)")?,
    };
    kube_config.default_namespace = config.namespace.clone();
    Ok(kube_config)
}

/// Runs the agent until `shutdown` resolves: endpoints, source discovery, the controller.
pub async fn run(
    config: AgentConfig,
    client: kube::Client,
    engine: Arc<dyn engine::Engine>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    shared::http::install_crypto_provider();
    let metrics = Arc::new(metrics::Metrics::default());
    let health = server::Health::new();
    let (metrics_addr, health_addr) = server::serve(
        config.metrics_addr,
        config.health_addr,
        metrics.clone(),
        health.clone(),
        config.namespace.clone(),
    )
    .await
    .context("failed to listen on the metrics or health address")?;
    let hosts: Vec<String> = config.fetch.allowed_hosts.iter().map(ToString::to_string).collect();
    tracing::info!(
        version = VERSION,
        namespace = %config.namespace,
        artifact_hosts = %hosts.join(","),
        artifact_host_override = config.fetch.host_override.as_deref().unwrap_or("none"),
        max_artifact_bytes = config.fetch.max_artifact_bytes,
        max_extracted_bytes = config.fetch.extract.max_bytes,
        http_retries = config.fetch.retries,
        concurrency = config.concurrency,
        allow_out_of_namespace = config.allow_out_of_namespace,
        default_service_account = config.default_service_account.as_deref().unwrap_or("none"),
        %metrics_addr,
        %health_addr,
        "starting kluctl-agent"
    );
    let sources = source::Sources::discover(client.clone(), &config.namespace).await;
    let fetcher = artifact::Fetcher::new(config.fetch.clone()).context("failed to set up artifact downloads")?;
    let kd_api = kube::Api::namespaced_with(client.clone(), &config.namespace, &controller::kd_resource());
    let ctx = Arc::new(controller::Context {
        recorder: events::Recorder::new(client.clone(), &config.namespace),
        config,
        kd_api,
        sources,
        fetcher,
        engine,
        metrics,
        gate: controller::Gate::default(),
    });
    controller::run(ctx, client, health, shutdown).await;
    tracing::info!("kluctl-agent stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    /// `agent/config/crd.yaml` is generated from `shared::crd`; regenerate it with
    /// `cargo run -p kluctl-agent --bin crdgen > agent/config/crd.yaml`.
    #[test]
    fn committed_crd_is_up_to_date() {
        let committed = include_str!("../config/crd.yaml");
        assert!(
            committed == shared::crd::crd_yaml(),
            "agent/config/crd.yaml is out of date: run `cargo run -p kluctl-agent --bin crdgen > agent/config/crd.yaml`"
        );
    }
}
