use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = kubectl_kluctl::Cli::parse();
    match kubectl_kluctl::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
