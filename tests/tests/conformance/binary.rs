//! The `test-apiserver` binary: first stdout line, kubeconfig, and kubectl against it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn the_binary_prints_its_address_and_writes_a_working_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_test-apiserver"))
        .args(["--listen", "127.0.0.1:0", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .args(["--simulate-controllers", "--rbac"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("test-apiserver starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let address = first.trim().strip_prefix("listening on http://127.0.0.1:");
    let port: Option<u16> = address.and_then(|p| p.parse().ok());
    let kubectl = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(["get", "namespace", "default", "-o", "name"])
        .env("HOME", dir.path())
        .output()
        .expect("kubectl must be on PATH");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(port.is_some_and(|p| p > 0), "first line: {first:?}");
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(config.contains("current-context: test"), "{config}");
    assert!(
        config.contains(&format!("server: https://127.0.0.1:{}", port.unwrap())),
        "{config}"
    );
    assert_eq!(
        String::from_utf8_lossy(&kubectl.stdout).trim(),
        "namespace/default",
        "{}",
        String::from_utf8_lossy(&kubectl.stderr)
    );
}
