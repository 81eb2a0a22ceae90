//! The `kubectl kluctl` plugin: command-line parsing and printing around the `shared` engine.
//!
//! `main.rs` only builds the process's [`Io`], starts tracing and maps [`run`]'s result to an
//! exit code; everything else is here so tests run commands in-process with captured streams:
//!
//! ```no_run
//! use kubectl_kluctl::{Io, io::Env, run};
//! let (io, captured) = Io::captured(Env::empty(), "");
//! let code = run(["kubectl-kluctl", "version", "-o", "json"], io).unwrap();
//! assert_eq!(code, std::process::ExitCode::SUCCESS);
//! assert!(captured.stdout().contains("\"kind\": \"Version\""));
//! ```
//!
//! Layout: `cli` (clap root, flag groups, `KLUCTL_*` variables), `cmd` (one file per command),
//! `complete` (kubectl's completion protocol), `output` (formats, colours, progress, prompts),
//! `watch` (re-running on file changes), `docs` (the generated command reference), `exit`.

pub mod cli;
pub mod cmd;
pub mod complete;
pub mod docs;
pub mod exit;
pub mod io;
pub mod output;
pub mod watch;

pub use exit::{Exit, exit_for_error};
pub use io::Io;

use anyhow::Context as _;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

/// Runs a command line (program name first) against `io`.
///
/// Help, version and usage errors are printed to `io` and give `Ok` with their exit code;
/// a failed command gives `Err`, which the caller prints (`{:#}`) and maps with
/// [`exit_for_error`]. Ctrl-C (when `io.handle_interrupts`) stops the command, drops what it
/// holds (temporary directories, watchers) and gives exit code 130.
pub fn run<I, T>(argv: I, io: Io) -> anyhow::Result<ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let cli = match cli::parse(argv, &io)? {
        cli::Parsed::Done(exit) => return Ok(exit.into()),
        cli::Parsed::Complete(words) => {
            complete::answer(&words, &io)?;
            return Ok(Exit::Success.into());
        }
        cli::Parsed::Run(cli) => cli,
    };
    let mut ctx = cli.context(&io)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let handle_interrupts = io.handle_interrupts;
    let outcome = runtime.block_on(async move {
        let mut task = tokio::spawn(async move {
            let result = cli.command.run(&mut ctx).await;
            let flushed = ctx.console.flush().context("failed to write to stdout");
            result.and_then(|exit| flushed.map(|()| exit))
        });
        if !handle_interrupts {
            return join(task.await);
        }
        tokio::select! {
            joined = &mut task => join(joined),
            _ = tokio::signal::ctrl_c() => {
                // A second Ctrl-C while cleaning up ends the process at once.
                tokio::spawn(async {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        std::process::exit(Exit::Interrupted.code().into());
                    }
                });
                task.abort();
                // Dropping the command's future removes its temporary files and watchers.
                let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
                Ok(Exit::Interrupted)
            }
        }
    });
    // Blocking reads (a prompt nobody answered) must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(200));
    outcome.map(ExitCode::from)
}

fn join(joined: Result<anyhow::Result<Exit>, tokio::task::JoinError>) -> anyhow::Result<Exit> {
    match joined {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => Err(anyhow::anyhow!("command was cancelled: {err}")),
    }
}

/// Starts logging to stderr: warnings by default, everything with `--debug` (or
/// `KLUCTL_DEBUG=true`), or what `RUST_LOG` says; coloured only under the same rules as all other
/// output (a terminal, no `NO_COLOR`/`--no-color`/`TERM=dumb`). Safe to call more than once.
pub fn init_tracing(argv: &[OsString], env: &io::Env) {
    let no_color_flag = argv.iter().any(|w| w == "--no-color");
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && output::colour_allowed(no_color_flag, env);
    let debug = argv.iter().any(|w| w == "--debug")
        || matches!(
            env.get("KLUCTL_DEBUG"),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        );
    let filter = match env.non_empty("RUST_LOG") {
        Some(directives) => tracing_subscriber::EnvFilter::new(directives),
        None if debug => tracing_subscriber::EnvFilter::new("debug,hyper=info,rustls=info,h2=info,tower=info"),
        // kube-client logs every failed request at error level; the command reports the failure
        // itself, with its cause, so the log lines would only repeat it.
        None => tracing_subscriber::EnvFilter::new("warn,kube_client=off"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(debug)
        .try_init();
}
