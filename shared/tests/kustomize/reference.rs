//! Every reference output under `shared/testdata/kustomize-expected` (recorded with kubectl
//! v1.32.4, Kustomize v5.5.0) equals the native build of its folder.

use crate::support::{compare, kubectl_options, testdata};
use shared::kustomize;
use std::path::Path;

fn expected_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            expected_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn reference_outputs_match_kubectl_kustomize() {
    let data = testdata();
    let expected_root = data.join("kustomize-expected");
    let mut files = Vec::new();
    expected_files(&expected_root, &mut files);
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the reference outputs, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&expected_root).unwrap().with_extension("");
        let dir = data.join(&relative);
        let top = data.join(relative.components().next().unwrap());
        let expected = std::fs::read_to_string(file).unwrap();
        match kustomize::build(&dir, &kubectl_options(&top)) {
            Ok(objects) => {
                let problems = compare(&objects, &expected);
                if !problems.is_empty() {
                    failures.push(format!("{}:\n{}", relative.display(), problems.join("\n")));
                }
            }
            Err(err) => failures.push(format!("{}: build failed: {err}", relative.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
