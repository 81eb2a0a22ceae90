//! `kubectl kluctl kustomize`: the same bytes as `kubectl kustomize`, and `--watch` as a
//! process: each save shows up within a second, Ctrl-C ends it with 130.

use crate::util::{
    CompletionHelper, PluginDir, assert_code, binary, copy_dir, kubectl, plugin, stderr, stdout, testdata,
};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CASES: [&str; 6] = [
    "kustomize-examples/helloWorld",
    "kustomize-examples/multibases",
    "kustomize-examples/ldap/overlays/production",
    "kustomize-examples/springboot/overlays/staging",
    "kustomize-examples/wordpress",
    "flux2-kustomize-helm-example/apps/production",
];

#[test]
fn prints_exactly_what_kubectl_kustomize_prints() {
    let plugins = PluginDir::new(CompletionHelper::Symlink);
    for case in CASES {
        let dir = testdata().join(case);
        let dir = dir.to_str().unwrap();
        let reference = Command::new(kubectl()).args(["kustomize", dir]).output().unwrap();
        assert_code(&reference, 0);
        let ours = plugins.kubectl(["kluctl", "kustomize", dir]);
        assert_code(&ours, 0);
        assert_eq!(stdout(&ours), stdout(&reference), "{case}");
    }
}

#[test]
fn json_is_a_list_of_the_same_objects() {
    let dir = testdata().join("kustomize-examples/helloWorld");
    let yaml = plugin(&["kustomize", dir.to_str().unwrap()], &[]);
    let json = plugin(&["kustomize", dir.to_str().unwrap(), "-o", "json"], &[]);
    assert_code(&json, 0);
    let list: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(list["kind"], "List");
    let documents = shared::yaml::parse_documents(&stdout(&yaml), "kustomize").unwrap();
    assert_eq!(list["items"].as_array().unwrap(), &documents);
}

#[test]
fn a_broken_kustomization_is_one_error_line_naming_the_file() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("kustomization.yaml"),
        "resources:\n- missing.yaml\n",
    )
    .unwrap();
    let output = plugin(&["kustomize", project.path().to_str().unwrap()], &[]);
    assert_code(&output, 1);
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.starts_with("error: failed to load "), "{message}");
    assert!(
        message.contains("kustomization.yaml:") && message.contains("missing.yaml"),
        "{message}"
    );
    assert_eq!(stdout(&output), "");
}

/// Collects a child's stream on a thread.
fn collect(mut stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    text
}

#[track_caller]
fn within(limit: Duration, what: &str, out: &Arc<Mutex<String>>, err: &Arc<Mutex<String>>, needle: &str) {
    let started = Instant::now();
    while !out.lock().unwrap().contains(needle) {
        assert!(
            started.elapsed() < limit,
            "{what}: {needle:?} not seen within {limit:?}\nstdout:\n{}\nstderr:\n{}",
            out.lock().unwrap(),
            err.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn watch_shows_every_save_within_a_second_and_ctrl_c_exits_130() {
    let project = tempfile::tempdir().unwrap();
    copy_dir(&testdata().join("kustomize-examples/helloWorld"), project.path());
    let config_map = project.path().join("configMap.yaml");
    let mut child = Command::new(binary())
        .args(["kustomize", project.path().to_str().unwrap(), "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    within(
        Duration::from_secs(5),
        "first build",
        &out,
        &err,
        "altGreeting: Good Morning!",
    );

    // Saved in place.
    let original = std::fs::read_to_string(&config_map).unwrap();
    std::fs::write(&config_map, original.replace("Good Morning!", "Good Evening!")).unwrap();
    within(
        Duration::from_secs(1),
        "in-place save",
        &out,
        &err,
        "+  altGreeting: Good Evening!",
    );

    // Saved atomically: a temp file renamed over the original.
    let temp = project.path().join(".configMap.yaml.tmp");
    std::fs::write(&temp, original.replace("Good Morning!", "Good Night!")).unwrap();
    std::fs::rename(&temp, &config_map).unwrap();
    within(
        Duration::from_secs(1),
        "atomic save",
        &out,
        &err,
        "+  altGreeting: Good Night!",
    );
    let shown = out.lock().unwrap().clone();
    assert_eq!(
        shown.matches("~ ConfigMap/the-map").count(),
        2,
        "only the changed object, once per save:\n{shown}"
    );
    assert_eq!(
        shown.matches("kind: Service").count(),
        1,
        "unchanged objects are not printed again"
    );

    interrupt(&child);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "still running after Ctrl-C");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(130), "stderr:\n{}", err.lock().unwrap());
    assert!(!err.lock().unwrap().contains("error"), "{}", err.lock().unwrap());
}

#[test]
fn watch_prints_yaml_only() {
    let dir = testdata().join("kustomize-examples/helloWorld");
    let output = plugin(&["kustomize", dir.to_str().unwrap(), "--watch", "-o", "json"], &[]);
    assert_code(&output, 2);
    assert!(stderr(&output).contains("--watch prints YAML"), "{}", stderr(&output));
}
