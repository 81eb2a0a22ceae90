//! What the vars loader needs from a Kubernetes cluster: [`ClusterReader`], a small read-only
//! interface (get one object, list by labels) that the cluster module implements with kube-rs and
//! tests implement in memory. Without a reader (offline), cluster sources fail with a clear error.

use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::BTreeMap;

/// One object to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectQuery {
    /// `group/version` or `v1`; `None` lets the reader resolve the kind through discovery.
    pub api_version: Option<String>,
    /// Kind, e.g. `ConfigMap`.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

/// Objects to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// `group/version` or `v1`; `None` lets the reader resolve the kind through discovery.
    pub api_version: Option<String>,
    /// Kind, e.g. `ConfigMap`.
    pub kind: String,
    /// Namespace; `None` lists across all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    /// Equality label selector (all must match).
    pub labels: BTreeMap<String, String>,
}

/// A failed read (not "not found", which is `Ok(None)`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ClusterReadError {
    /// What went wrong, without credentials.
    pub message: String,
}

/// Read access to the target cluster.
pub trait ClusterReader: Send + Sync {
    /// Reads one object; `Ok(None)` when it does not exist.
    fn get_object<'a>(&'a self, query: &'a ObjectQuery) -> BoxFuture<'a, Result<Option<Value>, ClusterReadError>>;

    /// Lists the objects matching `query`.
    fn list_objects<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<Vec<Value>, ClusterReadError>>;
}
