//! Watch: `kubectl get -w` sees objects added, changed and deleted, with event types on request.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{Cluster, configmaps};

#[test]
fn get_watch_streams_changes_until_the_request_timeout() {
    let cluster = Cluster::start();
    cluster
        .kubectl(&["create", "configmap", "before", "--from-literal=a=1"])
        .ok();
    let cache = cluster.dir.path().join("cache");
    let child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.server.kubeconfig_path())
        .arg("--cache-dir")
        .arg(&cache)
        .args([
            "get",
            "configmaps",
            "-w",
            "--output-watch-events",
            "--request-timeout=4s",
        ])
        .env("HOME", cluster.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl must be on PATH");
    std::thread::sleep(Duration::from_millis(1200));
    cluster
        .kubectl(&["create", "configmap", "during", "--from-literal=a=1"])
        .ok();
    cluster
        .kubectl(&[
            "patch",
            "configmap",
            "during",
            "--type=merge",
            "-p",
            r#"{"data":{"b":"2"}}"#,
        ])
        .ok();
    cluster.kubectl(&["delete", "configmap", "during"]).ok();
    let output = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let events: Vec<(String, String, String)> = out
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0].to_string(), cells[1].to_string(), cells[2].to_string())
        })
        .collect();
    let expected = [
        ("ADDED", "before", "1"),
        ("ADDED", "during", "1"),
        ("MODIFIED", "during", "2"),
        ("DELETED", "during", "2"),
    ];
    let got: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        got,
        expected,
        "watch output:\n{out}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(cluster.object(&configmaps(), Some("default"), "during").is_none());
}
