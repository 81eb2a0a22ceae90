//! Comparing a build with `kubectl kustomize`'s recorded output: the same documents (parsed,
//! as a multiset), in the same order, and byte for byte the same text.

use serde_json::Value;
use shared::kustomize::{self, BuildOptions, ExternalKustomize};
use std::path::{Path, PathBuf};

/// The shared test data directory (`../shared/testdata` from the main checkout).
pub fn testdata() -> PathBuf {
    kluctl_e2e::fixtures::testdata().expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

/// Options like `kubectl kustomize`, never falling back to an external binary.
pub fn kubectl_options(root: &Path) -> BuildOptions {
    BuildOptions {
        external: ExternalKustomize::Disabled,
        ..BuildOptions::kubectl(root.to_path_buf())
    }
}

fn id(doc: &Value) -> String {
    format!(
        "{}/{}/{}",
        doc["kind"].as_str().unwrap_or("?"),
        doc["metadata"]["namespace"].as_str().unwrap_or(""),
        doc["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// Differences between a build and the expected `kubectl kustomize` output; empty when equal.
pub fn compare(actual: &[Value], expected_text: &str) -> Vec<String> {
    let expected: Vec<Value> = kustomize::goyaml::read_documents(expected_text)
        .expect("expected output parses")
        .into_iter()
        .map(|d| d.value)
        .collect();
    let mut problems = Vec::new();
    let mut unmatched: Vec<&Value> = actual.iter().collect();
    for doc in &expected {
        match unmatched.iter().position(|a| *a == doc) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => {
                let same_id = actual.iter().find(|a| id(a) == id(doc));
                problems.push(match same_id {
                    Some(a) => format!(
                        "{} differs:\n--- expected\n{}--- got\n{}",
                        id(doc),
                        kustomize::to_yaml(std::slice::from_ref(doc)),
                        kustomize::to_yaml(std::slice::from_ref(a))
                    ),
                    None => format!(
                        "missing {}:\n{}",
                        id(doc),
                        kustomize::to_yaml(std::slice::from_ref(doc))
                    ),
                });
            }
        }
    }
    for extra in unmatched {
        if !expected.iter().any(|e| id(e) == id(extra)) {
            problems.push(format!("unexpected {}", id(extra)));
        }
    }
    if problems.is_empty() {
        let order: Vec<String> = actual.iter().map(id).collect();
        let expected_order: Vec<String> = expected.iter().map(id).collect();
        if order != expected_order {
            problems.push(format!(
                "order differs:\n  expected {expected_order:?}\n  got      {order:?}"
            ));
        } else {
            let text = kustomize::to_yaml(actual);
            if text != expected_text {
                let line = text
                    .lines()
                    .zip(expected_text.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(text.lines().count().min(expected_text.lines().count()));
                problems.push(format!(
                    "text differs at line {}:\n  expected {:?}\n  got      {:?}",
                    line + 1,
                    expected_text.lines().nth(line).unwrap_or("<end>"),
                    text.lines().nth(line).unwrap_or("<end>")
                ));
            }
        }
    }
    problems
}
