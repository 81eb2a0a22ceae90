//! Stage 5, cluster: every Kubernetes API call of the engine.
//!
//! Input: [`ConnectOptions`] and the rendered objects of a target, grouped in [`DeployItem`]s.
//! Output: what happened, recorded into a [`crate::result::ResultBuilder`] (objects applied,
//! new, changed, orphan, deleted, hooks, errors, warnings), which becomes the
//! `CommandResult` of `diff`, `deploy`, `prune` and `delete`, or a `ValidateResult`.
//!
//! - [`client`]: kubeconfig (files merged as kubectl does, `--context`, `target.context`,
//!   exec and token auth) → [`ClusterClient`].
//! - `request.rs`, [`limiter`]: one adaptive concurrency limit (default 16) for all requests,
//!   halved on `429` and paused for `Retry-After`; a deadline per request; retries of what is
//!   safe to retry.
//! - [`discovery`]: aggregated discovery when offered, fetched once per command and shared.
//! - [`ops`]: get, list, server-side apply as field manager `kluctl`, replace, delete.
//! - [`remote`]: the live objects of a target (list by discriminator, 403 fallback per
//!   namespace, then the rendered objects not found that way) → [`RemoteObjects`].
//! - [`ObjectApplier`] (`apply.rs`): one object: dry-run or real apply, conflict resolution,
//!   replace-on-error.
//! - [`delete`] and [`wait`]: deletes with background propagation and waiting until gone;
//!   readiness waits with the pure rules of [`crate::deploy::readiness`].
//! - [`deployer`]: items in declaration order, barriers, parallel items, hooks, `waitReadiness`,
//!   `deleteObjects`, and Namespace-then-CRD-then-rest staging inside a target.
//! - [`orphans`]: orphan detection and the execution of `prune` and `delete`.
//! - [`progress`]: what a command reports while it runs (the CLI draws it).
//! - `reader.rs`: the same connection and discovery for the render stage
//!   ([`crate::vars::ClusterReader`] on [`ClusterClient`], [`crate::render::ResourceScopes`] on
//!   [`Discovery`]).
//!
//! Pure decisions (readiness, hooks, orphans, conflicts, inclusion) live in
//! [`crate::deploy`]; diffs in [`crate::diff`]. A failure on one object is recorded in the
//! result, never raised; [`ClusterError`] is for what stops a command as a whole.

mod apply;
pub mod client;
pub mod delete;
pub mod deployer;
pub mod discovery;
pub mod limiter;
pub mod ops;
pub mod orphans;
pub mod progress;
mod reader;
pub mod remote;
mod request;
pub mod wait;

pub use apply::{ApplyOptions, ObjectApplier};
pub use client::{ClusterClient, ConnectOptions, DEFAULT_CONCURRENCY, DEFAULT_REQUEST_TIMEOUT, connect};
pub use deployer::{DeployItem, DeployOptions, Deployer, ObjectSelector};
pub use discovery::{ApiResource, Discovery};
pub use ops::{FIELD_MANAGER, Propagation, Written};
pub use progress::{NoProgress, Progress, ProgressEvent};
pub use remote::RemoteObjects;
pub use request::ApiError;

/// What stops a command as a whole (per-object failures go into the result instead).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// A kubeconfig file could not be read or merged.
    #[error("failed to load kubeconfig {path}: {message}")]
    LoadKubeconfig {
        /// The file(s).
        path: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The context does not exist or is incomplete.
    #[error("failed to select kubeconfig context \"{context}\": {message}")]
    SelectContext {
        /// The context asked for (empty when none was).
        context: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// Discovery failed: the cluster does not answer, or not as an API server.
    #[error("failed to discover the API resources of {server}: {message}")]
    Discover {
        /// The API server URL.
        server: String,
        /// The cause.
        message: String,
    },
    /// An object names a kind the cluster does not serve.
    #[error(
        "failed to find the resource of {kind} in {api_version}: the cluster does not serve it (is its CRD installed?)"
    )]
    UnknownKind {
        /// The object's `apiVersion`.
        api_version: String,
        /// The object's `kind`.
        kind: String,
    },
    /// Listing the target's objects failed.
    #[error("failed to list the objects of the target: {message}")]
    ListRemote {
        /// The cause.
        message: String,
    },
    /// `prune` or `delete` without a discriminator, or another rule refused the command.
    #[error(transparent)]
    Rule(#[from] crate::deploy::RuleError),
}
