//! Steps 3 to 5 of a reconcile behind one call: render the project of an extracted artifact,
//! refuse objects outside the agent's scope, deploy (and prune), or delete by discriminator.
//!
//! Input: a [`DeployRequest`] (project directory, spec, identity) or a [`DeleteRequest`]
//! (discriminator, identity; no artifact needed). Output: an [`EngineReport`] with the run's
//! bounded, secret-free summary and the failure to report, if any.
//!
//! The reconcile only sees the [`Engine`] trait, so its control flow is tested without a
//! Kluctl project; [`kluctl::KluctlEngine`] is the production engine (on `shared::commands`),
//! and [`scope`] holds the pure pre-flight check it runs before applying.

pub mod kluctl;
pub mod scope;

use futures::future::BoxFuture;
use shared::crd::{KluctlDeploymentSpec, RunSummary};
use std::path::Path;

/// Who the engine acts as in the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// The agent's own credentials.
    Agent,
    /// `system:serviceaccount:<namespace>:<name>`, impersonated.
    ServiceAccount(String),
}

impl Identity {
    /// The impersonated user name, if any.
    pub fn impersonated_user(&self, namespace: &str) -> Option<String> {
        match self {
            Identity::Agent => None,
            Identity::ServiceAccount(name) => Some(format!("system:serviceaccount:{namespace}:{name}")),
        }
    }
}

/// Deploy the project of an artifact.
pub struct DeployRequest<'a> {
    /// `spec.path` inside the extracted artifact.
    pub project_dir: &'a Path,
    /// The KluctlDeployment's name.
    pub name: &'a str,
    /// The agent's namespace (default namespace of rendered objects).
    pub namespace: &'a str,
    /// The spec (target, args, inclusion, images, deploy flags, prune).
    pub spec: &'a KluctlDeploymentSpec,
    /// Credentials to deploy with.
    pub identity: Identity,
    /// Allow objects outside the namespace and cluster-scoped ones.
    pub allow_out_of_namespace: bool,
}

/// Delete everything a KluctlDeployment deployed.
pub struct DeleteRequest<'a> {
    /// The KluctlDeployment's name.
    pub name: &'a str,
    /// The agent's namespace.
    pub namespace: &'a str,
    /// The discriminator recorded in the status by the last deploy.
    pub discriminator: &'a str,
    /// The spec (inclusion filters, `noWait`, `dryRun`).
    pub spec: &'a KluctlDeploymentSpec,
    /// Credentials to delete with.
    pub identity: Identity,
    /// Also delete objects outside the namespace (the agent may deploy there).
    pub allow_out_of_namespace: bool,
}

/// What went wrong, with the condition reason it maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// A reason of `shared::crd::reasons` (`BuildFailed`, `ReconciliationFailed`, `PruneFailed`,
    /// `HealthCheckFailed`).
    pub reason: &'static str,
    /// A secret-free message.
    pub message: String,
}

/// What a deploy or delete did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineReport {
    /// The discriminator of the target (what a later delete removes).
    pub discriminator: Option<String>,
    /// The run's summary (counts, first errors and warnings).
    pub summary: RunSummary,
    /// Whether readiness was waited for.
    pub waited: bool,
    /// The failure to report; `None` on success.
    pub failure: Option<Failure>,
    /// A one-line description of what changed, for the success event (`None`: nothing changed).
    pub changes: Option<String>,
}

/// The render-and-deploy engine the reconcile calls.
pub trait Engine: Send + Sync + 'static {
    /// Renders and deploys (then prunes, when the spec says so). A render error or a refused
    /// object is a `BuildFailed` failure and nothing is applied.
    fn deploy<'a>(&'a self, request: DeployRequest<'a>) -> BoxFuture<'a, EngineReport>;

    /// Deletes every object carrying the discriminator, in the agent's namespace (anywhere when
    /// the agent may deploy outside it).
    fn delete<'a>(&'a self, request: DeleteRequest<'a>) -> BoxFuture<'a, EngineReport>;
}
