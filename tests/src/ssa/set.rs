//! [`FieldSet`]: a set of field paths stored as a tree, the unit of ownership in managed fields,
//! with its `fieldsV1` JSON form (`{"f:spec":{"f:replicas":{}}}`, `".": {}` marking a node that
//! is itself in the set as well as having members below it).
//!
//! Each level is a vector sorted in structured-merge-diff's element order: levels are small, so
//! binary search and merge joins beat tree maps, and lookups by field name need no allocation.

use super::path::{FieldPath, PathElement};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    children: Vec<(PathElement, Node)>,
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

    fn find(&self, element: &PathElement) -> Result<usize, usize> {
        self.children.binary_search_by(|(e, _)| e.cmp(element))
    }

    fn node(&self, element: &PathElement) -> Option<&Node> {
        self.find(element).ok().map(|i| &self.children[i].1)
    }

    fn node_for_field(&self, name: &str) -> Option<&Node> {
        let i = self.children.binary_search_by(|(e, _)| e.cmp_field(name)).ok()?;
        Some(&self.children[i].1)
    }

    /// Adds `element` below this level: as a member when `member`, with the paths of `below`
    /// under it. Nothing is added when both are empty.
    pub(crate) fn attach(&mut self, element: PathElement, member: bool, below: FieldSet) {
        if !member && below.is_empty() {
            return;
        }
        match self.find(&element) {
            Ok(i) => {
                let node = &mut self.children[i].1;
                node.member |= member;
                node.below.union_with(&below);
            }
            Err(i) => self.children.insert(i, (element, Node { member, below })),
        }
    }

    /// Adds a path (the empty path is ignored: the root is never owned).
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let i = match self.find(first) {
            Ok(i) => i,
            Err(i) => {
                self.children.insert(i, (first.clone(), Node::default()));
                i
            }
        };
        let node = &mut self.children[i].1;
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
            Some((first, [])) => self.node(first).is_some_and(|n| n.member),
            Some((first, rest)) => self.node(first).is_some_and(|n| n.below.contains(rest)),
        }
    }

    /// True when the path or anything below it is in the set.
    pub fn has_prefix(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => !self.is_empty(),
            Some((first, rest)) => self
                .node(first)
                .is_some_and(|n| n.below.has_prefix(rest) || rest.is_empty()),
        }
    }

    /// The subtree below `element`, if any.
    pub(crate) fn child(&self, element: &PathElement) -> Option<&FieldSet> {
        self.node(element).map(|n| &n.below)
    }

    /// Whether `element` directly below this level is a member.
    pub(crate) fn is_member(&self, element: &PathElement) -> bool {
        self.node(element).is_some_and(|n| n.member)
    }

    /// [`FieldSet::child`] for a field name, without building the element.
    pub(crate) fn child_field(&self, name: &str) -> Option<&FieldSet> {
        self.node_for_field(name).map(|n| &n.below)
    }

    /// [`FieldSet::is_member`] for a field name, without building the element.
    pub(crate) fn is_member_field(&self, name: &str) -> bool {
        self.node_for_field(name).is_some_and(|n| n.member)
    }

    /// The elements of this level with their membership and subtrees.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&PathElement, bool, &FieldSet)> {
        self.children.iter().map(|(e, n)| (e, n.member, &n.below))
    }

    /// Adds every path of `other`.
    pub fn union_with(&mut self, other: &FieldSet) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other.clone();
            return;
        }
        let mut merged = Vec::with_capacity(self.children.len() + other.children.len());
        let mut mine = std::mem::take(&mut self.children).into_iter().peekable();
        let mut theirs = other.children.iter().peekable();
        loop {
            let order = match (mine.peek(), theirs.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((a, _)), Some((b, _))) => a.cmp(b),
            };
            match order {
                Ordering::Less => merged.extend(mine.next()),
                Ordering::Greater => merged.extend(theirs.next().cloned()),
                Ordering::Equal => {
                    let (element, mut node) = mine.next().expect("peeked");
                    let (_, other_node) = theirs.next().expect("peeked");
                    node.member |= other_node.member;
                    node.below.union_with(&other_node.below);
                    merged.push((element, node));
                }
            }
        }
        self.children = merged;
    }

    /// Removes every path of `other` (paths below a removed path stay unless also in `other`).
    pub fn subtract(&mut self, other: &FieldSet) {
        if other.is_empty() || self.is_empty() {
            return;
        }
        // Both levels are sorted: walk them together.
        let mut theirs = other.children.iter().peekable();
        self.children.retain_mut(|(element, node)| {
            while theirs.peek().is_some_and(|(e, _)| e < element) {
                theirs.next();
            }
            if let Some((e, their_node)) = theirs.peek()
                && e == element
            {
                if their_node.member {
                    node.member = false;
                }
                node.below.subtract(&their_node.below);
            }
            node.member || !node.below.is_empty()
        });
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        let (mut mine, mut theirs) = (self.children.iter().peekable(), other.children.iter().peekable());
        while let (Some((a, node)), Some((b, their_node))) = (mine.peek(), theirs.peek()) {
            match a.cmp(b) {
                Ordering::Less => {
                    mine.next();
                }
                Ordering::Greater => {
                    theirs.next();
                }
                Ordering::Equal => {
                    let below = node.below.intersection(&their_node.below);
                    let member = node.member && their_node.member;
                    if member || !below.is_empty() {
                        out.children.push((a.clone(), Node { member, below }));
                    }
                    mine.next();
                    theirs.next();
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
            .iter()
            .map(|(_, node)| usize::from(node.member) + node.below.len())
            .sum()
    }

    fn position_of_field(&self, name: &str) -> Option<usize> {
        self.children.binary_search_by(|(e, _)| e.cmp_field(name)).ok()
    }

    /// Makes field `name` of this level not a member (its subtree stays).
    pub(crate) fn unmark_field(&mut self, name: &str) {
        if let Some(i) = self.position_of_field(name) {
            self.children[i].1.member = false;
            if self.children[i].1.below.is_empty() {
                self.children.remove(i);
            }
        }
    }

    /// Removes field `name` of this level and everything below it.
    pub(crate) fn remove_field(&mut self, name: &str) {
        if let Some(i) = self.position_of_field(name) {
            self.children.remove(i);
        }
    }

    /// Keeps only field `name` of this level (and everything below it).
    pub(crate) fn keep_only_field(&mut self, name: &str) {
        self.children.retain(|(e, _)| e.cmp_field(name).is_eq());
    }

    /// Changes the subtree below field `name`, then drops the field if nothing is left of it.
    pub(crate) fn edit_below_field(&mut self, name: &str, edit: impl FnOnce(&mut FieldSet)) {
        if let Some(i) = self.position_of_field(name) {
            let node = &mut self.children[i].1;
            edit(&mut node.below);
            if !node.member && node.below.is_empty() {
                self.children.remove(i);
            }
        }
    }

    /// The `fieldsV1` JSON form.
    pub fn to_fields_v1(&self) -> Value {
        let mut map = Map::with_capacity(self.children.len());
        self.write_fields_v1(&mut map);
        Value::Object(map)
    }

    fn write_fields_v1(&self, map: &mut Map<String, Value>) {
        for (element, node) in &self.children {
            let mut inner = Map::with_capacity(node.below.children.len() + usize::from(node.member));
            if node.member && !node.below.is_empty() {
                inner.insert(".".to_string(), Value::Object(Map::new()));
            }
            node.below.write_fields_v1(&mut inner);
            map.insert(element.to_fields_v1(), Value::Object(inner));
        }
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
            // `{}` is a leaf member; a non-empty object is a member only with a "." entry.
            let member = inner.as_object().is_some_and(|m| m.is_empty() || m.contains_key("."));
            set.attach(element, member, below);
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
        assert_eq!(
            all.paths().iter().map(ToString::to_string).collect::<Vec<_>>(),
            [".spec.paused", ".spec.replicas", ".spec.template", ".spec.template.x"]
        );
    }
}
