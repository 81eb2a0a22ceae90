//! [`Progress`]: what a command reports while it runs, so the CLI can draw progress bars on a
//! terminal (or print plain log lines otherwise) and the agent can log. The engine never prints.

use crate::objects::ObjectRef;
use std::time::Duration;

/// One thing that happened.
#[derive(Clone, Copy, Debug)]
pub enum ProgressEvent<'a> {
    /// A step of the command started (`listing remote objects`, `diffing`, ...).
    Step(&'a str),
    /// The work ahead: items and objects to apply (hooks included).
    Planned {
        /// Deployment items.
        items: usize,
        /// Objects.
        objects: usize,
    },
    /// An item started.
    ItemStarted(&'a str),
    /// An item finished.
    ItemFinished {
        /// The item.
        item: &'a str,
        /// Without errors.
        ok: bool,
    },
    /// Waiting at a barrier for everything started before it.
    Barrier(Option<&'a str>),
    /// An object was applied (or dry-run applied).
    Applied(&'a ObjectRef),
    /// An object failed.
    Failed(&'a ObjectRef),
    /// An object was deleted.
    Deleted(&'a ObjectRef),
    /// Still waiting for an object (sent when the wait starts and every 10 s after).
    Waiting {
        /// The object.
        object: &'a ObjectRef,
        /// Why it is not ready yet.
        reason: &'a str,
        /// How long it has been waited for.
        elapsed: Duration,
    },
    /// A wait ended.
    WaitDone {
        /// The object.
        object: &'a ObjectRef,
        /// Ready (or gone, for deletions).
        ok: bool,
    },
}

/// Receives progress events from any thread.
pub trait Progress: Send + Sync {
    /// Handles one event; must not block for long.
    fn event(&self, event: ProgressEvent<'_>);
}

/// Ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: ProgressEvent<'_>) {}
}
