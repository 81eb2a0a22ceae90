//! `metadata.managedFields` as structured data: which field manager owns which field.
//!
//! Input: a live object. Output: one [`ManagedFieldsEntry`] per manager entry, each holding the
//! parsed `fieldsV1` tree (structured-merge-diff's format: `f:name`, `k:{"name":"web"}`,
//! `v:"value"`, `i:0`, and `.` for "this node itself is owned"). Used to find the owners of a
//! conflicting field (see `deploy::conflicts`), to tell whether `kluctl` manages an object
//! (orphans), and to show which manager owns a changed field in a diff.

use super::DiffError;
use super::jsonpath::{KeyPath, PathKey};
use serde_json::Value;
use std::fmt;

/// One element of a structured-merge-diff field path.
#[derive(Clone, Debug, PartialEq)]
pub enum PathElement {
    /// `f:name`: a field of a map or struct.
    Field(String),
    /// `k:{...}`: the item of an associative list whose key fields have these values (sorted
    /// by field name).
    Key(Vec<(String, Value)>),
    /// `v:...`: the item of a set-like list equal to this value.
    Value(Value),
    /// `i:N`: the item at this index of an atomic list.
    Index(usize),
}

/// A path in structured-merge-diff's notation, as the API server prints it in conflict causes
/// (`.spec.replicas`, `.spec.containers[name="web"].image`, `.metadata.finalizers[="x"]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldPath(pub Vec<PathElement>);

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_to_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|e| write!(f, "{e}"))
    }
}

/// structured-merge-diff's `value.ToString`: strings quoted, everything else as JSON.
fn value_to_string(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(value_to_string).collect::<Vec<_>>().join(",")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k}={}", value_to_string(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

impl PathElement {
    /// Parses one `fieldsV1` key; `Ok(None)` for prefixes a newer server may add (skipped, as
    /// structured-merge-diff does).
    fn parse(key: &str) -> Result<Option<Self>, String> {
        let Some((prefix, rest)) = key.split_once(':') else {
            return Ok(None);
        };
        let parse_json = |text: &str| serde_json::from_str::<Value>(text).map_err(|e| format!("'{key}': {e}"));
        Ok(Some(match prefix {
            "f" => PathElement::Field(rest.to_string()),
            "k" => match parse_json(rest)? {
                Value::Object(map) => {
                    let mut fields: Vec<(String, Value)> = map.into_iter().collect();
                    fields.sort_by(|a, b| a.0.cmp(&b.0));
                    PathElement::Key(fields)
                }
                _ => return Err(format!("'{key}': a key element must be a JSON object")),
            },
            "v" => PathElement::Value(parse_json(rest)?),
            "i" => PathElement::Index(rest.parse().map_err(|_| format!("'{key}': invalid index"))?),
            _ => return Ok(None),
        }))
    }

    /// Whether this element selects `item`, found at `index` of a list.
    fn matches_item(&self, item: &Value, index: usize) -> bool {
        match self {
            PathElement::Key(fields) => fields
                .iter()
                .all(|(name, expected)| item.get(name).is_some_and(|actual| json_equal(actual, expected))),
            PathElement::Value(expected) => json_equal(item, expected),
            PathElement::Index(i) => *i == index,
            PathElement::Field(_) => false,
        }
    }
}

/// Equality with numbers compared by value (`80` equals `80.0`), as structured-merge-diff does.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

impl FieldPath {
    /// Finds this path in `object` and returns its location there: list items are found by
    /// their key fields, value or index. `None` when some step does not exist.
    pub fn resolve(&self, object: &Value) -> Option<KeyPath> {
        let mut node = object;
        let mut keys = Vec::with_capacity(self.0.len());
        for element in &self.0 {
            match (element, node) {
                (PathElement::Field(name), Value::Object(map)) => {
                    node = map.get(name)?;
                    keys.push(PathKey::Field(name.clone()));
                }
                (_, Value::Array(items)) => {
                    let (i, item) = items
                        .iter()
                        .enumerate()
                        .find(|(i, item)| element.matches_item(item, *i))?;
                    node = item;
                    keys.push(PathKey::Index(i));
                }
                _ => return None,
            }
        }
        Some(KeyPath(keys))
    }
}

/// A parsed `fieldsV1` node: whether the node itself is owned, and its children.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldsTree {
    /// The node itself is owned (`.` key, or a leaf).
    pub member: bool,
    /// Child elements and their subtrees.
    pub children: Vec<(PathElement, FieldsTree)>,
}

