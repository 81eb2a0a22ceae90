//! The resource registry: which resources the server serves ([`ResourceInfo`], built-in and from CRDs),
//! looked up by group, version and plural (REST paths) or by group and kind (objects in request bodies).
//! Discovery, OpenAPI, routing and the store all read it.

mod builtin;

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use builtin::{BuiltinDefinition, builtin_resources};

/// `group` + plural resource name: the key of a resource regardless of version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group, empty for the core group.
    pub group: String,
    /// Plural resource name (`deployments`).
    pub resource: String,
}

impl GroupResource {
    /// Builds a key.
    pub fn new(group: &str, resource: &str) -> Self {
        GroupResource {
            group: group.to_string(),
            resource: resource.to_string(),
        }
    }
}

/// How a resource's `scale` subresource maps onto the object.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleInfo {
    /// JSON path of the desired replicas (`.spec.replicas`).
    pub spec_replicas_path: String,
    /// JSON path of the observed replicas (`.status.replicas`).
    pub status_replicas_path: String,
    /// JSON path of the label selector string, if any (`.status.selector`).
    pub label_selector_path: Option<String>,
}

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Clone, Debug, PartialEq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type (`string`, `integer`, `number`, `boolean`, `date`).
    pub column_type: String,
    /// Optional format.
    pub format: String,
    /// Description shown by `kubectl explain`.
    pub description: String,
    /// 0 = always shown; above 0 = `-o wide` only.
    pub priority: i64,
    /// Simple JSON path into the object (`.spec.replicas`).
    pub json_path: String,
}

/// What one served version of a resource offers.
#[derive(Clone, Debug)]
pub struct VersionInfo {
    /// Version name (`v1`, `v1beta1`).
    pub name: String,
    /// Whether a `status` subresource exists (status changes are ignored on the main resource).
    pub status: bool,
    /// The `scale` subresource, if any.
    pub scale: Option<ScaleInfo>,
    /// The CRD's `openAPIV3Schema` for this version (built-ins use the k8s-openapi definitions).
    pub schema: Option<Arc<Value>>,
    /// CRD printer columns (empty for built-ins, which have their own printers).
    pub columns: Vec<PrinterColumn>,
    /// Whether this version is deprecated (a `Warning` header is sent on use).
    pub deprecation_warning: Option<String>,
    /// Merge semantics of a custom resource version (list types, map types) for server-side apply;
    /// built-ins take theirs from `shared::schema::builtin`.
    pub type_schema: Option<shared::schema::TypeSchema>,
}

/// Default deletion propagation when a request gives none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Delete now, dependents in the background.
    Background,
    /// Delete dependents first.
    Foreground,
    /// Leave dependents, removing the owner reference.
    Orphan,
}

impl Propagation {
    /// Parses the `propagationPolicy` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Background" => Some(Propagation::Background),
            "Foreground" => Some(Propagation::Foreground),
            "Orphan" => Some(Propagation::Orphan),
            _ => None,
        }
    }
}

/// Everything the server knows about one resource (all its served versions).
#[derive(Clone, Debug)]
pub struct ResourceInfo {
    /// API group, empty for core.
    pub group: String,
    /// Served versions, preferred first.
    pub versions: Vec<VersionInfo>,
    /// The version objects are stored in (what `apiVersion` the store holds).
    pub storage_version: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Kind of lists (`DeploymentList`).
    pub list_kind: String,
    /// Plural resource name (`deployments`).
    pub plural: String,
    /// Singular name (`deployment`).
    pub singular: String,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
    /// Supported verbs on the main resource.
    pub verbs: Vec<&'static str>,
    /// Whether `metadata.generation` is maintained.
    pub generation: bool,
    /// Default deletion propagation.
    pub default_propagation: Propagation,
    /// OpenAPI definition name of a built-in kind (`io.k8s.api.apps.v1.Deployment`).
    pub definition: Option<BuiltinDefinition>,
    /// Name of the CRD that defines this resource, for custom resources.
    pub crd_name: Option<String>,
}

impl ResourceInfo {
    /// The group/resource key.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    /// `apiVersion` for a version of this resource.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }

    /// A served version by name.
    pub fn version(&self, name: &str) -> Option<&VersionInfo> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// The preferred (first) version.
    pub fn preferred(&self) -> &VersionInfo {
        &self.versions[0]
    }

    /// The merge semantics (list and map types, patch strategies) of a version of this resource.
    pub fn type_schema(&self, version: &str) -> Option<shared::schema::TypeSchema> {
        if self.is_custom() {
            return self.version(version).and_then(|v| v.type_schema.clone());
        }
        shared::schema::builtin(&self.group, version, &self.kind).cloned()
    }

    /// True when custom (defined by a CRD).
    pub fn is_custom(&self) -> bool {
        self.crd_name.is_some()
    }

