//! The cluster as the render stage sees it: [`crate::vars::ClusterReader`] (cluster vars
//! sources) on [`ClusterClient`], and [`crate::render::ResourceScopes`] (namespace fixing) on
//! [`Discovery`], so a command renders and deploys with one connection and one discovery.
//! A client restricted to a namespace ([`ClusterClient::restrict_to_namespace`]) reads vars
//! only from that namespace.

use super::client::ClusterClient;
use super::discovery::{ApiResource, Discovery};
use crate::render::ResourceScopes;
use crate::vars::{ClusterReadError, ClusterReader, ListQuery, ObjectQuery};
use futures::future::BoxFuture;
use serde_json::Value;

impl ResourceScopes for Discovery {
    fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        Discovery::is_namespaced(self, group, kind)
    }
}

fn read_error(message: impl Into<String>) -> ClusterReadError {
    ClusterReadError {
        message: message.into(),
    }
}

impl ClusterClient {
    async fn resolve_query(&self, api_version: Option<&str>, kind: &str) -> Result<ApiResource, ClusterReadError> {
        let discovery = self.discovery().await.map_err(|e| read_error(e.to_string()))?;
        match api_version {
            Some(api_version) => self
                .resource_for(api_version, kind)
                .await
                .map_err(|e| read_error(e.to_string())),
            None => discovery
                .preferred("", kind)
                .or_else(|| discovery.find_kind(kind))
                .cloned()
                .ok_or_else(|| read_error(format!("the cluster does not serve the kind {kind}"))),
        }
    }

    /// A client restricted to one namespace (the agent) reads vars only there.
    fn check_scope(&self, resource: &ApiResource, namespace: Option<&str>, what: &str) -> Result<(), ClusterReadError> {
        match self.namespace_scope() {
            Some(scope) if !resource.namespaced || namespace != Some(scope) => Err(read_error(format!(
                "refusing to read {what} {}: only objects of namespace {scope} may be read (set the source's namespace to {scope})",
                match namespace {
                    Some(ns) if resource.namespaced => format!("in namespace {ns}"),
                    _ if resource.namespaced => "across all namespaces".to_string(),
                    _ => "(cluster-scoped)".to_string(),
                }
            ))),
            _ => Ok(()),
        }
    }
}

impl ClusterReader for ClusterClient {
    fn get_object<'a>(&'a self, query: &'a ObjectQuery) -> BoxFuture<'a, Result<Option<Value>, ClusterReadError>> {
        Box::pin(async move {
            let resource = self.resolve_query(query.api_version.as_deref(), &query.kind).await?;
            let namespace = resource
                .namespaced
                .then(|| query.namespace.as_deref().unwrap_or(self.default_namespace()));
            self.check_scope(&resource, namespace, &format!("{} {}", query.kind, query.name))?;
            let mut object = ClusterClient::get_object(self, &resource, namespace, &query.name)
                .await
                .map_err(|e| read_error(format!("failed to get {} {}: {e}", query.kind, query.name)))?;
            if let Some(map) = object.as_mut().and_then(Value::as_object_mut) {
                map.entry("apiVersion")
                    .or_insert_with(|| Value::String(resource.api_version()));
                map.entry("kind")
                    .or_insert_with(|| Value::String(resource.kind.clone()));
            }
            Ok(object)
        })
    }

    fn list_objects<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<Vec<Value>, ClusterReadError>> {
        Box::pin(async move {
            let resource = self.resolve_query(query.api_version.as_deref(), &query.kind).await?;
            let selector: Vec<String> = query.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let selector = (!selector.is_empty()).then(|| selector.join(","));
            let namespace = query.namespace.as_deref().filter(|_| resource.namespaced);
            self.check_scope(&resource, namespace, &query.kind)?;
            ClusterClient::list_objects(self, &resource, namespace, selector.as_deref())
                .await
                .map_err(|e| read_error(format!("failed to list {}: {e}", query.kind)))
        })
    }
}
