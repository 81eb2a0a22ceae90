//! The schema graph: one [`Node`] per value position, addressed by index, and the borrowed
//! cursor [`SchemaNode`] that patch engines and server-side apply walk with.
//!
//! Definitions are shared (every `Container` field points at the same node), so a node holds
//! only what is true wherever the type is used, plus the attributes of the field that owns it
//! (list type, patch strategy) for inline list and map schemas. A `$ref` that carries its own
//! attributes (`strategy` of a Deployment: `retainKeys`) becomes a copy of the definition node.

use serde_json::Value;
use std::sync::{Arc, LazyLock};

/// Index of a node in its graph.
pub(crate) type NodeId = u32;

/// Every graph has an untyped node at index 0 (unknown fields, unstructured data).
pub(crate) const UNTYPED: NodeId = 0;

/// What kind of value a schema position holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaKind {
    /// A struct with named fields (`properties`), possibly also extra keys (`additionalProperties`).
    Object,
    /// A map from string keys to values of one schema (`additionalProperties` only).
    Map,
    /// A list (`type: array`).
    List,
    /// A string, number, boolean, or int-or-string.
    Scalar,
    /// No schema: Kubernetes treats such data as "deduced" (maps granular, lists atomic).
    Untyped,
}

/// How a list is merged by server-side apply (`x-kubernetes-list-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType<'a> {
    /// Replaced as a whole; one owner.
    Atomic,
    /// A set of scalars, merged by value.
    Set,
    /// A list of objects merged by the values of these key fields.
    Map(&'a [String]),
}

/// Whether a map or struct is merged field by field or replaced whole (`x-kubernetes-map-type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapType {
    /// Each key is merged and owned separately (the default).
    #[default]
    Granular,
    /// Replaced as a whole; one owner.
    Atomic,
}

/// Strategic merge patch strategy of a field (`x-kubernetes-patch-strategy`, comma-separated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatchStrategy {
    /// `merge`: lists are merged (by merge key, or as a union of scalars).
    pub merge: bool,
    /// `retainKeys`: keys absent from the patch's `$retainKeys` are cleared.
    pub retain_keys: bool,
    /// `replace`: the patch value replaces the original.
    pub replace: bool,
}

impl PatchStrategy {
    /// Parses `merge`, `retainKeys`, `replace` or a comma-separated combination.
    /// Returns the unknown word on error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut strategy = PatchStrategy::default();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "merge" => strategy.merge = true,
                "retainKeys" => strategy.retain_keys = true,
                "replace" => strategy.replace = true,
                other => return Err(other.to_string()),
            }
        }
        Ok(strategy)
    }
}

/// Internal list type without the keys (those live in [`Node::list_keys`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ListKind {
    #[default]
    Atomic,
    Set,
    Map,
}

/// One value position of a schema.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) kind: SchemaKind,
    /// Named fields, sorted by name for binary search.
    /// Names are shared so that walkers can keep them in paths without copying.
    pub(crate) fields: Vec<(Arc<str>, NodeId)>,
    /// Schema of keys not listed in `fields` (`additionalProperties`), for objects and maps.
    pub(crate) values: Option<NodeId>,
    pub(crate) items: Option<NodeId>,
    pub(crate) list_kind: ListKind,
    pub(crate) list_keys: Vec<String>,
    pub(crate) map_type: MapType,
    pub(crate) patch_strategy: PatchStrategy,
    pub(crate) patch_merge_key: Option<Box<str>>,
    pub(crate) int_or_string: bool,
    pub(crate) preserve_unknown_fields: bool,
    pub(crate) embedded_resource: bool,
    pub(crate) default: Option<Value>,
    /// The definition name (`io.k8s.api.core.v1.Container`), for messages.
    pub(crate) name: Option<Box<str>>,
}

impl Node {
    pub(crate) fn new(kind: SchemaKind) -> Self {
        Node {
            kind,
            fields: Vec::new(),
            values: None,
            items: None,
            list_kind: ListKind::Atomic,
            list_keys: Vec::new(),
            map_type: MapType::Granular,
            patch_strategy: PatchStrategy::default(),
            patch_merge_key: None,
            int_or_string: false,
            preserve_unknown_fields: false,
            embedded_resource: false,
            default: None,
            name: None,
        }
    }
}

