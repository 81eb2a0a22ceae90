//! Watch mode (`render --watch`, `diff --watch`, beyond Kluctl): re-run a command whenever a
//! file of the project is saved, and show only what changed since the previous run.
//!
//! Input: the project directory ([`WatchOptions`]) and a function that runs the command once
//! and returns a [`Snapshot`] (of rendered objects, or of a command result such as a diff);
//! output: the first result in full, then per save a [`Delta`] (stdout), plus timings and
//! errors (stderr) without ever exiting on an error.
//!
//! A command uses it in a few lines:
//! ```text
//! if self.watch.watch {
//!     let options = WatchOptions::new(&project.project_dir).ignoring(&render_dir);
//!     return watch(&ctx.console, options, |_changes| async { Ok(Snapshot::objects(&render(..)?)) }).await;
//! }
//! ```

mod report;
mod session;
mod watcher;

pub use session::{Delta, Layout, Snapshot, render_delta, watch};
pub use watcher::{Changes, FileWatcher, WatchOptions, is_editor_scratch};

#[cfg(test)]
mod tests;
