//! [`ObjectRef`]: the identity of an object, the key of every object set, diff and result.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Identifies one Kubernetes object: group, version, kind, namespace and name.
///
/// Ordering and equality ignore nothing, but [`ObjectRef::same_object`] compares without the
/// version, which is what "the same object" means to the API server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// API group, empty for the core group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// API version within the group (`v1`, `v1beta1`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace, `None` for cluster-scoped objects (or not yet known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl ObjectRef {
    /// Builds a reference from an object's `apiVersion`, `kind` and `metadata`.
    ///
    /// Returns `None` when the object has no kind or no name.
    pub fn from_object(object: &Value) -> Option<Self> {
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = object.get("kind").and_then(Value::as_str)?;
        let metadata = object.get("metadata")?;
        let name = metadata.get("name").and_then(Value::as_str)?;
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
            .map(str::to_string);
        let (group, version) = split_api_version(api_version);
        Some(ObjectRef {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace,
            name: name.to_string(),
        })
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// True when both refer to the same object, whatever API version they were read with.
    pub fn same_object(&self, other: &ObjectRef) -> bool {
        self.group == other.group
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

impl fmt::Display for ObjectRef {
    /// Kluctl's notation: `namespace/Kind/name`, or `Kind/name` for cluster-scoped objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", ns, self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_identity_from_objects_and_prints_like_kluctl() {
        let obj =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}});
        let r = ObjectRef::from_object(&obj).unwrap();
        assert_eq!(r.group, "apps");
        assert_eq!(r.api_version(), "apps/v1");
        assert_eq!(r.to_string(), "prod/Deployment/web");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}});
        assert_eq!(ObjectRef::from_object(&ns).unwrap().to_string(), "Namespace/prod");
        assert!(ObjectRef::from_object(&json!({"kind": "X", "metadata": {}})).is_none());
    }
}
