//! [`KustomizeError`]: every failure of a build names the kustomization file (as the user knows
//! it, relative to the project), the field, and what is wrong.

use std::fmt;

/// Where in a file: 1-based line and column, when known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
}

impl Position {
    /// A position from parser coordinates.
    pub fn at(line: usize, column: usize) -> Self {
        Position {
            line: u32::try_from(line).ok(),
            column: u32::try_from(column).ok(),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, ":{line}:{column}"),
            (Some(line), None) => write!(f, ":{line}"),
            _ => Ok(()),
        }
    }
}

/// A failed Kustomize build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KustomizeError {
    /// A kustomization file, or something it lists, could not be loaded: a missing or unreadable
    /// file, an invalid field, a path that leaves the project, a remote base, a cycle.
    #[error("failed to load {kustomization}{position}: {field}: {message}")]
    Load {
        /// The kustomization file (or directory, when it has none), project-relative.
        kustomization: String,
        /// Where the field is in the kustomization file.
        position: Position,
        /// The field, e.g. `resources` or `configMapGenerator[1].files`.
        field: String,
        /// What is wrong, and what to do.
        message: String,
    },
    /// A YAML file listed by a kustomization is not valid YAML or not a Kubernetes object.
    #[error("failed to parse {file}{position} (listed in {field} of {kustomization}): {message}")]
    ParseYaml {
        /// The kustomization that lists the file.
        kustomization: String,
        /// The field that lists it.
        field: String,
        /// The YAML file, project-relative.
        file: String,
        /// Where the problem is.
        position: Position,
        /// What is wrong.
        message: String,
    },
    /// A transformation (patch, replacement, name reference, generator merge, ...) failed.
    #[error("failed to apply {field} of {kustomization}: {message}")]
    Transform {
        /// The kustomization whose field failed.
        kustomization: String,
        /// The field, e.g. `patches[0]`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A field this engine does not implement, with no external `kustomize` to fall back to.
    #[error(
        "failed to build {kustomization}: field {field} is not supported by the native Kustomize engine \
         (put a kustomize binary on PATH to have it build this kustomization instead)"
    )]
    Unsupported {
        /// The kustomization that uses the field.
        kustomization: String,
        /// The field.
        field: String,
    },
    /// The external `kustomize` binary, used for an unsupported field, failed.
    #[error("failed to run kustomize build for {kustomization} (needed for field {field}): {message}")]
    External {
        /// The kustomization built externally.
        kustomization: String,
        /// The field that required the external binary.
        field: String,
        /// Its error output.
        message: String,
    },
}

impl KustomizeError {
    /// A [`KustomizeError::Load`] without a position.
    pub(crate) fn load(kustomization: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        KustomizeError::Load {
            kustomization: kustomization.to_string(),
            position: Position::default(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// A [`KustomizeError::Transform`].
    pub(crate) fn transform(kustomization: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        KustomizeError::Transform {
            kustomization: kustomization.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// The kustomization file the error is about.
    pub fn kustomization(&self) -> &str {
        match self {
            KustomizeError::Load { kustomization, .. }
            | KustomizeError::ParseYaml { kustomization, .. }
            | KustomizeError::Transform { kustomization, .. }
            | KustomizeError::Unsupported { kustomization, .. }
            | KustomizeError::External { kustomization, .. } => kustomization,
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &str {
        match self {
            KustomizeError::Load { field, .. }
            | KustomizeError::ParseYaml { field, .. }
            | KustomizeError::Transform { field, .. }
            | KustomizeError::Unsupported { field, .. }
            | KustomizeError::External { field, .. } => field,
        }
    }
}
