//! [`ProjectError`]: a project that could not be loaded, with the project-relative file, line and
//! column, the include chain that led there, and what to do.

use crate::types::Located;
use crate::vars::VarsError;

/// Loading a project failed; each variant names the failed step.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    /// The project directory or `.kluctl.yaml` could not be read.
    #[error("{}", .0.render("failed to read project"))]
    ReadProject(Located),
    /// `.kluctl.yaml` is not valid.
    #[error("{}", .0.render("failed to parse project config"))]
    ParseProjectConfig(Located),
    /// The requested target does not exist, or a target is required.
    #[error("{}", .0.render("failed to select target"))]
    SelectTarget(Located),
    /// A target field or the discriminator failed to render.
    #[error("{}", .0.render("failed to render target"))]
    RenderTarget(Located),
    /// Args are missing or malformed.
    #[error("{}", .0.render("failed to resolve args"))]
    ResolveArgs(Located),
    /// A `deployment.yaml` could not be found or read.
    #[error("{}", .0.render("failed to read deployment project"))]
    ReadDeployment(Located),
    /// A `deployment.yaml` failed to render as a template.
    #[error("{}", .0.render("failed to render deployment project"))]
    RenderDeployment(Located),
    /// A `deployment.yaml` is not valid YAML or has unknown or mistyped fields.
    #[error("{}", .0.render("failed to parse deployment project"))]
    ParseDeployment(Located),
    /// A deployment item is inconsistent (two kinds at once, a field that needs another).
    #[error("{}", .0.render("invalid deployment item"))]
    InvalidItem(Located),
    /// A `path` or `include` does not exist, leaves the project, or includes itself.
    #[error("{}", .0.render("failed to resolve deployment item"))]
    ResolveItem(Located),
    /// A `when` condition failed to evaluate.
    #[error("{}", .0.render("failed to evaluate condition"))]
    EvaluateCondition(Located),
    /// A vars source failed.
    #[error(transparent)]
    LoadVars(#[from] VarsError),
    /// A feature that this build does not support.
    #[error("{}", .0.render("unsupported feature"))]
    Unsupported(Located),
}

impl ProjectError {
    /// Where the failure is, what it says, the hint and the include chain.
    pub fn located(&self) -> &Located {
        match self {
            ProjectError::ReadProject(l)
            | ProjectError::ParseProjectConfig(l)
            | ProjectError::SelectTarget(l)
            | ProjectError::RenderTarget(l)
            | ProjectError::ResolveArgs(l)
            | ProjectError::ReadDeployment(l)
            | ProjectError::RenderDeployment(l)
            | ProjectError::ParseDeployment(l)
            | ProjectError::InvalidItem(l)
            | ProjectError::ResolveItem(l)
            | ProjectError::EvaluateCondition(l)
            | ProjectError::Unsupported(l) => l,
            ProjectError::LoadVars(e) => e.located(),
        }
    }
}
