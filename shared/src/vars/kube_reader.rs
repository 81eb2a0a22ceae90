//! [`KubeReader`]: the kube-rs implementation of what rendering needs from a live cluster:
//! [`ClusterReader`] for cluster vars sources and [`ResourceScopes`] for namespace fixing.
//! Discovery runs once when connecting; lookups afterwards are in memory.

use super::{ClusterReadError, ClusterReader, ListQuery, ObjectQuery};
use crate::render::ResourceScopes;
use futures::future::BoxFuture;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use serde_json::Value;

/// Read access to a cluster through kube-rs, with discovery done up front.
pub struct KubeReader {
    client: kube::Client,
    discovery: Discovery,
    version: Option<String>,
}

fn read_error(what: &str, e: impl std::fmt::Display) -> ClusterReadError {
    ClusterReadError {
        message: format!("{what}: {e}"),
    }
}

impl KubeReader {
    /// Runs discovery against the cluster behind `client`.
    pub async fn connect(client: kube::Client) -> Result<Self, ClusterReadError> {
        let discovery = Discovery::new(client.clone())
            .run()
            .await
            .map_err(|e| read_error("cluster discovery failed", e))?;
        // The version only feeds Helm's `.Capabilities`; a server that hides it still renders.
        let version = client.apiserver_version().await.ok().map(|v| v.git_version);
        Ok(KubeReader {
            client,
            discovery,
            version,
        })
    }

    /// The server's version (`v1.32.4`), when it tells.
    pub fn kube_version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Every `(group, version, kind)` the cluster serves, for Helm's `--api-versions`.
    pub fn api_resources(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for group in self.discovery.groups() {
            for version in group.versions() {
                for (resource, _) in group.versioned_resources(version) {
                    out.push((resource.group.clone(), resource.version.clone(), resource.kind.clone()));
                }
            }
        }
        out
    }

    /// Finds the resource for a kind, by `apiVersion` when given, else by a kind that exactly
    /// one group serves.
    fn resolve(
        &self,
        api_version: Option<&str>,
        kind: &str,
    ) -> Result<(ApiResource, ApiCapabilities), ClusterReadError> {
        if let Some(api_version) = api_version {
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            return self
                .discovery
                .resolve_gvk(&GroupVersionKind::gvk(group, version, kind))
                .ok_or_else(|| ClusterReadError {
                    message: format!("the cluster does not serve {kind} in {api_version}"),
                });
        }
        let found: Vec<(ApiResource, ApiCapabilities)> = self
            .discovery
            .groups()
            .filter_map(|g| g.recommended_kind(kind))
            .collect();
        match found.len() {
            0 => Err(ClusterReadError {
                message: format!("the cluster does not serve the kind {kind}"),
            }),
            1 => Ok(found.into_iter().next().expect("one")),
            _ => {
                let groups: Vec<String> = found.iter().map(|(r, _)| r.api_version.clone()).collect();
                Err(ClusterReadError {
                    message: format!("the kind {kind} is served by {} (set apiVersion)", groups.join(", ")),
                })
            }
        }
    }

    fn api(&self, resource: &ApiResource, caps: &ApiCapabilities, namespace: Option<&str>) -> Api<DynamicObject> {
        match (&caps.scope, namespace) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, resource),
            _ => Api::all_with(self.client.clone(), resource),
        }
    }
}

fn to_value(object: DynamicObject) -> Result<Value, ClusterReadError> {
    serde_json::to_value(object).map_err(|e| read_error("cannot convert the object", e))
}

impl ClusterReader for KubeReader {
    fn get_object<'a>(&'a self, query: &'a ObjectQuery) -> BoxFuture<'a, Result<Option<Value>, ClusterReadError>> {
        Box::pin(async move {
            let (resource, caps) = self.resolve(query.api_version.as_deref(), &query.kind)?;
            let api = self.api(&resource, &caps, query.namespace.as_deref());
            let object = api
                .get_opt(&query.name)
                .await
                .map_err(|e| read_error(&format!("cannot get {} {}", query.kind, query.name), e))?;
            object.map(to_value).transpose()
        })
    }

    fn list_objects<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<Vec<Value>, ClusterReadError>> {
        Box::pin(async move {
            let (resource, caps) = self.resolve(query.api_version.as_deref(), &query.kind)?;
            let api = self.api(&resource, &caps, query.namespace.as_deref());
            let selector: Vec<String> = query.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let params = ListParams::default().labels(&selector.join(","));
            let list = api
                .list(&params)
                .await
                .map_err(|e| read_error(&format!("cannot list {}", query.kind), e))?;
            list.items.into_iter().map(to_value).collect()
        })
    }
}

impl ResourceScopes for KubeReader {
    fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        let (_, caps) = self.discovery.get(group)?.recommended_kind(kind)?;
        Some(matches!(caps.scope, Scope::Namespaced))
    }
}
