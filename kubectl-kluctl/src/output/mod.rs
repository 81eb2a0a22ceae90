//! How commands talk to the user: results on stdout (in the `-o` formats), everything else
//! (logs, progress, warnings, prompts) on stderr.
//!
//! Rules kept here so that every command follows them:
//! - colour only on a terminal, never with `NO_COLOR` set (non-empty), `TERM=dumb` or
//!   `--no-color`, and never in files;
//! - progress is a bar on a terminal and plain lines otherwise ([`Progress`]);
//! - no prompt without a terminal on stdin: [`Console::confirm`] refuses with
//!   `refusing to <action> without confirmation (pass --yes)`.

mod format;
mod paint;
mod progress;
mod result;

pub use format::{
    API_VERSION, OutputFormat, OutputOptions, OutputSpec, Report, TextStyle, envelope, write_objects, write_report,
};
pub use paint::{Paint, Painted};
pub use progress::Progress;
pub use result::{ResultReport, ValidateReport, diff_exit, result_exit, validate_exit};

use crate::io::{Env, Io, SharedReader, SharedWriter, Tty};
use anyhow::Context as _;
use serde_json::Value;
use std::io::{self, Write};
use std::path::Path;

/// The streams of a running command plus the rules for writing to them.
#[derive(Clone)]
pub struct Console {
    stdout: SharedWriter,
    stderr: SharedWriter,
    stdin: SharedReader,
    tty: Tty,
    colour_allowed: bool,
    width: usize,
}

/// The width of text output when stdout is not a terminal and `COLUMNS` is not set.
const DEFAULT_WIDTH: usize = 120;

/// Whether colour may be used at all, before looking at terminals.
pub fn colour_allowed(no_color_flag: bool, env: &Env) -> bool {
    !no_color_flag && env.non_empty("NO_COLOR").is_none() && env.get("TERM") != Some("dumb")
}

impl Console {
    /// A console over the streams of `io`; `no_color` is the `--no-color` flag.
    pub fn new(io: &Io, no_color: bool) -> Console {
        Console {
            stdout: io.stdout.clone(),
            stderr: io.stderr.clone(),
            stdin: io.stdin.clone(),
            tty: io.tty,
            colour_allowed: colour_allowed(no_color, &io.env),
            width: io
                .stdout_width
                .or_else(|| io.env.get("COLUMNS").and_then(|c| c.parse().ok()))
                .filter(|w| *w >= 40)
                .unwrap_or(DEFAULT_WIDTH),
        }
    }

    /// stdout, for results only.
    pub fn stdout(&self) -> SharedWriter {
        self.stdout.clone()
    }

    /// stderr, for everything that is not the result.
    pub fn stderr(&self) -> SharedWriter {
        self.stderr.clone()
    }

    /// Which streams are terminals.
    pub fn tty(&self) -> Tty {
        self.tty
    }

    /// How wide text on stdout may be: the terminal's width, else `COLUMNS`, else 120.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Colours for stdout.
    pub fn stdout_paint(&self) -> Paint {
        Paint::new(self.colour_allowed && self.tty.stdout)
    }

    /// Colours for stderr.
    pub fn stderr_paint(&self) -> Paint {
        Paint::new(self.colour_allowed && self.tty.stderr)
    }

    /// A log line on stderr.
    pub fn info(&self, line: &str) -> io::Result<()> {
        self.stderr.write_text(&format!("{line}\n"))
    }

    /// `warning: <message>` on stderr.
    pub fn warn(&self, message: &str) -> io::Result<()> {
        let prefix = self.stderr_paint().warning("warning:");
        self.stderr.write_text(&format!("{prefix} {message}\n"))
    }

    /// `error: <message>` on stderr, for errors shown without ending the command (watch mode).
    pub fn error(&self, error: &anyhow::Error) -> io::Result<()> {
        let prefix = self.stderr_paint().error("error:");
        self.stderr.write_text(&format!("{prefix} {error:#}\n"))
    }

    /// A progress indicator for `label` (`total` steps, or a spinner when unknown).
    pub fn progress(&self, label: &str, total: Option<u64>) -> Progress {
        if self.tty.stderr {
            Progress::terminal(self.stderr.clone(), label, total)
        } else {
            Progress::lines(self.stderr.clone(), label)
        }
    }

