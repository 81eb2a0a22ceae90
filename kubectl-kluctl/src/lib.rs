//! The `kubectl kluctl` plugin: command-line parsing and printing around the `shared` engine.
//! `main.rs` only parses and maps the result to an exit code; everything else is here so tests
//! can run commands in-process.

use clap::Parser;
use std::process::ExitCode;

/// Render, diff, deploy and prune Kluctl projects.
#[derive(Parser, Debug)]
#[command(name = "kubectl-kluctl", bin_name = "kubectl kluctl", version, about, long_about = None)]
pub struct Cli {}

/// Runs a parsed command line.
pub fn run(_cli: Cli) -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
