//! The corpus under `shared/tests/kustomize-corpus/<case>/`: each case holds an input tree
//! (built at `<case>/input`, or `<case>/input/<dir>` when `build-dir` names one) and
//! `expected.yaml`, the output of `kubectl kustomize` recorded by `scripts/record-kustomize-corpus`.

use crate::support::{compare, kubectl_options};
use shared::kustomize;
use std::path::{Path, PathBuf};

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kustomize-corpus")
}

pub fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus directory exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.yaml").is_file())
        .collect();
    cases.sort();
    cases
}

/// The directory `kubectl kustomize` was run on for a case.
pub fn build_dir(case: &Path) -> PathBuf {
    match std::fs::read_to_string(case.join("build-dir")) {
        Ok(dir) => case.join("input").join(dir.trim()),
        Err(_) => case.join("input"),
    }
}

#[test]
fn corpus_matches_kubectl_kustomize() {
    let cases = cases();
    assert!(
        cases.len() >= 60,
        "the corpus has {} cases, expected at least 60",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let expected = std::fs::read_to_string(case.join("expected.yaml")).unwrap();
        match kustomize::build(&build_dir(case), &kubectl_options(&case.join("input"))) {
            Ok(objects) => {
                let problems = compare(&objects, &expected);
                if !problems.is_empty() {
                    failures.push(format!("{name}:\n{}", problems.join("\n")));
                }
            }
            Err(err) => failures.push(format!("{name}: build failed: {err}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
