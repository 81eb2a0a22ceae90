//! [`RenderError`]: an item that could not be rendered, with the original project-relative file,
//! line and column, and the `deployment.yaml` entries that declared the item.

use crate::types::Located;
use std::fmt;

/// Rendering failed; each variant names the failed step.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The output directory cannot be used (exists with foreign content, cannot be created).
    #[error("{}", .0.render("failed to prepare the render output directory"))]
    PrepareOutput(Located),
    /// A file of an item could not be read or walked.
    #[error("{}", .0.render("failed to read item file"))]
    ReadItem(Located),
    /// A file of an item failed to render as a template.
    #[error("{}", .0.render("failed to render template"))]
    RenderTemplate(Located),
    /// Writing to the render output failed.
    #[error("{}", .0.render("failed to write rendered file"))]
    WriteOutput(Located),
    /// A Helm release of the item failed.
    #[error("{}", .0.render("failed to render helm chart"))]
    RenderHelm(Located),
    /// The item's kustomization could not be read, generated or adjusted.
    #[error("{}", .0.render("failed to prepare kustomization"))]
    PrepareKustomization(Located),
    /// Kustomize failed on the item.
    #[error("{}", .0.render("failed to build kustomization"))]
    BuildKustomize(Located),
    /// An object is not a valid Kubernetes object.
    #[error("{}", .0.render("failed to post-process object"))]
    PostProcess(Located),
    /// Two items (or one item twice) render the same object.
    #[error("{}", .0.render("duplicate object"))]
    DuplicateObject(Located),
    /// Several items failed; every failure is listed.
    #[error("{}", Several(.0))]
    Several(Vec<RenderError>),
}

struct Several<'a>(&'a [RenderError]);

impl fmt::Display for Several<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} errors while rendering:", self.0.len())?;
        for e in self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

impl RenderError {
    /// The located failures: one for a single error, all of them for [`RenderError::Several`].
    pub fn all(&self) -> Vec<&Located> {
        match self {
            RenderError::Several(errors) => errors.iter().flat_map(RenderError::all).collect(),
            RenderError::PrepareOutput(l)
            | RenderError::ReadItem(l)
            | RenderError::RenderTemplate(l)
            | RenderError::WriteOutput(l)
            | RenderError::RenderHelm(l)
            | RenderError::PrepareKustomization(l)
            | RenderError::BuildKustomize(l)
            | RenderError::PostProcess(l)
            | RenderError::DuplicateObject(l) => vec![l],
        }
    }

    /// One error for a list of failures (the list must not be empty).
    pub(crate) fn from_list(mut errors: Vec<RenderError>) -> RenderError {
        if errors.len() == 1 {
            errors.pop().expect("one error")
        } else {
            RenderError::Several(errors)
        }
    }
}
