//! [`VarsError`]: a vars source that could not be loaded, with the location of its entry.

use crate::types::Located;

/// A vars source that failed; each variant names the failed step and carries where the
/// source is declared (or, for files, the position inside the file).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VarsError {
    /// The entry is malformed (no source kind, several kinds, a missing `targetPath`).
    #[error("{}", .0.render("invalid vars source"))]
    Invalid(Located),
    /// A template inside the entry (or its `when`) failed to render.
    #[error("{}", .0.render("failed to render vars source"))]
    RenderSource(Located),
    /// A `file` source could not be found, read, rendered or parsed.
    #[error("{}", .0.render("failed to load vars file"))]
    LoadFile(Located),
    /// A `systemEnvVars` variable is missing or not valid YAML.
    #[error("{}", .0.render("failed to load environment variables"))]
    LoadEnv(Located),
    /// A `clusterConfigMap`, `clusterSecret` or `clusterObject` source failed.
    #[error("{}", .0.render("failed to load vars from the cluster"))]
    LoadClusterObject(Located),
    /// An `http` source failed.
    #[error("{}", .0.render("failed to load vars over http"))]
    LoadHttp(Located),
    /// The source kind is not available in this build.
    #[error("{}", .0.render("unsupported vars source"))]
    Unsupported(Located),
    /// The caller does not allow this source kind (the agent, for sources outside the artifact).
    #[error("{}", .0.render("refused vars source"))]
    Refused(Located),
}

impl VarsError {
    /// Where the failure is and what it says.
    pub fn located(&self) -> &Located {
        match self {
            VarsError::Invalid(l)
            | VarsError::RenderSource(l)
            | VarsError::LoadFile(l)
            | VarsError::LoadEnv(l)
            | VarsError::LoadClusterObject(l)
            | VarsError::LoadHttp(l)
            | VarsError::Unsupported(l)
            | VarsError::Refused(l) => l,
        }
    }
}
