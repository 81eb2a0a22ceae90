//! [`FieldSet`]: a set of field paths stored as a tree, the unit of ownership in managed fields,
//! with its `fieldsV1` JSON form (`{"f:spec":{"f:replicas":{}}}`, `".": {}` marking a node that
//! is itself in the set as well as having members below it).

use super::path::{FieldPath, PathElement};
use serde_json::{Map, Value};
use shared::schema::SchemaNode;
use std::collections::BTreeMap;

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    children: BTreeMap<PathElement, Node>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Node {
    /// The path to this node is itself in the set.
    member: bool,
    below: FieldSet,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// True when the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Adds a path (the empty path is ignored: the root is never owned).
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let node = self.children.entry(first.clone()).or_default();
        if rest.is_empty() {
            node.member = true;
        } else {
            node.below.insert(rest);
        }
    }

    /// True when the exact path is in the set.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => false,
            Some((first, rest)) => self.children.get(first).is_some_and(|node| {
                if rest.is_empty() {
                    node.member
                } else {
                    node.below.contains(rest)
                }
            }),
        }
    }

    /// True when the path or anything below it is in the set.
    pub fn has_prefix(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => !self.is_empty(),
            Some((first, rest)) => self.children.get(first).is_some_and(|node| {
                if rest.is_empty() {
                    true
                } else {
                    node.below.has_prefix(rest)
                }
            }),
        }
    }

    /// The subtree below `element` (empty when there is none).
    pub(crate) fn child(&self, element: &PathElement) -> Option<&FieldSet> {
        self.children.get(element).map(|node| &node.below)
    }

    /// Whether `element` directly below this node is a member.
    pub(crate) fn is_member(&self, element: &PathElement) -> bool {
        self.children.get(element).is_some_and(|node| node.member)
    }

    /// Adds every path of `other`.
    pub fn union_with(&mut self, other: &FieldSet) {
        for (element, node) in &other.children {
            let mine = self.children.entry(element.clone()).or_default();
            mine.member |= node.member;
            mine.below.union_with(&node.below);
        }
    }

    /// Removes every path of `other` (paths below a removed path stay unless also in `other`).
    pub fn subtract(&mut self, other: &FieldSet) {
        if other.is_empty() {
            return;
        }
        self.children.retain(|element, node| {
            if let Some(theirs) = other.children.get(element) {
                if theirs.member {
                    node.member = false;
                }
                node.below.subtract(&theirs.below);
            }
            node.member || !node.below.is_empty()
        });
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        for (element, node) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let below = node.below.intersection(&theirs.below);
                let member = node.member && theirs.member;
                if member || !below.is_empty() {
                    out.children.insert(element.clone(), Node { member, below });
                }
            }
        }
        out
    }

    /// Every path in the set, in order.
    pub fn paths(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.collect(&mut prefix, &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<FieldPath>) {
        for (element, node) in &self.children {
            prefix.push(element.clone());
            if node.member {
                out.push(FieldPath(prefix.clone()));
            }
            node.below.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Number of paths in the set.
    pub fn len(&self) -> usize {
        self.children
            .values()
            .map(|node| usize::from(node.member) + node.below.len())
            .sum()
    }

    /// Removes the paths for which `drop` is true, given the path's elements.
    pub(crate) fn retain_paths(&mut self, keep: &mut impl FnMut(&[PathElement]) -> bool) {
        let mut prefix = Vec::new();
        self.retain_inner(&mut prefix, keep);
    }

    fn retain_inner(&mut self, prefix: &mut Vec<PathElement>, keep: &mut impl FnMut(&[PathElement]) -> bool) {
        self.children.retain(|element, node| {
            prefix.push(element.clone());
            if node.member && !keep(prefix) {
                node.member = false;
            }
            node.below.retain_inner(prefix, keep);
            prefix.pop();
            node.member || !node.below.is_empty()
        });
    }

    /// Makes every node that has members below it a member itself when `named` says its
    /// element is a named field of its parent schema; `named` also gives the child schema.
    pub(crate) fn mark_named_fields<'s>(
        &mut self,
        named: &impl Fn(SchemaNode<'s>, &PathElement) -> (bool, SchemaNode<'s>),
        schema: SchemaNode<'s>,
    ) {
        for (element, node) in self.children.iter_mut() {
            let (is_named, child) = named(schema, element);
            if is_named && !node.below.is_empty() {
                node.member = true;
            }
            node.below.mark_named_fields(named, child);
        }
    }

    /// The `fieldsV1` JSON form.
    pub fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        for (element, node) in &self.children {
            let mut inner = match node.below.to_fields_v1() {
                Value::Object(inner) => inner,
                _ => Map::new(),
            };
            if node.member && !inner.is_empty() {
                let mut with_dot = Map::with_capacity(inner.len() + 1);
                with_dot.insert(".".to_string(), Value::Object(Map::new()));
                with_dot.extend(inner);
                inner = with_dot;
            }
            map.insert(element.to_fields_v1(), Value::Object(inner));
        }
        Value::Object(map)
    }

    /// Reads the `fieldsV1` JSON form.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, String> {
        let Value::Object(map) = value else {
            return Err("fieldsV1 must be a JSON object".to_string());
        };
        let mut set = FieldSet::new();
        for (key, inner) in map {
            if key == "." {
                continue;
            }
            let element = PathElement::parse(key)?;
            let below = FieldSet::from_fields_v1(inner)?;
            let inner_map = inner.as_object();
            // `{}` is a leaf member; a non-empty object is a member only with a "." entry.
            let member = inner_map.is_some_and(|m| m.is_empty() || m.contains_key("."));
            if member || !below.is_empty() {
                set.children.insert(element, Node { member, below });
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(names: &[&str]) -> Vec<PathElement> {
        FieldPath::fields(names).0
    }

    #[test]
    fn round_trips_fields_v1_with_dot_markers() {
        let fields = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}},
                       "f:replicas": {}}
        });
        let set = FieldSet::from_fields_v1(&fields).unwrap();
        assert!(set.contains(&path(&["metadata", "labels"])));
        assert!(!set.contains(&path(&["metadata"])));
        assert!(set.contains(&path(&["spec", "replicas"])));
        assert_eq!(set.len(), 6);
        assert_eq!(set.to_fields_v1(), fields);
        assert_eq!(
            serde_json::to_string(&set.to_fields_v1()).unwrap(),
            r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}},"f:replicas":{}}}"#
        );
        assert!(FieldSet::from_fields_v1(&json!({"x:1": {}})).is_err());
    }

    #[test]
    fn set_operations_work_on_members_not_prefixes() {
        let mut a = FieldSet::new();
        a.insert(&path(&["spec", "replicas"]));
        a.insert(&path(&["spec", "template"]));
        a.insert(&path(&["spec", "template", "x"]));
        let mut b = FieldSet::new();
        b.insert(&path(&["spec", "template", "x"]));
        b.insert(&path(&["spec", "paused"]));
        let both = a.intersection(&b);
        assert_eq!(both.paths(), vec![FieldPath::fields(&["spec", "template", "x"])]);
        let mut rest = a.clone();
        rest.subtract(&b);
        assert!(rest.contains(&path(&["spec", "template"])));
        assert!(!rest.contains(&path(&["spec", "template", "x"])));
        let mut all = a.clone();
        all.union_with(&b);
        assert_eq!(all.len(), 4);
        assert!(all.has_prefix(&path(&["spec"])));
    }
}
