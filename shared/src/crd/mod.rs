//! The GitOps API: the `KluctlDeployment` custom resource (`flux.kluctl.io/v1alpha1`), the parts
//! of Flux's source objects the agent reads, and the objects that install the agent.
//!
//! The plugin creates these objects (`gitops create`, `install-crds`, `agent install`) and the
//! agent watches them; both use the names and strings defined here, so a condition reason or a
//! finalizer written by one is read correctly by the other. Input: spec fields and Flux source
//! objects as `serde_json::Value`; output: typed [`KluctlDeployment`]s, [`SourceArtifact`]s,
//! [`Condition`]s and manifests as `serde_json::Value`.
//!
//! - [`kluctl_deployment`]: spec and status types, from which the CRD YAML is generated
//!   ([`crd_yaml`]); spec validation ([`KluctlDeploymentSpec::validate`]).
//! - [`conditions`]: Flux/kstatus conditions (`Ready`, `Reconciling`, `Stalled`, `Healthy`) and the
//!   reason constants in [`reasons`].
//! - [`flux_source`]: `GitRepository`, `OCIRepository` and `Bucket` (v1, v1beta2 fallback),
//!   parsed tolerantly into a [`SourceArtifact`]; legacy revision normalisation.
//! - [`manifests`]: the agent's ServiceAccount, Role, RoleBinding and Deployment (namespaced RBAC
//!   only), and the objects `gitops create` writes.
//! - [`gitops`]: the cluster operations of the `gitops` commands (list rows, suspend, request a
//!   reconcile and wait for it, delete, server-side apply).

pub mod conditions;
pub mod flux_source;
pub mod gitops;
pub mod kluctl_deployment;
pub mod manifests;

pub use conditions::{Condition, ConditionStatus, reasons};
pub use flux_source::{FluxSourceKind, SourceArtifact, SourceObject, normalize_revision};
pub use kluctl_deployment::{
    DependencyReference, FixedImage, KluctlDeployment, KluctlDeploymentSpec, KluctlDeploymentStatus, RunSummary,
    SourceReference, SpecError, ValidatedSpec, crd, crd_yaml,
};

/// API group of `KluctlDeployment`.
pub const GROUP: &str = "flux.kluctl.io";
/// API version of `KluctlDeployment`.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of `KluctlDeployment`.
pub const API_VERSION: &str = "flux.kluctl.io/v1alpha1";
/// Kind name.
pub const KIND: &str = "KluctlDeployment";
/// Plural resource name.
pub const PLURAL: &str = "kluctldeployments";

/// The finalizer the agent puts on every `KluctlDeployment` before its first deploy.
pub const FINALIZER: &str = "finalizers.flux.kluctl.io";

/// Flux's on-demand reconcile annotation; any change of its (opaque) value requests a reconcile.
pub const REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

/// Field manager of every apply of deployed objects (the plugin's, so both own the same fields).
pub const APPLY_FIELD_MANAGER: &str = "kluctl";

/// Field manager of the agent's status and finalizer writes, distinct from the apply manager so
/// the two never take fields from each other.
pub const STATUS_FIELD_MANAGER: &str = "kluctl-agent";

/// Annotation of the agent's events that carries the artifact revision (Flux's `<group>/revision`).
pub const REVISION_EVENT_ANNOTATION: &str = "flux.kluctl.io/revision";

/// Label the plugin puts on the objects it installs for the agent.
pub const AGENT_COMPONENT_LABEL: &str = "app.kubernetes.io/component";
