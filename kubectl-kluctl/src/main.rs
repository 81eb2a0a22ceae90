//! `kubectl-kluctl`: builds the process's streams, starts logging, runs the command line and
//! turns the outcome into the exit code (see `exit.rs` for the codes).

use kubectl_kluctl::{Exit, Io, exit_for_error, init_tracing, run};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Temporary renders go into one private directory that is removed when the command ends,
    // however it ends: a Ctrl-C that lands while a render still runs on a blocking thread leaves
    // nothing behind either.
    let temp_root = shared::render::TempRoot::create();
    let argv: Vec<_> = std::env::args_os().collect();
    let io = Io::process();
    init_tracing(&argv, &io.env);
    let stderr = io.stderr.clone();
    let code = match run(argv, io) {
        Ok(code) => code,
        Err(error) => {
            let exit = exit_for_error(&error);
            if exit != Exit::Success {
                let _ = stderr.write_text(&format!("error: {error:#}\n"));
            }
            exit.into()
        }
    };
    drop(temp_root);
    code
}
