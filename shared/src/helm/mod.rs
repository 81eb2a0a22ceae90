//! Helm releases (stage 3, `render`, its Helm half; plus the `helm-pull` and `helm-update` verbs).
//!
//! Input: a rendered deployment item directory holding `helm-chart.y(a)ml` files (with
//! [`HelmChartConfig`](crate::types::helm_chart::HelmChartConfig) inside) and the rendered
//! `helm-values.y(a)ml` beside each; output: the release's manifests written to the item as
//! `helm-rendered.yaml` (or the `output` name), described by a [`HelmRelease`], ready for Kustomize.
//!
//! # Rendering (called by the render stage, once per deployment item)
//!
//! ```no_run
//! use shared::helm::{ChartCache, HelmBinary, HelmRenderContext, render_item_releases};
//! use std::path::Path;
//! # fn main() -> Result<(), shared::helm::HelmError> {
//! let helm = HelmBinary::resolve()?; // KLUCTL_HELM_BINARY, then PATH
//! let cache = ChartCache::user_default(Default::default());
//! let ctx = HelmRenderContext {
//!     source_root: Path::new("/repo"),                   // .helm-charts is searched up to here
//!     source_item_dir: Path::new("/repo/third-party/redis"), // the item in the sources
//!     display_dir: "third-party/redis",                  // how errors name the item
//!     helm: &helm,
//!     cluster: None, // Some(&ClusterInfo { kube_version, api_versions }) when a cluster is reachable
//!     cache: &cache, // where `skipPrePull: true` charts are pulled to
//! };
//! let releases = render_item_releases(Path::new("/tmp/render/third-party/redis"), &ctx)?;
//! # Ok(()) }
//! ```
//!
//! Each release runs `helm template` (no shell) with the release name, `--namespace`, the values
//! file, `--include-crds` unless `skipCRDs`, `--skip-tests`, and the cluster's Kubernetes version
//! and API versions when given. Charts come from `.helm-charts/` in Kluctl's layout (see
//! [`ChartRef`]), local `path:` charts from the sources (never the rendered tree, so chart
//! templates are not run through Jinja2), and `skipPrePull` charts from the user cache.
//!
//! For a whole render, [`HelmStage`] holds the binary (looked up only when an item has charts),
//! the cache and the cluster capabilities, and renders one item at a time.
//!
//! # What the render stage does with the output
//!
//! - Objects of a release that sets `namespace:` carry the internal annotation
//!   [`INSTALL_NAMESPACE_ANNOTATION`]; namespace fixing calls [`apply_install_namespace`] on every
//!   object, which removes the annotation and gives namespaced objects without a namespace the
//!   release namespace (Kluctl's behaviour; objects of releases without `namespace:` fall back to
//!   `default` like any other object).
//! - Helm hooks are left as Helm wrote them (`helm.sh/hook`, `helm.sh/hook-weight`, ...), after
//!   the chart's normal manifests, as Kluctl does; the deploy stage maps them to Kluctl hooks
//!   (`pre-install` -> `pre-deploy-initial`, ...) in [`crate::deploy::hooks::parse_hook`]
//!   together with `kluctl.io/hook*`. Test hooks are already dropped from the output.
//!
//! # helm-pull and helm-update
//!
//! [`pull_project`] and [`update_project`] are the two verbs as library functions returning typed
//! reports; downloads go through [`ChartClient`] (reqwest), which reports progress through a
//! callback so the CLI can draw bars.

mod archive;
mod auth;
mod binary;
mod client;
mod error;
mod fetch;
mod layout;
mod namespace;
mod oci;
mod progress;
mod pull;
mod render;
mod repo;
mod stage;
mod store;
mod update;
mod version;

pub use auth::{HelmCredentialFlags, HelmCredentials, RegistryCredentialFlags, RegistryCredentials};
pub use binary::HelmBinary;
pub use client::{ChartCache, ChartClient};
pub use error::HelmError;
pub use layout::{ChartRef, RepoKind, find_charts_dir};
pub use namespace::{INSTALL_NAMESPACE_ANNOTATION, apply_install_namespace, take_install_namespace};
pub use progress::{ProgressFn, PullEvent, PullEventKind};
pub use pull::{ProjectRelease, PullOptions, PullReport, PulledVersion, RemovedVersion, pull_project, scan_project};
pub use render::{ClusterInfo, HelmRelease, HelmRenderContext, render_item_releases};
pub use stage::HelmStage;
pub use update::{ChartUpdate, ConfirmFn, UpdateOptions, UpdateReport, update_project};
pub use version::{Constraint, parse_version};
