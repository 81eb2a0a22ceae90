//! The in-memory Kubernetes API server for tests: served over real HTTP on 127.0.0.1 so the real
//! `kubectl`, kube-rs clients and our own binaries talk to it as to a cluster.
//!
//! Stages of a request: [`handlers`] (HTTP, authentication, impersonation, faults, RBAC) →
//! [`request`] (`RequestInfo`, `Query`) → [`ops`] (create/update/patch/delete with the rules of
//! [`kinds`]) → [`store`] (objects, resourceVersions, watch history) → answers encoded as JSON, YAML
//! or [`table`]s; discovery and OpenAPI documents come from the [`registry`] of built-in and CRD
//! resources. [`controllers`] react to store events (namespace deletion, garbage collection, CRD
//! cleanup, and with `--simulate-controllers` workload readiness).
//!
//! Entry point: [`TestServer::start`] / [`TestServer::start_blocking`] with [`ServerOptions`].

pub mod auth;
pub mod controllers;
pub mod discovery;
pub mod errors;
pub mod faults;
pub mod handlers;
pub mod kinds;
pub mod meta;
pub mod openapi;
pub mod ops;
pub mod options;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod schemas;
pub mod selectors;
pub mod server;
pub mod state;
pub mod store;
pub mod table;
pub mod tls;
pub mod version;

pub use controllers::{FAIL_ANNOTATION, NEVER_READY_ANNOTATION};
pub use errors::ApiError;
pub use faults::{FaultSpec, FaultSpecError};
pub use options::ServerOptions;
pub use server::{Gvr, ServerError, TestServer};