impl FieldsTree {
    fn parse(value: &Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("fieldsV1 nodes must be maps".to_string());
        };
        let mut tree = FieldsTree::default();
        for (key, child) in map {
            if key == "." {
                tree.member = true;
                continue;
            }
            if let Some(element) = PathElement::parse(key)? {
                tree.children.push((element, FieldsTree::parse(child)?));
            }
        }
        if tree.children.is_empty() {
            tree.member = true;
        }
        Ok(tree)
    }

    /// Every owned path, depth first.
    pub fn paths(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<FieldPath>) {
        for (element, child) in &self.children {
            prefix.push(element.clone());
            if child.member {
                out.push(FieldPath(prefix.clone()));
            }
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Whether this tree owns the value at `path` of `object`, a descendant of it, or an
    /// ancestor owned as a whole (an atomic list or map). `path` may address a normalized
    /// object (see [`super::Normalizer`]) in which `env` lists became maps keyed by name.
    pub fn owns(&self, object: &Value, path: &KeyPath) -> bool {
        let mut tree = self;
        let mut node = object;
        for key in path.keys() {
            if tree.children.is_empty() {
                // A leaf above the changed value owns it as a whole.
                return tree.member;
            }
            let next = match (key, node) {
                (PathKey::Field(name), Value::Object(map)) => map
                    .get(name)
                    .and_then(|child| tree.child(&PathElement::Field(name.clone())).map(|t| (t, child))),
                (PathKey::Index(i), Value::Array(items)) => items.get(*i).and_then(|item| tree.item(item, *i)),
                (PathKey::Field(name), Value::Array(items)) => {
                    // A normalized list (env, envFrom) addressed by an item's identity.
                    items
                        .iter()
                        .enumerate()
                        .find(|(_, item)| item_identity_is(item, name))
                        .and_then(|(i, item)| tree.item(item, i))
                }
                _ => None,
            };
            let Some((child_tree, child_node)) = next else {
                return false;
            };
            tree = child_tree;
            node = child_node;
        }
        true
    }

    fn child(&self, element: &PathElement) -> Option<&FieldsTree> {
        self.children.iter().find(|(e, _)| e == element).map(|(_, t)| t)
    }

    fn item<'a, 'v>(&'a self, item: &'v Value, index: usize) -> Option<(&'a FieldsTree, &'v Value)> {
        self.children
            .iter()
            .find(|(e, _)| e.matches_item(item, index))
            .map(|(_, t)| (t, item))
    }
}

/// Whether a list item is the one a normalized map calls `name`: `env` items by `name`,
/// `envFrom` items by `configMapRef/<name>` or `secretRef/<name>`.
fn item_identity_is(item: &Value, name: &str) -> bool {
    if item.get("name").and_then(Value::as_str) == Some(name) {
        return true;
    }
    match name.split_once('/') {
        Some((kind, ref_name)) => item.get(kind).and_then(|r| r.get("name")).and_then(Value::as_str) == Some(ref_name),
        None => false,
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedFieldsEntry {
    /// The field manager (`kluctl`, `kubectl-client-side-apply`, `kube-controller-manager`).
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The subresource written (`status`, `scale`), if any.
    pub subresource: Option<String>,
    /// The API version the fields were written with.
    pub api_version: Option<String>,
    /// The owned fields.
    pub fields: FieldsTree,
}

/// Parses `metadata.managedFields` of a live object (an empty list when there is none).
pub fn parse_managed_fields(object: &Value) -> Result<Vec<ManagedFieldsEntry>, DiffError> {
    let Some(entries) = object.pointer("/metadata/managedFields").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    let fail = |message: String| DiffError::ParseManagedFields { message };
    entries
        .iter()
        .map(|entry| {
            let manager = entry
                .get("manager")
                .and_then(Value::as_str)
                .ok_or_else(|| fail("an entry has no manager".to_string()))?;
            let fields = match entry.get("fieldsV1") {
                Some(fields) => FieldsTree::parse(fields).map_err(|m| fail(format!("manager '{manager}': {m}")))?,
                None => FieldsTree::default(),
            };
            let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
            Ok(ManagedFieldsEntry {
                manager: manager.to_string(),
                operation: text("operation").unwrap_or_default(),
                subresource: text("subresource").filter(|s| !s.is_empty()),
                api_version: text("apiVersion"),
                fields,
            })
        })
        .collect()
}

/// The names of the managers that have any entry on `object` (without parsing the fields).
pub fn manager_names(object: &Value) -> Vec<&str> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e.get("manager").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// The managers owning the value at `path` of `object` (see [`FieldsTree::owns`]), sorted and
/// without duplicates.
pub fn owners_of(entries: &[ManagedFieldsEntry], object: &Value, path: &KeyPath) -> Vec<String> {
    let mut owners: Vec<String> = entries
        .iter()
        .filter(|e| e.fields.owns(object, path))
        .map(|e| e.manager.clone())
        .collect();
    owners.sort();
    owners.dedup();
    owners
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A Deployment as the API server returns it after `kluctl` applied it and the HPA scaled it.
    fn live_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "prod",
                "managedFields": [
                    {
                        "manager": "kluctl", "operation": "Apply", "apiVersion": "apps/v1",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {
                            "f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {"f:template": {"f:spec": {"f:containers": {
                                "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {},
                                    "f:env": {"k:{\"name\":\"MODE\"}": {".": {}, "f:name": {}, "f:value": {}}},
                                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}
                            }}}}
                        }
                    },
                    {
                        "manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                        "subresource": "scale", "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:spec": {"f:replicas": {}}}
                    },
                    {
                        "manager": "finalizer-bot", "operation": "Update", "apiVersion": "apps/v1",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:metadata": {"f:finalizers": {".": {}, "v:\"example.com/x\"": {}}}}
                    }
                ],
                "labels": {"app": "web"},
                "finalizers": ["example.com/x"]
            },
            "spec": {
                "replicas": 5,
                "template": {"spec": {"containers": [
                    {"name": "web", "image": "nginx:1",
                     "env": [{"name": "MODE", "value": "prod"}],
                     "ports": [{"containerPort": 80, "protocol": "TCP"}]}
                ]}}
            }
        })
    }

    #[test]
    fn parses_entries_and_prints_paths_like_the_api_server() {
        let entries = parse_managed_fields(&live_deployment()).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1].subresource.as_deref(), Some("scale"));
        let printed: Vec<String> = entries[0].fields.paths().iter().map(ToString::to_string).collect();
        assert!(
            printed.contains(&".spec.template.spec.containers[name=\"web\"].image".to_string()),
            "{printed:?}"
        );
        assert!(printed.contains(
            &".spec.template.spec.containers[name=\"web\"].ports[containerPort=80,protocol=\"TCP\"]".to_string()
        ));
        assert!(printed.contains(&".metadata.labels.app".to_string()));
        let finalizers: Vec<String> = entries[2].fields.paths().iter().map(ToString::to_string).collect();
        assert_eq!(
            finalizers,
            vec![".metadata.finalizers", ".metadata.finalizers[=\"example.com/x\"]"]
        );
    }

    #[test]
    fn resolves_field_paths_to_locations() {
        let live = live_deployment();
        let entries = parse_managed_fields(&live).unwrap();
        let image = entries[0]
            .fields
            .paths()
            .into_iter()
            .find(|p| p.to_string().ends_with(".image"))
            .unwrap();
        assert_eq!(
            image.resolve(&live).unwrap().to_json_path(),
            "spec.template.spec.containers[0].image"
        );
        let missing = FieldPath(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("paused".into()),
        ]);
        assert_eq!(missing.resolve(&live), None);
    }

    #[test]
    fn finds_owners_of_changed_fields_including_normalized_env_maps() {
        let live = live_deployment();
        let entries = parse_managed_fields(&live).unwrap();
        let replicas = KeyPath::fields(["spec", "replicas"]);
        assert_eq!(owners_of(&entries, &live, &replicas), vec!["kube-controller-manager"]);
        let env_value = KeyPath::fields(["spec", "template", "spec", "containers"])
            .index(0)
            .child("env")
            .child("MODE")
            .child("value");
        assert_eq!(owners_of(&entries, &live, &env_value), vec!["kluctl"]);
        // The parent of owned fields is reported with all owners below it.
        assert_eq!(
            owners_of(&entries, &live, &KeyPath::fields(["spec"])),
            vec!["kluctl", "kube-controller-manager"]
        );
        assert!(owners_of(&entries, &live, &KeyPath::fields(["spec", "paused"])).is_empty());
        assert_eq!(
            manager_names(&live),
            vec!["kluctl", "kube-controller-manager", "finalizer-bot"]
        );
    }

    #[test]
    fn rejects_malformed_entries() {
        let bad = json!({"metadata": {"managedFields": [{"manager": "x", "fieldsV1": {"k:notjson": {}}}]}});
        let err = parse_managed_fields(&bad).unwrap_err();
        assert!(err.to_string().contains("manager 'x'"), "{err}");
        assert!(parse_managed_fields(&json!({"metadata": {"managedFields": [{"fieldsV1": {}}]}})).is_err());
        assert!(parse_managed_fields(&json!({"metadata": {}})).unwrap().is_empty());
    }
}
