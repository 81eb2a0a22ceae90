//! [`Discovery`]: which resources the cluster serves, fetched once per command and shared by
//! every stage (namespace fixing, remote objects, applies, deletes, waits).
//!
//! Aggregated discovery (`apidiscovery.k8s.io/v2`, two requests: `/api` and `/apis`) when the
//! server offers it, else the legacy documents (one request per group version, sent in
//! parallel). The result is kept in the [`ClusterClient`] and only fetched again when an object
//! names a kind it does not know, which happens when a CRD was just established.

use super::ClusterError;
use super::client::ClusterClient;
use super::request::{ApiError, ApiRequest};
use futures::future::join_all;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

const AGGREGATED_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// One resource (a kind in one group version) the cluster serves.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiResource {
    /// API group, empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name used in URLs.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Verbs (`get`, `list`, `patch`, ...).
    pub verbs: Vec<String>,
    /// Whether this is the group's preferred version.
    pub preferred: bool,
}

fn encode_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
        .replace("%3A", ":")
}

impl ApiResource {
    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether the resource supports a verb.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// The URL path of the collection (in `namespace` for namespaced resources, all namespaces
    /// when `None`), or of one object when `name` is given.
    pub fn path(&self, namespace: Option<&str>, name: Option<&str>) -> String {
        let mut path = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        if let (true, Some(ns)) = (self.namespaced, namespace) {
            path.push_str("/namespaces/");
            path.push_str(&encode_segment(ns));
        }
        path.push('/');
        path.push_str(&self.plural);
        if let Some(name) = name {
            path.push('/');
            path.push_str(&encode_segment(name));
        }
        path
    }
}

type Gvk = (String, String, String);
type Gk = (String, String);

/// Every resource the cluster serves.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    resources: Vec<ApiResource>,
    by_gvk: HashMap<Gvk, usize>,
    preferred: HashMap<Gk, usize>,
    generation: u64,
}

impl Discovery {
    /// Builds the index (resources of preferred versions first win the group-kind lookup).
    pub fn new(resources: Vec<ApiResource>) -> Self {
        let mut d = Discovery {
            resources,
            ..Default::default()
        };
        for (i, r) in d.resources.iter().enumerate() {
            d.by_gvk
                .entry((r.group.clone(), r.version.clone(), r.kind.clone()))
                .or_insert(i);
            let gk = (r.group.clone(), r.kind.clone());
            match d.preferred.get(&gk) {
                Some(&j) if d.resources[j].preferred || !r.preferred => {}
                _ => {
                    d.preferred.insert(gk, i);
                }
            }
        }
        d
    }

    /// The resource serving exactly this group, version and kind.
    pub fn resolve(&self, group: &str, version: &str, kind: &str) -> Option<&ApiResource> {
        self.by_gvk
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .map(|&i| &self.resources[i])
    }

    /// The preferred version's resource for a group and kind.
    pub fn preferred(&self, group: &str, kind: &str) -> Option<&ApiResource> {
        self.preferred
            .get(&(group.to_string(), kind.to_string()))
            .map(|&i| &self.resources[i])
    }

    /// The preferred resource of a kind in any group (the core group first, then by group
    /// name), for references that name only a kind.
    pub fn find_kind(&self, kind: &str) -> Option<&ApiResource> {
        let mut found: Vec<&ApiResource> = self
            .preferred
            .iter()
            .filter(|((_, k), _)| k == kind)
            .map(|(_, &i)| &self.resources[i])
            .collect();
        found.sort_by(|a, b| a.group.cmp(&b.group));
        found.into_iter().next()
    }

