use super::*;
use crate::io::{Captured, Env, Io};
use crate::output::{Console, Paint};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A small stand-in for `render`: every `*.yaml` file directly in `dir`, parsed, by file name.
fn render_dir(dir: &Path) -> anyhow::Result<Snapshot> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        let name = file.file_name().unwrap_or_default().to_string_lossy().into_owned();
        objects.extend(shared::yaml::parse_documents(&std::fs::read_to_string(&file)?, &name)?);
    }
    Ok(Snapshot::objects(&objects))
}

fn config_map(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: demo\ndata:\n  value: {value}\n"
    )
}

struct Session {
    captured: Captured,
    runs: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<anyhow::Result<crate::exit::Exit>>,
}

fn start(options: WatchOptions) -> Session {
    let (io, captured) = Io::captured(Env::empty(), "");
    let console = Console::new(&io, false);
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let root = options.root.clone();
    let task = tokio::spawn(async move {
        watch(&console, options, move |_changes| {
            counter.fetch_add(1, Ordering::SeqCst);
            let root = root.clone();
            async move { render_dir(&root) }
        })
        .await
    });
    Session { captured, runs, task }
}

/// Polls until `done` holds; returns how long it took, failing the test after `limit`.
async fn within(limit: Duration, what: &str, captured: &Captured, done: impl Fn(&str, &str) -> bool) -> Duration {
    let started = Instant::now();
    while !done(&captured.stdout(), &captured.stderr()) {
        assert!(
            started.elapsed() < limit,
            "{what}: not seen within {limit:?}\nstdout:\n{}\nstderr:\n{}",
            captured.stdout(),
            captured.stderr()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_save_is_rerendered_within_a_second_including_atomic_renames() {
    let project = tempfile::tempdir().unwrap();
    let file = project.path().join("settings.yaml");
    std::fs::write(&file, config_map("one")).unwrap();
    let session = start(WatchOptions::new(project.path()));
    let captured = &session.captured;
    within(Duration::from_secs(2), "first render", captured, |out, _| {
        out.contains("value: one")
    })
    .await;
    assert!(captured.stderr().contains("1 object in "), "{}", captured.stderr());

    // 1. Written in place.
    std::fs::write(&file, config_map("two")).unwrap();
    let took = within(Duration::from_secs(1), "in-place save", captured, |out, _| {
        out.contains("+  value: two")
    })
    .await;
    assert!(took < Duration::from_secs(1));

    // 2. Saved atomically: a temp file renamed over the original (VS Code, many tools).
    let temp = project.path().join("settings.yaml.tmp");
    std::fs::write(&temp, config_map("three")).unwrap();
    std::fs::rename(&temp, &file).unwrap();
    within(Duration::from_secs(1), "atomic rename save", captured, |out, _| {
        out.contains("-  value: two") && out.contains("+  value: three")
    })
    .await;

    // 3. vim's way: the original renamed to a backup, a new file written, the backup removed.
    let backup = project.path().join("settings.yaml~");
    std::fs::rename(&file, &backup).unwrap();
    std::fs::write(&file, config_map("four")).unwrap();
    std::fs::remove_file(&backup).unwrap();
    within(Duration::from_secs(1), "backup-and-write save", captured, |out, _| {
        out.contains("+  value: four")
    })
    .await;

    let stdout = captured.stdout();
    assert_eq!(stdout.matches("~ demo/ConfigMap/settings").count(), 3, "{stdout}");
    assert_eq!(
        stdout.matches("kind: ConfigMap").count(),
        1,
        "only the first run prints in full"
    );
    // One run per save: the bursts of events of a save are debounced into one batch.
    assert_eq!(session.runs.load(Ordering::SeqCst), 4, "{}", captured.stderr());
    assert!(
        captured.stderr().contains("1 changed, 0 added, 0 removed"),
        "{}",
        captured.stderr()
    );

    // Ctrl-C aborts the loop; the watch goes with it.
    session.task.abort();
    assert!(session.task.await.unwrap_err().is_cancelled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_shown_in_place_and_watching_goes_on() {
    let project = tempfile::tempdir().unwrap();
    let file = project.path().join("settings.yaml");
    std::fs::write(&file, config_map("one")).unwrap();
    let session = start(WatchOptions::new(project.path()));
    let captured = &session.captured;
    within(Duration::from_secs(2), "first render", captured, |out, _| {
        out.contains("value: one")
    })
    .await;

    std::fs::write(&file, "data: [unclosed\n").unwrap();
    within(Duration::from_secs(1), "error", captured, |_, err| {
        err.contains("error: settings.yaml:") && err.contains("still watching")
    })
    .await;

    // Fixed: compared with the last good render, not the failed one.
    std::fs::write(&file, config_map("two")).unwrap();
    within(Duration::from_secs(1), "recovery", captured, |out, _| {
        out.contains("-  value: one") && out.contains("+  value: two")
    })
    .await;
    assert!(!session.task.is_finished());
    session.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_editor_scratch_and_output_directories_do_not_trigger_runs() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("settings.yaml"), config_map("one")).unwrap();
    let output = project.path().join(".rendered");
    for dir in [project.path().join(".git"), output.clone()] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let session = start(WatchOptions::new(project.path()).ignoring(&output));
    let captured = &session.captured;
    within(Duration::from_secs(2), "first render", captured, |out, _| {
        out.contains("value: one")
    })
    .await;

    std::fs::write(project.path().join(".git/index"), "x").unwrap();
    std::fs::write(output.join("objects.yaml"), "x").unwrap();
    std::fs::write(project.path().join(".settings.yaml.swp"), "x").unwrap();
    std::fs::write(project.path().join("4913"), "x").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(session.runs.load(Ordering::SeqCst), 1, "{}", captured.stderr());

    // A new file is a change like any other; it shows up as added.
    std::fs::write(
        project.path().join("extra.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n",
    )
    .unwrap();
    within(Duration::from_secs(1), "new file", captured, |out, err| {
        out.contains("+ Namespace/demo") && err.contains("Changed: extra.yaml")
    })
    .await;
    session.task.abort();
}

#[test]
fn deltas_name_added_removed_and_changed_entries() {
    let old = Snapshot::objects(&[
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone"}}),
    ]);
    let new = Snapshot::objects(&[
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "2"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "new"}}),
    ]);
    let delta = Delta::between(&old, &new);
    assert_eq!(delta.changed, ["ConfigMap/a"]);
    assert_eq!(delta.added, ["Secret/new"]);
    assert_eq!(delta.removed, ["ConfigMap/gone"]);
    let text = render_delta(&old, &new, &delta, Paint::plain());
    assert!(text.starts_with("~ ConfigMap/a\n@@"), "{text}");
    assert!(text.contains("-  k: '1'\n+  k: '2'\n"), "{text}");
    assert!(text.contains("+ Secret/new\n+apiVersion: v1\n"), "{text}");
    assert!(text.ends_with("- ConfigMap/gone\n"), "{text}");
    assert!(Delta::between(&new, &new).is_empty());
}