/// A set of nodes; node 0 is untyped.
#[derive(Debug)]
pub(crate) struct Graph {
    pub(crate) nodes: Vec<Node>,
}

impl Graph {
    pub(crate) fn new() -> Self {
        Graph {
            nodes: vec![Node::new(SchemaKind::Untyped)],
        }
    }

    pub(crate) fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// Copies the subgraph reachable from `root` in `other` into this graph (memoised, so
    /// shared and recursive definitions stay shared) and returns the new id of `root`.
    pub(crate) fn import(&mut self, other: &Graph, root: NodeId) -> NodeId {
        let mut mapping = std::collections::HashMap::new();
        mapping.insert(UNTYPED, UNTYPED);
        self.import_node(other, root, &mut mapping)
    }

    fn import_node(
        &mut self,
        other: &Graph,
        id: NodeId,
        mapping: &mut std::collections::HashMap<NodeId, NodeId>,
    ) -> NodeId {
        if let Some(&mapped) = mapping.get(&id) {
            return mapped;
        }
        let new_id = self.push(Node::new(SchemaKind::Untyped));
        mapping.insert(id, new_id);
        let mut node = other.node(id).clone();
        for (_, child) in node.fields.iter_mut() {
            *child = self.import_node(other, *child, mapping);
        }
        if let Some(values) = node.values {
            node.values = Some(self.import_node(other, values, mapping));
        }
        if let Some(items) = node.items {
            node.items = Some(self.import_node(other, items, mapping));
        }
        self.nodes[new_id as usize] = node;
        new_id
    }
}

static UNTYPED_GRAPH: LazyLock<Graph> = LazyLock::new(Graph::new);

/// A position in a type schema: what the value at some path of an object is and how it merges.
///
/// Cheap to copy; obtained from [`super::TypeSchema::root`] and navigated with
/// [`SchemaNode::field`], [`SchemaNode::items`] and [`SchemaNode::values`].
#[derive(Clone, Copy)]
pub struct SchemaNode<'a> {
    graph: &'a Graph,
    id: NodeId,
}

impl std::fmt::Debug for SchemaNode<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let node = self.node();
        f.debug_struct("SchemaNode")
            .field("kind", &node.kind)
            .field("name", &node.name)
            .field("list_type", &self.list_type())
            .field("patch_strategy", &node.patch_strategy)
            .field("patch_merge_key", &node.patch_merge_key)
            .finish_non_exhaustive()
    }
}

impl<'a> SchemaNode<'a> {
    pub(crate) fn new(graph: &'a Graph, id: NodeId) -> Self {
        SchemaNode { graph, id }
    }

