use anyhow::Context as _;
use clap::Parser;
use kluctl_agent::config::Args;
use kluctl_agent::engine::kluctl::KluctlEngine;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let args = Args::parse();
    kluctl_agent::logging::init(&args.log_level, args.json_logs);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.validate()?;
    shared::http::install_crypto_provider();
    let kube_config = kluctl_agent::kube_config(&config).await?;
    let context = config.context.clone().unwrap_or_else(|| "in-cluster".to_string());
    let engine = Arc::new(
        KluctlEngine::new(kube_config.clone(), &context, 0).refusing_vars_sources(config.refused_vars_sources.clone()),
    );
    let client = kube::Client::try_from(kube_config).context("failed to create the Kubernetes client")?;
    kluctl_agent::run(config, client, engine, kluctl_agent::logging::shutdown_signal()).await
}
