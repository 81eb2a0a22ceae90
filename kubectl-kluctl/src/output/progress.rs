//! Progress on stderr: an indicatif bar or spinner on a terminal, plain log lines otherwise
//! (CI logs and pipes get one line per event instead of redraw noise).

use crate::io::SharedWriter;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// A running progress indicator, created by `Console::progress`.
pub struct Progress {
    inner: Inner,
}

enum Inner {
    Bar { bar: ProgressBar, stderr: SharedWriter },
    Lines { stderr: SharedWriter, label: String },
}

impl Progress {
    /// A bar (with `total`) or spinner drawn on the terminal's stderr.
    pub(crate) fn terminal(stderr: SharedWriter, label: &str, total: Option<u64>) -> Progress {
        let bar = match total {
            Some(total) => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            }
        };
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            inner: Inner::Bar { bar, stderr },
        }
    }

    /// Plain lines on `stderr`: the label now, then whatever `println` and `finish` say.
    pub(crate) fn lines(stderr: SharedWriter, label: &str) -> Progress {
        // Progress is best effort: a failed write to stderr must not fail the command.
        let _ = stderr.write_text(&format!("{label}...\n"));
        Progress {
            inner: Inner::Lines {
                stderr,
                label: label.to_string(),
            },
        }
    }

    /// Updates the detail text (shown on a terminal only; plain logs stay short).
    pub fn set_message(&self, message: &str) {
        if let Inner::Bar { bar, .. } = &self.inner {
            bar.set_message(message.to_string());
        }
    }

    /// Advances the bar by `n` steps.
    pub fn inc(&self, n: u64) {
        if let Inner::Bar { bar, .. } = &self.inner {
            bar.inc(n);
        }
    }

    /// Prints a line that stays (above the bar on a terminal).
    pub fn println(&self, line: &str) {
        match &self.inner {
            Inner::Bar { bar, .. } => bar.println(line),
            Inner::Lines { stderr, .. } => {
                let _ = stderr.write_text(&format!("{line}\n"));
            }
        }
    }

    /// Ends the progress with a summary line (`<label>: <summary>`).
    pub fn finish(self, summary: &str) {
        match &self.inner {
            Inner::Bar { bar, stderr } => {
                bar.finish_and_clear();
                let _ = stderr.write_text(&format!("{}: {summary}\n", bar.prefix()));
            }
            Inner::Lines { stderr, label } => {
                let _ = stderr.write_text(&format!("{label}: {summary}\n"));
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // A bar left behind by an early return (error, Ctrl-C) must not stay on the screen.
        if let Inner::Bar { bar, .. } = &self.inner
            && !bar.is_finished()
        {
            bar.finish_and_clear();
        }
    }
}
