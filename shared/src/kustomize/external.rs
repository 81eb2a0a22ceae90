//! Falling back to an external `kustomize` binary for a field the native engine does not build.
//! The binary runs without a shell, on the same directory, with the same load restriction and
//! order; its output is read back with the Kustomize-compatible YAML reader.

use super::error::KustomizeError;
use super::goyaml;
use super::{BuildOptions, ExternalKustomize, Reorder};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary to use, if any.
pub fn find_binary(setting: &ExternalKustomize) -> Option<PathBuf> {
    match setting {
        ExternalKustomize::Disabled => None,
        ExternalKustomize::Binary(path) => Some(path.clone()),
        ExternalKustomize::SearchPath => {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join("kustomize"))
                .find(|candidate| candidate.is_file())
        }
    }
}

/// Builds `dir` with the external binary.
pub fn build(
    binary: &Path,
    dir: &Path,
    options: &BuildOptions,
    kustomization: &str,
    field: &str,
) -> Result<Vec<Value>, KustomizeError> {
    let fail = |message: String| KustomizeError::External {
        kustomization: kustomization.to_string(),
        field: field.to_string(),
        message,
    };
    let restrictor = if options.restrict_files_to_kustomization_dir() {
        "LoadRestrictionsRootOnly"
    } else {
        "LoadRestrictionsNone"
    };
    let reorder = match options.reorder {
        Reorder::Legacy => "legacy",
        Reorder::None => "none",
    };
    let output = Command::new(binary)
        .arg("build")
        .arg("--load-restrictor")
        .arg(restrictor)
        .arg("--reorder")
        .arg(reorder)
        .arg(dir)
        .output()
        .map_err(|e| fail(format!("failed to start {}: {e}", binary.display())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Paths in its messages are absolute; show them relative to the project.
        let root = options.root.to_string_lossy();
        let message = stderr
            .trim()
            .replace(root.as_ref(), &options.display_root.to_string_lossy());
        return Err(fail(message));
    }
    let text = String::from_utf8(output.stdout).map_err(|_| fail("its output is not UTF-8".to_string()))?;
    goyaml::read_documents(&text)
        .map(|docs| docs.into_iter().map(|d| d.value).collect())
        .map_err(|e| {
            fail(format!(
                "its output is not valid YAML ({}:{}): {}",
                e.line, e.column, e.message
            ))
        })
}
