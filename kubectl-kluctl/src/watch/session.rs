//! The watch loop: run, print, wait for a change, run again, print only what changed.
//!
//! Input: a function producing a [`Snapshot`] (rendered objects, a diff); output: the first
//! snapshot in full on stdout, then per change the difference to the previous good snapshot
//! (changed entries as unified diffs, added and removed ones by name) on stdout, and on stderr
//! what changed on disk, how long the run took and errors, after which watching goes on.
//! A snapshot's [`Layout`] says how its entries read: rendered documents (a text diff per
//! changed object) or report entries (`diff --watch`: each entry shown anew when it changes).
//! The loop ends only with the watcher (or when the command is interrupted: dropping the loop
//! drops the watch and whatever the run function holds).

use super::watcher::{Changes, FileWatcher, WatchOptions};
use crate::cli::duration::format_duration;
use crate::exit::Exit;
use crate::output::{Console, Paint};
use serde_json::Value;
use shared::objects::ObjectRef;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::time::Instant;

/// What one run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Printed in full for the first successful run.
    pub full: String,
    /// The parts compared between runs (object reference to its YAML, for a render).
    pub entries: BTreeMap<String, String>,
    /// A few words for stderr, e.g. "12 objects".
    pub summary: String,
    /// How entries are shown when they change.
    pub layout: Layout,
}

/// How the entries of a snapshot are shown in a delta.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// Entries are documents (rendered objects): a changed one is shown as a unified diff of
    /// its text, a new one in full with `+` on each line; the next good run after a failed
    /// one is compared with the last good run.
    #[default]
    Documents,
    /// Entries are findings of a report (`diff --watch`: an object's differences from the
    /// cluster, an error): a new or changed one is shown in full below its key, a gone one as
    /// `- key: no longer <first line of its text>` (so the first line says what the entry is:
    /// `changed`, `new`, `orphan`, `reported`). After a failed run the next good one is
    /// printed in full, as the error scrolled the last state away.
    Report,
}

impl Snapshot {
    /// A snapshot of rendered objects: the multi-document YAML stream in full, compared object
    /// by object (keyed by `namespace/Kind/name`).
    pub fn objects(objects: &[Value]) -> Snapshot {
        let mut entries = BTreeMap::new();
        for (index, object) in objects.iter().enumerate() {
            let key = ObjectRef::from_object(object).map_or_else(|| format!("#{index}"), |r| r.to_string());
            entries.insert(key, shared::yaml::to_yaml_string(object));
        }
        Snapshot {
            full: shared::yaml::to_yaml_stream(objects),
            entries,
            summary: format!("{} object{}", objects.len(), if objects.len() == 1 { "" } else { "s" }),
            layout: Layout::Documents,
        }
    }
}

/// How one snapshot differs from the previous one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// Entries whose text changed.
    pub changed: Vec<String>,
    /// Entries that are new.
    pub added: Vec<String>,
    /// Entries that are gone.
    pub removed: Vec<String>,
}

