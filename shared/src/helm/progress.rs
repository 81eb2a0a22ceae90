//! Progress of chart downloads, reported through a callback so the CLI can draw bars on a
//! terminal (and the agent can stay silent).
//!
//! Input: events from [`ChartClient`](super::ChartClient) downloads; output: calls of a
//! [`ProgressFn`] the caller supplies.

use std::sync::Arc;

/// What happened to one chart download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullEventKind {
    /// The download started; `total` is the size in bytes when the server said.
    Started {
        /// Expected size in bytes.
        total: Option<u64>,
    },
    /// Bytes arrived (`downloaded` so far).
    Progress {
        /// Bytes received so far.
        downloaded: u64,
        /// Expected size in bytes.
        total: Option<u64>,
    },
    /// The chart was verified and installed.
    Finished,
    /// The download or installation failed (the error is returned separately).
    Failed,
}

/// One progress event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullEvent {
    /// Chart name.
    pub chart: String,
    /// Chart version.
    pub version: String,
    /// What happened.
    pub kind: PullEventKind,
}

/// The progress callback: called from download tasks, so it must be cheap and thread-safe.
pub type ProgressFn = Arc<dyn Fn(&PullEvent) + Send + Sync>;

/// Sends events for one chart version.
#[derive(Clone)]
pub(crate) struct Reporter {
    callback: Option<ProgressFn>,
    chart: String,
    version: String,
}

impl Reporter {
    pub(crate) fn new(callback: Option<ProgressFn>, chart: &str, version: &str) -> Self {
        Reporter {
            callback,
            chart: chart.to_string(),
            version: version.to_string(),
        }
    }

    pub(crate) fn send(&self, kind: PullEventKind) {
        if let Some(callback) = &self.callback {
            callback(&PullEvent {
                chart: self.chart.clone(),
                version: self.version.clone(),
                kind,
            });
        }
    }
}
