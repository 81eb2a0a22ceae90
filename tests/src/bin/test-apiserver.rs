//! `test-apiserver`: serves the in-memory Kubernetes API server until killed.
//!
//! `test-apiserver --listen 127.0.0.1:0 --write-kubeconfig FILE [--simulate-controllers]
//! [--controller-delay 200ms] [--rbac] [--faults SPEC]` prints `listening on http://127.0.0.1:PORT`
//! as its first line of stdout and writes a kubeconfig (context `test`, user `admin`) to FILE.

use anyhow::Context as _;
use clap::Parser;
use kluctl_e2e::apiserver::{FaultSpec, ServerOptions, TestServer};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// An in-memory Kubernetes API server for tests, served over HTTP.
#[derive(Parser, Debug)]
#[command(name = "test-apiserver", version)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write the kubeconfig (context `test`, user `admin` with a bearer token).
    #[arg(long, value_name = "FILE")]
    write_kubeconfig: PathBuf,
    /// Simulate controllers: workloads become ready, Jobs complete, PVCs bind (off by default).
    #[arg(long)]
    simulate_controllers: bool,
    /// How long simulated controllers wait before reporting progress.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "100ms")]
    controller_delay: Duration,
    /// Enforce RBAC for users outside system:masters.
    #[arg(long)]
    rbac: bool,
    /// Inject faults, e.g. `seed=42;patch:deployments=0.1:500;get:*=0.05:429` (see the faults module docs).
    #[arg(long, value_name = "SPEC")]
    faults: Option<FaultSpec>,
    /// How often watches that allow bookmarks get one.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    bookmark_interval: Duration,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let options = ServerOptions {
        listen: cli.listen,
        kubeconfig_path: Some(cli.write_kubeconfig.clone()),
        simulate_controllers: cli.simulate_controllers,
        controller_delay: cli.controller_delay,
        rbac: cli.rbac,
        faults: cli.faults,
        bookmark_interval: cli.bookmark_interval,
        ..ServerOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(async {
        let server = TestServer::start(options).await.context("failed to start the server")?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {}", server.url()).context("failed to write to stdout")?;
        stdout.flush().context("failed to write to stdout")?;
        tokio::signal::ctrl_c().await.context("failed to wait for a signal")?;
        drop(server);
        Ok(())
    })
}
