//! File change notifications for a project directory, debounced into batches.
//!
//! Input: a root directory and directories to ignore; output: [`Changes`], one batch per save.
//! Editors save in many ways (write in place; write a temp file and rename it over the
//! original; rename the original to a backup, write, delete the backup), each a burst of events
//! on several names. A batch starts with the first event on a file that matters and ends after
//! a quiet period (~100 ms), so one save is one re-run. Editor temp and backup files, `.git`
//! and the ignored directories (the render output) never start a batch.

use anyhow::Context as _;
use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What to watch.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// The directory watched recursively (the project directory).
    pub root: PathBuf,
    /// Directories below which changes are ignored (the render output directory).
    pub ignore: Vec<PathBuf>,
    /// Quiet time that ends a batch.
    pub debounce: Duration,
}

impl WatchOptions {
    /// Watches `root` with the default debounce of 100 ms.
    pub fn new(root: impl Into<PathBuf>) -> WatchOptions {
        WatchOptions {
            root: root.into(),
            ignore: Vec::new(),
            debounce: Duration::from_millis(100),
        }
    }

    /// Also ignores changes below `dir`.
    pub fn ignoring(mut self, dir: impl Into<PathBuf>) -> WatchOptions {
        self.ignore.push(dir.into());
        self
    }
}

/// One batch of changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The changed files, relative to the root. Empty when the system lost track (an event
    /// queue overflow): then anything may have changed.
    pub paths: BTreeSet<PathBuf>,
}

/// A running watch; dropping it stops watching.
pub struct FileWatcher {
    // Kept alive for its side effect: dropping it removes the OS watches.
    _watcher: RecommendedWatcher,
    events: mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
    roots: Vec<PathBuf>,
    ignore: Vec<PathBuf>,
    debounce: Duration,
}

impl FileWatcher {
    /// Starts watching.
    pub fn new(options: WatchOptions) -> anyhow::Result<FileWatcher> {
        let (sender, events) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            // The receiver is gone only when the watch is being dropped.
            let _ = sender.send(event);
        })
        .context("failed to start watching files")?;
        watcher
            .watch(&options.root, RecursiveMode::Recursive)
            .with_context(|| format!("failed to watch {}", options.root.display()))?;
        // Events may name the root as given or as resolved (symlinked temp dirs): accept both.
        let mut roots = vec![options.root.clone()];
        if let Ok(canonical) = options.root.canonicalize()
            && canonical != options.root
        {
            roots.push(canonical);
        }
        let ignore = options
            .ignore
            .iter()
            .flat_map(|dir| [dir.clone(), dir.canonicalize().unwrap_or_else(|_| dir.clone())])
            .collect();
        Ok(FileWatcher {
            _watcher: watcher,
            events,
            roots,
            ignore,
            debounce: options.debounce,
        })
    }

    /// Waits for the next batch of relevant changes.
    pub async fn changed(&mut self) -> anyhow::Result<Changes> {
        let mut changes = Changes::default();
        let mut rescan = false;
        // Wait as long as it takes for the first relevant event.
        loop {
            let event = self.events.recv().await.context("the file watcher stopped")?;
            if self.collect(event, &mut changes, &mut rescan) {
                break;
            }
        }
        // Then take everything that follows until a quiet period, but not forever: a tool
        // writing without pause still gets a re-run every few debounce periods.
        let deadline = Instant::now() + self.debounce * 10;
        loop {
            let quiet_until = (Instant::now() + self.debounce).min(deadline);
            match tokio::time::timeout_at(quiet_until, self.events.recv()).await {
                Ok(Some(event)) => {
                    self.collect(event, &mut changes, &mut rescan);
                }
                Ok(None) | Err(_) => break,
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        if rescan {
            changes.paths.clear();
        }
        Ok(changes)
    }

    /// Adds the relevant paths of one event; true if there was one.
    fn collect(&self, event: notify::Result<notify::Event>, changes: &mut Changes, rescan: &mut bool) -> bool {
        let event = match event {
            Ok(event) => event,
            Err(_) => {
                // The OS lost events (queue overflow): re-run with "anything may have changed".
                *rescan = true;
                return true;
            }
        };
        if event.need_rescan() {
            *rescan = true;
            return true;
        }
        let relevant_kind = match event.kind {
            EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
            EventKind::Modify(ModifyKind::Metadata(_)) => false,
            EventKind::Modify(_) => true,
            EventKind::Access(_) | EventKind::Other => false,
        };
        if !relevant_kind {
            return false;
        }
        let mut found = false;
        for path in &event.paths {
            if let Some(relative) = self.relevant(path) {
                changes.paths.insert(relative);
                found = true;
            }
        }
        found
    }

    /// The path relative to the root, unless it is ignored.
    fn relevant(&self, path: &Path) -> Option<PathBuf> {
        if self.ignore.iter().any(|dir| path.starts_with(dir)) {
            return None;
        }
        let relative = self.roots.iter().find_map(|root| path.strip_prefix(root).ok())?;
        if relative.as_os_str().is_empty() {
            return None;
        }
        if relative.components().any(|c| c.as_os_str() == ".git") {
            return None;
        }
        let name = relative.file_name()?.to_string_lossy();
        (!is_editor_scratch(&name)).then(|| relative.to_path_buf())
    }
}

/// Files editors create while saving that are not part of the project: swap, backup, lock
/// and temp files of vim, emacs, JetBrains IDEs, Kate, gedit, and macOS's Finder.
pub fn is_editor_scratch(name: &str) -> bool {
    const SUFFIXES: [&str; 8] = [
        "~",
        ".swp",
        ".swo",
        ".swx",
        ".tmp",
        "___jb_tmp___",
        "___jb_old___",
        ".kate-swp",
    ];
    SUFFIXES.iter().any(|s| name.ends_with(s))
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name.starts_with(".goutputstream-")
        || name == "4913"
        || name == ".DS_Store"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_scratch_files_are_recognised() {
        for name in [
            ".deploy.yaml.swp",
            "deploy.yaml~",
            "4913",
            ".#deploy.yaml",
            "#deploy.yaml#",
            "deploy.yaml___jb_tmp___",
            ".goutputstream-ABC",
        ] {
            assert!(is_editor_scratch(name), "{name}");
        }
        for name in ["deploy.yaml", "kustomization.yml", ".kluctl.yaml", "values.tmpl"] {
            assert!(!is_editor_scratch(name), "{name}");
        }
    }
}
