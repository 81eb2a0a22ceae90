//! [`Resource`]: one object during a build, with the bookkeeping Kustomize keeps in build
//! annotations (previous ids, the name prefixes and suffixes of each kustomization layer,
//! generator behaviour, hash suffix) held beside the object instead of inside it.

use super::resid::{Gvk, ResId};
use serde_json::{Map, Value};

/// How a generated ConfigMap or Secret combines with one of the same name from a base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behavior {
    /// Not generated, or no behaviour given (treated as `create`).
    #[default]
    Unspecified,
    /// A new object; an existing one of the same id is an error.
    Create,
    /// Merge the data into the existing object.
    Merge,
    /// Replace the existing object's data.
    Replace,
}

/// Where a resource came from (the `config.kubernetes.io/origin` annotation), or which
/// transformer changed it (`alpha.config.kubernetes.io/transformations`). Paths are relative to
/// the top kustomization's directory, written as the kustomizations name them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Read from a file.
    File { path: String },
    /// Made or changed by a built-in generator or transformer configured in a file.
    Configured {
        /// The kustomization (or plugin configuration) file.
        configured_in: String,
        /// `ConfigMapGenerator`, `PrefixTransformer`, ...
        kind: String,
        /// The plugin configuration's `metadata.name`, for `generators`/`transformers` entries.
        name: Option<String>,
    },
}

impl Origin {
    /// The annotation's YAML text.
    pub fn to_yaml(&self, indent: &str) -> String {
        match self {
            Origin::File { path } => format!("{indent}path: {path}\n"),
            Origin::Configured {
                configured_in,
                kind,
                name,
            } => {
                let mut text = format!(
                    "{indent}configuredIn: {configured_in}\n{indent}configuredBy:\n{indent}  apiVersion: builtin\n{indent}  kind: {kind}\n"
                );
                if let Some(name) = name {
                    text.push_str(&format!("{indent}  name: {name}\n"));
                }
                text
            }
        }
    }
}

/// Go's `filepath.Join` of relative paths: `/`-joined and cleaned (`.` dropped, `x/..` removed,
/// leading `..` kept).
pub fn join_clean(base: &str, entry: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(entry.split('/')) {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// An object and its build bookkeeping.
#[derive(Clone, Debug)]
pub struct Resource {
    /// The object (a JSON map).
    pub object: Value,
    /// Earlier (kind, name, namespace) of the object, oldest first.
    pub previous: Vec<(String, String, String)>,
    /// The name prefix of every kustomization layer the resource passed through, innermost first.
    pub prefixes: Vec<String>,
    /// The name suffix of every kustomization layer, innermost first.
    pub suffixes: Vec<String>,
    /// Generator behaviour.
    pub behavior: Behavior,
    /// Whether a content hash is appended to the name at the end of the build.
    pub needs_hash: bool,
    /// Where it came from.
    pub origin: Option<Origin>,
    /// The transformers that ran over it, in order (recorded with `transformerAnnotations`).
    pub transformations: Vec<Origin>,
    /// Names of the vars this resource's fields reference (legacy `vars`).
    pub referenced_vars: Vec<String>,
}

impl Resource {
    /// A resource read from a file or made by a generator.
    pub fn new(object: Value) -> Self {
        Resource {
            object,
            previous: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            behavior: Behavior::Unspecified,
            needs_hash: false,
            origin: None,
            transformations: Vec::new(),
            referenced_vars: Vec::new(),
        }
    }

    /// The id as the object is now.
    pub fn cur_id(&self) -> ResId {
        ResId::of(&self.object)
    }

    /// Previous ids, oldest first (with the current group and version, as Kustomize builds them).
    pub fn prev_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.previous
            .iter()
            .map(|(kind, name, namespace)| ResId {
                gvk: Gvk {
                    kind: kind.clone(),
                    ..gvk.clone()
                },
                name: name.clone(),
                namespace: namespace.clone(),
            })
            .collect()
    }

    /// The original id: the oldest previous one, or the current one.
    pub fn org_id(&self) -> ResId {
        match self.previous.first() {
            Some((kind, name, namespace)) => ResId {
                gvk: Gvk {
                    kind: kind.clone(),
                    ..self.gvk()
                },
                name: name.clone(),
                namespace: namespace.clone(),
            },
            None => self.cur_id(),
        }
    }

    /// Whether any id (current or previous) satisfies `matches`.
    pub fn any_id_matches(&self, matches: impl Fn(&ResId) -> bool) -> bool {
        matches(&self.cur_id()) || self.prev_ids().iter().any(matches)
    }

    /// Remembers the current id before a transformation changes it.
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.previous.push((id.gvk.kind, id.name, id.namespace));
    }

    /// The object's GVK.
    pub fn gvk(&self) -> Gvk {
        Gvk::of(&self.object)
    }

    /// The object's kind.
    pub fn kind(&self) -> &str {
        self.object.get("kind").and_then(Value::as_str).unwrap_or_default()
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.meta_str("name")
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> &str {
        self.meta_str("namespace")
    }

    fn meta_str(&self, field: &str) -> &str {
        self.object
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The `metadata` map, created when missing.
    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let object = self.object.as_object_mut().expect("resources are maps");
        let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
        if !metadata.is_object() {
            *metadata = Value::Object(Map::new());
        }
        metadata.as_object_mut().expect("metadata was just made a map")
    }

    /// Sets `metadata.name`.
    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".to_string(), Value::String(name.to_string()));
    }

    /// Sets `metadata.namespace` (removing it when empty).
    pub fn set_namespace(&mut self, namespace: &str) {
        if namespace.is_empty() {
            self.metadata_mut().remove("namespace");
        } else {
            self.metadata_mut()
                .insert("namespace".to_string(), Value::String(namespace.to_string()));
        }
    }

    /// A string map under `metadata` (labels or annotations); non-string values are skipped.
    pub fn string_map(&self, field: &str) -> Vec<(String, String)> {
        self.object
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.object
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }
}

/// Kustomize's `SameEndingSubSlice`: the shorter list is the tail of the longer one (two empty
/// lists are equal; an empty list equals only an empty one).
pub fn same_ending(a: &[String], b: &[String]) -> bool {
    let (shortest, longest) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if shortest.is_empty() {
        return longest.is_empty();
    }
    longest.ends_with(shortest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tracks_previous_ids_and_affixes() {
        let mut r = Resource::new(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
        r.store_previous_id();
        r.set_name("p-a");
        assert_eq!(r.org_id().name, "a");
        assert_eq!(r.cur_id().name, "p-a");
        assert!(r.any_id_matches(|id| id.name == "a"));
        let layers = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(same_ending(&layers(&["", "p-"]), &layers(&["p-"])));
        assert!(!same_ending(&layers(&["", "p-"]), &layers(&["q-"])));
        assert!(!same_ending(&layers(&["p-"]), &[]));
    }
}
