//! The benchmark runner: `kluctl-bench [--quick] [--repetitions N] [SUITE...]`.
//! Run it through `scripts/bench`, which builds in release mode.

use clap::Parser;
use kluctl_e2e::bench::{BenchConfig, SUITES, format_table};
use std::process::ExitCode;

/// Measures kubectl-kluctl against the reference tools in the same run and prints ratios.
#[derive(Parser, Debug)]
#[command(name = "kluctl-bench")]
struct Cli {
    /// Fewer repetitions and smaller inputs (a smoke test of the runner).
    #[arg(long)]
    quick: bool,
    /// Timed repetitions per measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    repetitions: usize,
    /// List the suites and exit.
    #[arg(long)]
    list: bool,
    /// Suites to run (default: all).
    suites: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.list {
        for suite in SUITES {
            println!("{:<12} {}", suite.name, suite.about);
        }
        return ExitCode::SUCCESS;
    }
    if let Some(unknown) = cli
        .suites
        .iter()
        .find(|name| !SUITES.iter().any(|s| s.name == name.as_str()))
    {
        eprintln!("error: unknown suite {unknown:?} (see --list)");
        return ExitCode::from(2);
    }
    let config = BenchConfig {
        repetitions: if cli.quick { 1 } else { cli.repetitions },
        quick: cli.quick,
    };
    let mut rows = Vec::new();
    let mut failed = false;
    for suite in SUITES
        .iter()
        .filter(|s| cli.suites.is_empty() || cli.suites.iter().any(|n| n == s.name))
    {
        eprintln!("running {} ...", suite.name);
        match (suite.run)(&config) {
            Ok(mut suite_rows) => rows.append(&mut suite_rows),
            Err(err) => {
                eprintln!("error: suite {} failed: {err:#}", suite.name);
                failed = true;
            }
        }
    }
    print!("{}", format_table(&rows));
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