    /// The schema of data nothing is known about: maps are granular, lists atomic.
    pub fn untyped() -> SchemaNode<'static> {
        SchemaNode {
            graph: &UNTYPED_GRAPH,
            id: UNTYPED,
        }
    }

    fn node(&self) -> &'a Node {
        self.graph.node(self.id)
    }

    fn at(&self, id: NodeId) -> SchemaNode<'a> {
        SchemaNode { graph: self.graph, id }
    }

    /// What kind of value this is.
    pub fn kind(&self) -> SchemaKind {
        self.node().kind
    }

    /// True for untyped positions (no schema, or `x-kubernetes-preserve-unknown-fields` data).
    pub fn is_untyped(&self) -> bool {
        self.node().kind == SchemaKind::Untyped
    }

    /// The schema of field `name` of an object, or of any key of a map. Untyped data gives
    /// untyped children; `None` means the schema does not know the field.
    pub fn field(&self, name: &str) -> Option<SchemaNode<'a>> {
        let node = self.node();
        match node.kind {
            SchemaKind::Untyped => Some(self.at(UNTYPED)),
            SchemaKind::Object | SchemaKind::Map => {
                if let Ok(i) = node.fields.binary_search_by(|(field, _)| (**field).cmp(name)) {
                    return Some(self.at(node.fields[i].1));
                }
                if let Some(values) = node.values {
                    return Some(self.at(values));
                }
                node.preserve_unknown_fields.then(|| self.at(UNTYPED))
            }
            SchemaKind::List | SchemaKind::Scalar => None,
        }
    }

    /// True when this is an object that declares field `name` (map keys are not declared).
    pub fn declares(&self, name: &str) -> bool {
        let node = self.node();
        node.kind == SchemaKind::Object && node.fields.binary_search_by(|(field, _)| (**field).cmp(name)).is_ok()
    }

    /// A declared field with its name as the schema holds it (shared, so a caller can keep
    /// the name without copying it).
    pub fn declared_field(&self, name: &str) -> Option<(&'a Arc<str>, SchemaNode<'a>)> {
        let node = self.node();
        if node.kind != SchemaKind::Object {
            return None;
        }
        let i = node.fields.binary_search_by(|(field, _)| (**field).cmp(name)).ok()?;
        let (name, id) = &node.fields[i];
        Some((name, self.at(*id)))
    }

    /// Like [`SchemaNode::field`], but an unknown field is untyped rather than `None`, which is
    /// how merges treat data the schema does not describe.
    pub fn field_or_untyped(&self, name: &str) -> SchemaNode<'a> {
        self.field(name).unwrap_or_else(|| self.at(UNTYPED))
    }

    /// The named fields of an object, in name order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, SchemaNode<'a>)> + 'a {
        let graph = self.graph;
        self.node()
            .fields
            .iter()
            .map(move |(name, id)| (&**name, SchemaNode { graph, id: *id }))
    }

    /// The schema of the values of a map (or of an object's extra keys).
    pub fn values(&self) -> Option<SchemaNode<'a>> {
        let node = self.node();
        match node.kind {
            SchemaKind::Untyped => Some(self.at(UNTYPED)),
            _ => node.values.map(|id| self.at(id)),
        }
    }

    /// The schema of the items of a list (untyped for untyped data).
    pub fn items(&self) -> Option<SchemaNode<'a>> {
        let node = self.node();
        match node.kind {
            SchemaKind::List => Some(self.at(node.items.unwrap_or(UNTYPED))),
            SchemaKind::Untyped => Some(self.at(UNTYPED)),
            _ => None,
        }
    }

    /// How server-side apply merges this list (atomic for anything that is not a typed list).
    pub fn list_type(&self) -> ListType<'a> {
        let node = self.node();
        if node.kind != SchemaKind::List {
            return ListType::Atomic;
        }
        match node.list_kind {
            ListKind::Atomic => ListType::Atomic,
            ListKind::Set => ListType::Set,
            ListKind::Map => ListType::Map(&node.list_keys),
        }
    }

    /// Whether this map or struct is granular or atomic (`x-kubernetes-map-type`).
    pub fn map_type(&self) -> MapType {
        self.node().map_type
    }

    /// The strategic merge patch strategy of this field.
    pub fn patch_strategy(&self) -> PatchStrategy {
        self.node().patch_strategy
    }

    /// The strategic merge patch merge key of this list field.
    pub fn patch_merge_key(&self) -> Option<&'a str> {
        self.node().patch_merge_key.as_deref()
    }

    /// `x-kubernetes-int-or-string`.
    pub fn is_int_or_string(&self) -> bool {
        self.node().int_or_string
    }

    /// `x-kubernetes-preserve-unknown-fields`: fields the schema does not list are kept (untyped).
    pub fn preserves_unknown_fields(&self) -> bool {
        self.node().preserve_unknown_fields
    }

    /// `x-kubernetes-embedded-resource`: the value is a whole object with apiVersion/kind/metadata.
    pub fn is_embedded_resource(&self) -> bool {
        self.node().embedded_resource
    }

    /// The schema default (used for list-map keys, e.g. a container port's `protocol: TCP`).
    pub fn default_value(&self) -> Option<&'a Value> {
        self.node().default.as_ref()
    }

    /// The definition name, when this position is a named type.
    pub fn type_name(&self) -> Option<&'a str> {
        self.node().name.as_deref()
    }
}
