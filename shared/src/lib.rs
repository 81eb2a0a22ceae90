//! The engine of kubectl-kluctl, shared by the `kubectl-kluctl` plugin and the `kluctl-agent`.
//!
//! A command runs the pipeline below; each arrow is a named type and each stage is one module.
//! The verbs differ only in where they stop (`render` stops at the object set, `diff` after a
//! server-side dry-run, `deploy` after the apply).
//!
//! ```text
//! project ─LoadedProject─► template ─RenderedTree─► render (kustomize, helm) ─ObjectSet─►
//!   cluster (remote objects, dry-run apply) ─► diff ─► cluster (apply, prune) ─► result::CommandResult
//! ```
//!
//! Only `project` (filesystem), `helm` (the `helm` binary and chart downloads) and `cluster`
//! (the Kubernetes API) do I/O; the other stages are pure functions of their input.
#![warn(missing_docs)]

pub mod args;
pub mod cluster;
pub mod commands;
pub mod crd;
pub mod deploy;
pub mod diff;
pub mod helm;
pub mod http;
pub mod kustomize;
pub mod objects;
pub mod patch;
pub mod project;
pub mod render;
pub mod result;
pub mod schema;
pub mod template;
pub mod types;
pub mod vars;
pub mod yaml;