    /// True when the verb is allowed on the main resource.
    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

/// The set of served resources; CRDs add and remove entries at run time.
#[derive(Default)]
pub struct Registry {
    inner: RwLock<Inner>,
}

#[derive(Default, Clone)]
struct Inner {
    /// In discovery order: built-ins as kube-apiserver orders its groups, then CRD groups.
    resources: Vec<Arc<ResourceInfo>>,
    by_resource: HashMap<GroupResource, Arc<ResourceInfo>>,
}

impl Registry {
    /// A registry serving the built-in resources.
    pub fn with_builtins() -> Self {
        let registry = Registry::default();
        for info in builtin_resources() {
            registry.insert(info);
        }
        registry
    }

    /// Adds or replaces a resource.
    pub fn insert(&self, info: ResourceInfo) {
        let info = Arc::new(info);
        let mut inner = self.inner.write().expect("registry lock poisoned");
        let key = info.group_resource();
        if let Some(pos) = inner.resources.iter().position(|r| r.group_resource() == key) {
            inner.resources[pos] = info.clone();
        } else {
            inner.resources.push(info.clone());
        }
        inner.by_resource.insert(key, info);
    }

    /// Removes a resource (a deleted CRD).
    pub fn remove(&self, key: &GroupResource) -> Option<Arc<ResourceInfo>> {
        let mut inner = self.inner.write().expect("registry lock poisoned");
        inner.resources.retain(|r| &r.group_resource() != key);
        inner.by_resource.remove(key)
    }

    /// Looks a resource up by group and plural, whatever the version.
    pub fn get(&self, key: &GroupResource) -> Option<Arc<ResourceInfo>> {
        self.inner
            .read()
            .expect("registry lock poisoned")
            .by_resource
            .get(key)
            .cloned()
    }

    /// Looks a resource up by group, version and plural (a REST path); the version must be served.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        let info = self.get(&GroupResource::new(group, plural))?;
        info.version(version).is_some().then_some(info)
    }

    /// Looks a resource up by group, version and kind (an object's `apiVersion` and `kind`).
    pub fn lookup_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        self.inner
            .read()
            .expect("registry lock poisoned")
            .resources
            .iter()
            .find(|r| r.group == group && r.kind == kind && r.version(version).is_some())
            .cloned()
    }

    /// Every served resource, in discovery order.
    pub fn all(&self) -> Vec<Arc<ResourceInfo>> {
        self.inner.read().expect("registry lock poisoned").resources.clone()
    }

    /// Served groups in discovery order, each with its versions in preference order.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for info in self.all() {
            let entry = match groups.iter_mut().find(|(g, _)| *g == info.group) {
                Some(entry) => entry,
                None => {
                    groups.push((info.group.clone(), Vec::new()));
                    groups.last_mut().expect("just pushed")
                }
            };
            for version in &info.versions {
                if !entry.1.contains(&version.name) {
                    entry.1.push(version.name.clone());
                }
            }
        }
        for (_, versions) in &mut groups {
            versions.sort_by(|a, b| compare_versions(b, a));
        }
        groups
    }

    /// Resources served in one group version, in discovery order.
    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceInfo>> {
        self.all()
            .into_iter()
            .filter(|r| r.group == group && r.version(version).is_some())
            .collect()
    }
}

/// Kubernetes version priority: GA > beta > alpha, then by number (`v2` > `v1` > `v1beta2` > `v1beta1` > `v1alpha1`).
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(v: &str) -> (u8, u64, u64, String) {
        let Some(rest) = v.strip_prefix('v') else {
            return (0, 0, 0, v.to_string());
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(major) = digits.parse::<u64>() else {
            return (0, 0, 0, v.to_string());
        };
        let tail = &rest[digits.len()..];
        let (stability, minor_text) = if tail.is_empty() {
            (3, "")
        } else if let Some(m) = tail.strip_prefix("beta") {
            (2, m)
        } else if let Some(m) = tail.strip_prefix("alpha") {
            (1, m)
        } else {
            return (0, 0, 0, v.to_string());
        };
        let minor = minor_text.parse().unwrap_or(0);
        // Ties of unparseable versions sort by name, in reverse so the comparison stays total.
        (stability, major, minor, String::new())
    }
    let (ka, kb) = (key(a), key(b));
    ka.0.cmp(&kb.0)
        .then(ka.1.cmp(&kb.1))
        .then(ka.2.cmp(&kb.2))
        .then_with(|| kb.3.cmp(&ka.3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_by_kubernetes_priority() {
        let mut versions = vec!["v1alpha1", "v1beta1", "v2", "v1", "v1beta2", "foo"];
        versions.sort_by(|a, b| compare_versions(b, a));
        assert_eq!(versions, vec!["v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn builtins_are_found_by_path_and_by_kind() {
        let registry = Registry::with_builtins();
        let deployments = registry.lookup("apps", "v1", "deployments").expect("deployments");
        assert_eq!(deployments.kind, "Deployment");
        assert!(deployments.preferred().scale.is_some());
        assert!(registry.lookup("apps", "v1beta1", "deployments").is_none());
        let cm = registry.lookup_kind("", "v1", "ConfigMap").expect("configmaps");
        assert_eq!(cm.plural, "configmaps");
        let groups = registry.groups();
        assert_eq!(groups[0].0, "");
        assert!(groups.iter().any(|(g, _)| g == "apiextensions.k8s.io"));
    }
}