    /// Asks `question` on stderr and reads the answer from stdin; only `y` or `yes` proceed.
    ///
    /// Without a terminal on stdin nobody can answer, so this fails with "refusing to
    /// `<action>` without confirmation (pass --yes)" instead of waiting or guessing. Callers
    /// skip the call when `--yes` is given.
    pub async fn confirm(&self, action: &str, question: &str) -> anyhow::Result<bool> {
        if !self.tty.stdin {
            anyhow::bail!("refusing to {action} without confirmation (pass --yes)");
        }
        self.stderr.write_text(&format!("{question} [y/N] "))?;
        let stdin = self.stdin.clone();
        // A blocking read on its own thread keeps Ctrl-C working while waiting for the answer.
        let answer = tokio::task::spawn_blocking(move || stdin.read_line())
            .await
            .context("failed to read the answer")??;
        let yes = answer.is_some_and(|a| matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes"));
        if !yes {
            self.info("Aborted.")?;
        }
        Ok(yes)
    }

    /// Prints a report to every destination of `outputs`.
    pub fn emit<R: Report>(&self, outputs: &OutputOptions, report: &R) -> anyhow::Result<()> {
        let width = self.width;
        self.emit_with(outputs, |out, format, paint| {
            write_report(out, format, report, TextStyle { paint, width })
        })
    }

    /// Prints objects (render) to every destination of `outputs`.
    pub fn emit_objects(&self, outputs: &OutputOptions, objects: &[Value]) -> anyhow::Result<()> {
        self.emit_with(outputs, |out, format, _| write_objects(out, format, objects))
    }

    /// Prints objects with a YAML writer of the caller's (`kustomize` prints exactly what
    /// `kubectl kustomize` prints); JSON is the usual `v1/List`.
    pub fn emit_objects_as(
        &self,
        outputs: &OutputOptions,
        objects: &[Value],
        yaml: &dyn Fn(&[Value]) -> String,
    ) -> anyhow::Result<()> {
        self.emit_with(outputs, |out, format, _| match format {
            OutputFormat::Json => write_objects(out, format, objects),
            OutputFormat::Text | OutputFormat::Yaml => out.write_all(yaml(objects).as_bytes()),
        })
    }

    fn emit_with(
        &self,
        outputs: &OutputOptions,
        write: impl Fn(&mut dyn Write, OutputFormat, Paint) -> io::Result<()>,
    ) -> anyhow::Result<()> {
        for spec in &outputs.specs {
            match &spec.path {
                None => {
                    let mut stdout = self.stdout();
                    write(&mut stdout, spec.format, self.stdout_paint()).context("failed to write to stdout")?;
                    stdout.flush().context("failed to write to stdout")?;
                }
                Some(path) => {
                    let mut buffer = Vec::new();
                    write(&mut buffer, spec.format, Paint::plain())?;
                    write_file(path, &buffer)?;
                }
            }
        }
        Ok(())
    }

    /// Flushes stdout (results are buffered).
    pub fn flush(&self) -> io::Result<()> {
        self.stdout.clone().flush()
    }
}

fn write_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("failed to write output file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(env: Env, tty: Tty, stdin: &str, no_color: bool) -> (Console, crate::io::Captured) {
        let (mut io, captured) = Io::captured(env, stdin);
        io.tty = tty;
        (Console::new(&io, no_color), captured)
    }

    const ALL_TTY: Tty = Tty {
        stdin: true,
        stdout: true,
        stderr: true,
    };

    #[test]
    fn colour_needs_a_terminal_and_no_opt_out() {
        let (c, _) = console(Env::empty(), ALL_TTY, "", false);
        assert!(c.stdout_paint().enabled() && c.stderr_paint().enabled());
        let (c, _) = console(Env::empty(), Tty::default(), "", false);
        assert!(!c.stdout_paint().enabled() && !c.stderr_paint().enabled());
        let (c, _) = console(Env::empty().with("NO_COLOR", "1"), ALL_TTY, "", false);
        assert!(!c.stdout_paint().enabled());
        let (c, _) = console(Env::empty().with("NO_COLOR", ""), ALL_TTY, "", false);
        assert!(c.stdout_paint().enabled(), "an empty NO_COLOR does not count");
        let (c, _) = console(Env::empty().with("TERM", "dumb"), ALL_TTY, "", false);
        assert!(!c.stderr_paint().enabled());
        let (c, _) = console(Env::empty(), ALL_TTY, "", true);
        assert!(!c.stdout_paint().enabled());
    }

    #[test]
    fn text_width_comes_from_the_terminal_then_columns() {
        let (c, _) = console(Env::empty(), Tty::default(), "", false);
        assert_eq!(c.width(), DEFAULT_WIDTH);
        let (c, _) = console(Env::empty().with("COLUMNS", "80"), Tty::default(), "", false);
        assert_eq!(c.width(), 80);
        let (mut io, _) = Io::captured(Env::empty().with("COLUMNS", "80"), "");
        io.stdout_width = Some(200);
        assert_eq!(Console::new(&io, false).width(), 200);
    }

    #[tokio::test]
    async fn confirm_refuses_without_a_terminal() {
        let (c, captured) = console(Env::empty(), Tty::default(), "y\n", false);
        let err = c.confirm("deploy", "Proceed?").await.unwrap_err();
        assert_eq!(err.to_string(), "refusing to deploy without confirmation (pass --yes)");
        assert_eq!(captured.stderr(), "", "no prompt is shown when nobody can answer");
    }

    #[tokio::test]
    async fn confirm_accepts_only_yes() {
        for (answer, expected) in [
            ("y\n", true),
            ("YES\n", true),
            ("n\n", false),
            ("\n", false),
            ("", false),
        ] {
            let (c, captured) = console(Env::empty(), ALL_TTY, answer, false);
            assert_eq!(c.confirm("deploy", "Proceed?").await.unwrap(), expected, "{answer:?}");
            assert!(captured.stderr().starts_with("Proceed? [y/N] "));
            assert_eq!(captured.stdout(), "", "prompts never go to stdout");
        }
    }

    #[test]
    fn results_go_to_stdout_and_files_progress_to_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let (c, captured) = console(Env::empty(), Tty::default(), "", false);
        let file = dir.path().join("objects.json");
        let outputs = OutputOptions::new(
            &[
                "yaml".parse().unwrap(),
                format!("json={}", file.display()).parse().unwrap(),
            ],
            &[OutputFormat::Yaml, OutputFormat::Json],
        )
        .unwrap();
        let progress = c.progress("Rendering", Some(2));
        progress.inc(2);
        progress.finish("2 objects");
        c.emit_objects(&outputs, &[serde_json::json!({"kind": "ConfigMap"})])
            .unwrap();
        assert_eq!(captured.stdout(), "kind: ConfigMap\n");
        assert_eq!(captured.stderr(), "Rendering...\nRendering: 2 objects\n");
        let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(written["items"][0]["kind"], "ConfigMap");
    }
}