impl Delta {
    /// Compares two snapshots.
    pub fn between(old: &Snapshot, new: &Snapshot) -> Delta {
        let mut delta = Delta::default();
        for (key, text) in &new.entries {
            match old.entries.get(key) {
                None => delta.added.push(key.clone()),
                Some(previous) if previous != text => delta.changed.push(key.clone()),
                Some(_) => {}
            }
        }
        delta.removed = old
            .entries
            .keys()
            .filter(|key| !new.entries.contains_key(*key))
            .cloned()
            .collect();
        delta
    }

    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// Runs `run` now and after every change below `options.root`, until the watch fails.
///
/// `run` gets the changes that triggered it (none the first time).
pub async fn watch<F, Fut>(console: &Console, options: WatchOptions, mut run: F) -> anyhow::Result<Exit>
where
    F: FnMut(Changes) -> Fut,
    Fut: Future<Output = anyhow::Result<Snapshot>>,
{
    // Watch before the first run, so a save during it is not missed.
    let root = options.root.display().to_string();
    let mut watcher = FileWatcher::new(options)?;
    let mut previous: Option<Snapshot> = None;
    let mut changes = Changes::default();
    loop {
        let started = Instant::now();
        let outcome = run(changes).await;
        let took = format_duration(started.elapsed());
        match outcome {
            Ok(snapshot) => {
                let mut stdout = console.stdout();
                let note = match &previous {
                    None => {
                        stdout.write_all(snapshot.full.as_bytes())?;
                        format!("{} in {took}", snapshot.summary)
                    }
                    Some(old) => {
                        let delta = Delta::between(old, &snapshot);
                        stdout.write_all(render_delta(old, &snapshot, &delta, console.stdout_paint()).as_bytes())?;
                        format!("{} in {took}: {}", snapshot.summary, describe(&delta, snapshot.layout))
                    }
                };
                stdout.flush()?;
                console.info(&note)?;
                previous = Some(snapshot);
            }
            Err(error) => {
                if previous.as_ref().is_some_and(|p| p.layout == Layout::Report) {
                    previous = None;
                }
                console.error(&error)?;
                console.info(&format!("failed after {took}; fix it and save, still watching"))?;
            }
        }
        let paint = console.stderr_paint();
        console.info(
            &paint
                .dim(format!("Watching {root} for changes (Ctrl-C to stop)"))
                .to_string(),
        )?;
        changes = watcher.changed().await?;
        console.info(&format!("Changed: {}", list_paths(&changes)))?;
    }
}

fn describe(delta: &Delta, layout: Layout) -> String {
    if delta.is_empty() {
        return "no changes".to_string();
    }
    let (changed, added, removed) = (delta.changed.len(), delta.added.len(), delta.removed.len());
    match layout {
        Layout::Documents => format!("{changed} changed, {added} added, {removed} removed"),
        Layout::Report => format!("{added} appeared, {changed} changed, {removed} gone"),
    }
}

fn list_paths(changes: &Changes) -> String {
    const SHOWN: usize = 5;
    if changes.paths.is_empty() {
        return "(files changed faster than they could be tracked)".to_string();
    }
    let mut names: Vec<String> = changes
        .paths
        .iter()
        .take(SHOWN)
        .map(|p| p.display().to_string())
        .collect();
    if changes.paths.len() > SHOWN {
        names.push(format!("and {} more", changes.paths.len() - SHOWN));
    }
    names.join(", ")
}

/// The stdout text for a delta. Documents: `~ key` with a unified diff, `+ key` with the new
/// text, `- key`. Reports: `~ key` and `+ key` with the new text indented, `- key: no longer
/// <what it was>`.
pub fn render_delta(old: &Snapshot, new: &Snapshot, delta: &Delta, paint: Paint) -> String {
    if new.layout == Layout::Report {
        return render_report_delta(old, new, delta, paint);
    }
    let mut out = String::new();
    for key in &delta.changed {
        let _ = writeln!(out, "{}", paint.changed(format!("~ {key}")));
        let diff = similar::TextDiff::from_lines(&old.entries[key], &new.entries[key]);
        for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
            let _ = writeln!(out, "{}", paint.dim(hunk.header()));
            for change in hunk.iter_changes() {
                let line = format!("{}{}", change.tag(), change.value().trim_end_matches('\n'));
                let _ = match change.tag() {
                    similar::ChangeTag::Insert => writeln!(out, "{}", paint.added(line)),
                    similar::ChangeTag::Delete => writeln!(out, "{}", paint.removed(line)),
                    similar::ChangeTag::Equal => writeln!(out, "{line}"),
                };
            }
        }
    }
    for key in &delta.added {
        let _ = writeln!(out, "{}", paint.added(format!("+ {key}")));
        for line in new.entries[key].lines() {
            let _ = writeln!(out, "{}", paint.added(format!("+{line}")));
        }
    }
    for key in &delta.removed {
        let _ = writeln!(out, "{}", paint.removed(format!("- {key}")));
    }
    out
}

fn render_report_delta(old: &Snapshot, new: &Snapshot, delta: &Delta, paint: Paint) -> String {
    let mut out = String::new();
    let indented = |out: &mut String, text: &str| {
        for line in text.lines() {
            let _ = writeln!(out, "  {line}");
        }
    };
    for key in &delta.added {
        let _ = writeln!(out, "{}", paint.added(format!("+ {key}")));
        indented(&mut out, &new.entries[key]);
    }
    for key in &delta.changed {
        let _ = writeln!(out, "{}", paint.changed(format!("~ {key}")));
        indented(&mut out, &new.entries[key]);
    }
    for key in &delta.removed {
        let what = old.entries[key].lines().next().unwrap_or("reported");
        let _ = writeln!(out, "{}", paint.removed(format!("- {key}: no longer {what}")));
    }
    out
}
