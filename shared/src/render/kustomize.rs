//! The Kustomize step of the render: the native engine ([`crate::kustomize`]) with Kluctl's
//! options (declaration order, any file under the rendered root), its errors mapped to
//! project-relative locations.

use super::ItemBuilder;
use crate::kustomize::{BuildOptions, KustomizeError, Position, build};
use crate::types::{Located, SourceLocation};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The native Kustomize engine as Kluctl calls it.
pub struct NativeKustomize {
    /// How the rendered root is shown: the source root relative to the project directory
    /// (empty when they are the same), so paths read as the user's project paths.
    pub display_root: PathBuf,
}

fn location(file: &str, position: &Position) -> SourceLocation {
    SourceLocation {
        file: file.to_string(),
        line: position.line.map(|l| l as usize),
        column: position.column.map(|c| c as usize),
    }
}

fn located(error: KustomizeError) -> Located {
    match error {
        KustomizeError::Load {
            kustomization,
            position,
            field,
            message,
        } => Located::new(location(&kustomization, &position), format!("{field}: {message}")),
        KustomizeError::ParseYaml {
            kustomization,
            field,
            file,
            position,
            message,
        } => Located::new(
            location(&file, &position),
            format!("{message} (listed in {field} of {kustomization})"),
        ),
        KustomizeError::Transform {
            kustomization,
            field,
            message,
        } => Located::new(SourceLocation::file(kustomization), format!("{field}: {message}")),
        other @ (KustomizeError::Unsupported { .. } | KustomizeError::External { .. }) => {
            let message = other.to_string();
            Located::new(SourceLocation::file(other.kustomization()), message)
        }
    }
}

impl ItemBuilder for NativeKustomize {
    fn build(&self, dir: &Path, root: &Path, _display_dir: &str) -> Result<Vec<Value>, Located> {
        let options = BuildOptions::kluctl(root.to_path_buf()).with_display_root(self.display_root.clone());
        build(dir, &options).map_err(located)
    }
}
