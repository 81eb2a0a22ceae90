use clap::Parser;
use std::process::ExitCode;

/// Per-namespace GitOps agent for Kluctl projects.
#[derive(Parser, Debug)]
#[command(name = "kluctl-agent", version = kluctl_agent::VERSION)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!("kluctl-agent: the reconciler is not part of this build yet");
    ExitCode::from(1)
}