    /// Whether a kind is namespaced (`None`: unknown to the cluster).
    pub fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        self.preferred(group, kind).map(|r| r.namespaced)
    }

    /// One resource per group and kind (the preferred version) that can be listed.
    pub fn listable(&self) -> impl Iterator<Item = &ApiResource> {
        let mut out: Vec<&ApiResource> = self
            .preferred
            .values()
            .map(|&i| &self.resources[i])
            .filter(|r| r.supports("list"))
            .collect();
        out.sort_by(|a, b| (&a.group, &a.kind).cmp(&(&b.group, &b.kind)));
        out.into_iter()
    }

    /// How many times discovery was fetched in this command (1 for the first fetch).
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn parse_aggregated(doc: &Value, out: &mut Vec<ApiResource>) {
    for item in doc.get("items").and_then(Value::as_array).into_iter().flatten() {
        let group = item
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let versions = item.get("versions").and_then(Value::as_array).into_iter().flatten();
        for (index, version) in versions.enumerate() {
            let Some(v) = version.get("version").and_then(Value::as_str) else {
                continue;
            };
            for r in version.get("resources").and_then(Value::as_array).into_iter().flatten() {
                let (Some(plural), Some(kind)) = (
                    r.get("resource").and_then(Value::as_str),
                    r.pointer("/responseKind/kind").and_then(Value::as_str),
                ) else {
                    continue;
                };
                out.push(ApiResource {
                    group: group.to_string(),
                    version: v.to_string(),
                    kind: kind.to_string(),
                    plural: plural.to_string(),
                    namespaced: r.get("scope").and_then(Value::as_str) == Some("Namespaced"),
                    verbs: strings(r.get("verbs")),
                    preferred: index == 0,
                });
            }
        }
    }
}

fn parse_resource_list(doc: &Value, group: &str, version: &str, preferred: bool, out: &mut Vec<ApiResource>) {
    for r in doc.get("resources").and_then(Value::as_array).into_iter().flatten() {
        let (Some(plural), Some(kind)) = (
            r.get("name").and_then(Value::as_str),
            r.get("kind").and_then(Value::as_str),
        ) else {
            continue;
        };
        if plural.contains('/') {
            continue;
        }
        out.push(ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced: r.get("namespaced").and_then(Value::as_bool).unwrap_or(false),
            verbs: strings(r.get("verbs")),
            preferred,
        });
    }
}

fn is_aggregated(content_type: &str) -> bool {
    content_type.contains("as=APIGroupDiscoveryList")
}

impl ClusterClient {
    async fn fetch_discovery(&self) -> Result<Vec<ApiResource>, ApiError> {
        let mut request = ApiRequest::get("/api".to_string());
        request.accept = Some(AGGREGATED_ACCEPT);
        let mut apis = request.clone();
        apis.path = "/apis".to_string();
        let (core, groups) = futures::join!(self.send(&request), self.send(&apis));
        let (core, groups) = (core?, groups?);
        let mut resources = Vec::new();
        if is_aggregated(&core.content_type) && is_aggregated(&groups.content_type) {
            parse_aggregated(&core.json()?, &mut resources);
            parse_aggregated(&groups.json()?, &mut resources);
            return Ok(resources);
        }
        // Legacy discovery: one document per group version.
        let mut wanted: Vec<(String, String, bool)> = strings(core.json()?.get("versions"))
            .into_iter()
            .enumerate()
            .map(|(i, v)| (String::new(), v, i == 0))
            .collect();
        for g in groups
            .json()?
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = g.get("name").and_then(Value::as_str).unwrap_or_default();
            let preferred = g.pointer("/preferredVersion/version").and_then(Value::as_str);
            for v in g.get("versions").and_then(Value::as_array).into_iter().flatten() {
                if let Some(version) = v.get("version").and_then(Value::as_str) {
                    wanted.push((name.to_string(), version.to_string(), Some(version) == preferred));
                }
            }
        }
        let docs = join_all(wanted.iter().map(|(g, v, _)| {
            let path = if g.is_empty() {
                format!("/api/{v}")
            } else {
                format!("/apis/{g}/{v}")
            };
            async move { self.get_json(path).await }
        }))
        .await;
        for ((g, v, preferred), doc) in wanted.iter().zip(docs) {
            match doc {
                Ok(doc) => parse_resource_list(&doc, g, v, *preferred, &mut resources),
                // An unavailable aggregated API (metrics-server down) must not stop a deploy.
                Err(e) => tracing::warn!("skipping group version {g}/{v} in discovery: {e}"),
            }
        }
        Ok(resources)
    }

    /// The cluster's resources, fetched on first use and then shared.
    pub async fn discovery(&self) -> Result<Arc<Discovery>, ClusterError> {
        if let Some(d) = self.inner.discovery.read().await.as_ref() {
            return Ok(Arc::clone(d));
        }
        self.refresh_discovery(0).await
    }

    /// Fetches discovery again, unless someone already did since `seen_generation`.
    pub async fn refresh_discovery(&self, seen_generation: u64) -> Result<Arc<Discovery>, ClusterError> {
        let mut generation = self.inner.discovery_refresh.lock().await;
        if *generation > seen_generation
            && let Some(d) = self.inner.discovery.read().await.as_ref()
        {
            return Ok(Arc::clone(d));
        }
        let resources = self.fetch_discovery().await.map_err(|e| ClusterError::Discover {
            server: self.server().to_string(),
            message: e.to_string(),
        })?;
        *generation += 1;
        let mut discovery = Discovery::new(resources);
        discovery.generation = *generation;
        let discovery = Arc::new(discovery);
        *self.inner.discovery.write().await = Some(Arc::clone(&discovery));
        Ok(discovery)
    }

    /// The resource for an object's `apiVersion` and `kind`; fetches discovery again once when
    /// the kind is unknown (its CRD may have been established meanwhile).
    pub async fn resource_for(&self, api_version: &str, kind: &str) -> Result<ApiResource, ClusterError> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let discovery = self.discovery().await?;
        if let Some(r) = discovery.resolve(group, version, kind) {
            return Ok(r.clone());
        }
        let discovery = self.refresh_discovery(discovery.generation()).await?;
        discovery
            .resolve(group, version, kind)
            .cloned()
            .ok_or_else(|| ClusterError::UnknownKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_aggregated_documents_and_prefers_the_first_version() {
        let doc = json!({"items": [
            {"metadata": {"name": "example.com"}, "versions": [
                {"version": "v2", "resources": [{"resource": "widgets", "responseKind": {"group": "example.com", "version": "v2", "kind": "Widget"}, "scope": "Namespaced", "verbs": ["get", "list", "patch"]}]},
                {"version": "v1", "resources": [{"resource": "widgets", "responseKind": {"kind": "Widget"}, "scope": "Namespaced", "verbs": ["get"]}]}
            ]},
            {"metadata": {}, "versions": [{"version": "v1", "resources": [
                {"resource": "namespaces", "responseKind": {"kind": "Namespace"}, "scope": "Cluster", "verbs": ["list"]}
            ]}]}
        ]});
        let mut resources = Vec::new();
        parse_aggregated(&doc, &mut resources);
        let d = Discovery::new(resources);
        assert_eq!(d.preferred("example.com", "Widget").unwrap().version, "v2");
        assert_eq!(d.resolve("example.com", "v1", "Widget").unwrap().plural, "widgets");
        assert_eq!(d.is_namespaced("", "Namespace"), Some(false));
        assert_eq!(d.is_namespaced("", "Pod"), None);
        let listable: Vec<String> = d.listable().map(|r| r.api_version()).collect();
        assert_eq!(listable, vec!["v1", "example.com/v2"]);
    }

    #[test]
    fn builds_paths_with_escaped_names() {
        let r = ApiResource {
            group: "rbac.authorization.k8s.io".into(),
            version: "v1".into(),
            kind: "ClusterRole".into(),
            plural: "clusterroles".into(),
            namespaced: false,
            verbs: vec![],
            preferred: true,
        };
        assert_eq!(
            r.path(Some("ignored"), Some("system:admin x")),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:admin%20x"
        );
        let cm = ApiResource {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced: true,
            verbs: vec![],
            preferred: true,
        };
        assert_eq!(cm.path(Some("prod"), None), "/api/v1/namespaces/prod/configmaps");
        assert_eq!(cm.path(None, None), "/api/v1/configmaps");
    }
}
