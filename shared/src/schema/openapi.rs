//! Reading OpenAPI schemas (v3 `components.schemas`, v2 `definitions`, or one inline CRD
//! `openAPIV3Schema`) into a [`Graph`], with the `x-kubernetes-*` extensions.
//!
//! Lists without `x-kubernetes-list-type` follow structured-merge-diff's rule: a `merge` patch
//! strategy makes them associative (keyed by the patch merge key, or a set without one), and
//! anything else is atomic.

use super::SchemaError;
use super::graph::{Graph, ListKind, MapType, Node, NodeId, PatchStrategy, SchemaKind, UNTYPED};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Attributes a `$ref` with siblings (or a one-element `allOf`) adds to the referenced type.
#[derive(Default)]
struct Overlay {
    patch_strategy: Option<PatchStrategy>,
    patch_merge_key: Option<Box<str>>,
    map_type: Option<MapType>,
    default: Option<Value>,
}

enum Built {
    Node(Box<Node>),
    Ref(NodeId),
    Alias(NodeId, Overlay),
}

/// Builds one graph from a set of definitions and any number of inline schemas.
pub(crate) struct Loader<'d> {
    pub(crate) graph: Graph,
    definitions: Option<&'d Map<String, Value>>,
    /// `#/components/schemas/` or `#/definitions/`.
    ref_prefix: &'static str,
    def_ids: HashMap<&'d str, NodeId>,
    queue: Vec<(&'d str, NodeId)>,
    aliases: Vec<(NodeId, NodeId, Overlay)>,
}

impl<'d> Loader<'d> {
    /// A loader for inline schemas only (a CRD's `openAPIV3Schema`).
    pub(crate) fn inline() -> Self {
        Loader {
            graph: Graph::new(),
            definitions: None,
            ref_prefix: "#/components/schemas/",
            def_ids: HashMap::new(),
            queue: Vec::new(),
            aliases: Vec::new(),
        }
    }

    /// A loader for a whole OpenAPI document (v3 `components.schemas` or v2 `definitions`).
    pub(crate) fn document(doc: &'d Value) -> Result<Self, SchemaError> {
        let (definitions, ref_prefix) =
            if let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object) {
                (schemas, "#/components/schemas/")
            } else if let Some(definitions) = doc.get("definitions").and_then(Value::as_object) {
                (definitions, "#/definitions/")
            } else {
                return Err(SchemaError::ReadDocument {
                    reason: "neither components.schemas nor definitions is present".to_string(),
                });
            };
        Ok(Loader {
            definitions: Some(definitions),
            ref_prefix,
            ..Loader::inline()
        })
    }

    /// The definitions of the document, by name.
    pub(crate) fn definition_names(&self) -> impl Iterator<Item = (&'d str, &'d Value)> + use<'d> {
        self.definitions
            .into_iter()
            .flat_map(|defs| defs.iter().map(|(name, schema)| (name.as_str(), schema)))
    }

    /// The node of a named definition (loaded on [`Loader::finish`]).
    pub(crate) fn definition(&mut self, name: &'d str) -> Result<NodeId, SchemaError> {
        if let Some(&id) = self.def_ids.get(name) {
            return Ok(id);
        }
        if !self.definitions.is_some_and(|defs| defs.contains_key(name)) {
            return Err(SchemaError::ResolveRef {
                path: String::new(),
                reference: name.to_string(),
            });
        }
        let id = self.graph.push(Node::new(SchemaKind::Untyped));
        self.def_ids.insert(name, id);
        self.queue.push((name, id));
        Ok(id)
    }

    /// Loads an inline schema; `path` locates it in errors.
    pub(crate) fn inline_schema(&mut self, schema: &'d Value, path: &str) -> Result<NodeId, SchemaError> {
        let id = self.node_for(schema, path)?;
        self.finish()?;
        Ok(id)
    }

    /// Loads every queued definition and resolves `$ref`s that carry their own attributes.
    pub(crate) fn finish(&mut self) -> Result<(), SchemaError> {
        while let Some((name, id)) = self.queue.pop() {
            let schema = &self.definitions.expect("queued definitions come from a document")[name];
            let path = format!("{}{}", self.ref_prefix, name);
            match self.build(schema, &path)? {
                Built::Node(mut node) => {
                    node.name = Some(name.into());
                    self.graph.nodes[id as usize] = *node;
                }
                Built::Ref(target) => self.aliases.push((id, target, Overlay::default())),
                Built::Alias(target, overlay) => self.aliases.push((id, target, overlay)),
            }
        }
        // An alias may point at another alias; resolve those whose target is ready, repeatedly.
        let mut pending = std::mem::take(&mut self.aliases);
        while !pending.is_empty() {
            let waiting: std::collections::HashSet<NodeId> = pending.iter().map(|(id, _, _)| *id).collect();
            let before = pending.len();
            let mut next = Vec::new();
            for (id, target, overlay) in pending {
                if waiting.contains(&target) && target != id {
                    next.push((id, target, overlay));
                    continue;
                }
                let mut node = self.graph.node(target).clone();
                apply_overlay(&mut node, overlay);
                self.graph.nodes[id as usize] = node;
            }
            if next.len() == before {
                // A cycle of pure references: nothing describes the value.
                for (id, _, _) in next {
                    self.graph.nodes[id as usize] = Node::new(SchemaKind::Untyped);
                }
                break;
            }
            pending = next;
        }
        Ok(())
    }

    fn node_for(&mut self, schema: &'d Value, path: &str) -> Result<NodeId, SchemaError> {
        match self.build(schema, path)? {
            Built::Node(node) => Ok(self.graph.push(*node)),
            Built::Ref(target) => Ok(target),
            Built::Alias(target, overlay) => {
                let id = self.graph.push(Node::new(SchemaKind::Untyped));
                self.aliases.push((id, target, overlay));
                Ok(id)
            }
        }
    }

    fn resolve_ref(&mut self, reference: &str, path: &str) -> Result<NodeId, SchemaError> {
        let name = reference
            .strip_prefix(self.ref_prefix)
            .or_else(|| reference.strip_prefix("#/definitions/"))
            .or_else(|| reference.strip_prefix("#/components/schemas/"));
        let definitions = self.definitions;
        let found = name.and_then(|name| definitions.and_then(|defs| defs.get_key_value(name)));
        match found {
            Some((name, _)) => self.definition(name.as_str()),
            None => Err(SchemaError::ResolveRef {
                path: path.to_string(),
                reference: reference.to_string(),
            }),
        }
    }

    fn build(&mut self, schema: &'d Value, path: &str) -> Result<Built, SchemaError> {
        let object = match schema {
            Value::Object(object) => object,
            // `additionalProperties: true` and friends: anything goes.
            Value::Bool(_) => return Ok(Built::Ref(UNTYPED)),
            _ => {
                return Err(SchemaError::ReadSchema {
                    path: path.to_string(),
                    reason: "expected an object".to_string(),
                });
            }
        };
        // `$ref`, or `allOf: [{$ref}]` as Kubernetes writes a reference with its own attributes.
        let reference = object.get("$ref").and_then(Value::as_str).or_else(|| {
            match object.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
                Some([only]) => only.get("$ref").and_then(Value::as_str),
                _ => None,
            }
        });
        if let Some(reference) = reference {
            let target = self.resolve_ref(reference, path)?;
            let overlay = Overlay {
                patch_strategy: patch_strategy(object, path)?,
                patch_merge_key: object
                    .get("x-kubernetes-patch-merge-key")
                    .and_then(Value::as_str)
                    .map(Into::into),
                map_type: map_type(object, path)?,
                default: object.get("default").cloned(),
            };
            let plain = overlay.patch_strategy.is_none()
                && overlay.patch_merge_key.is_none()
                && overlay.map_type.is_none()
                && overlay.default.is_none();
            return Ok(if plain {
                Built::Ref(target)
            } else {
                Built::Alias(target, overlay)
            });
        }

        let declared = match object.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            // OpenAPI v3.1 style `type: [x, "null"]`.
            Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).find(|t| *t != "null"),
            _ => None,
        };
        let has_properties = object.get("properties").is_some_and(Value::is_object);
        let int_or_string = flag(object, "x-kubernetes-int-or-string");
        let preserve = flag(object, "x-kubernetes-preserve-unknown-fields");
        let kind = match declared {
            _ if int_or_string => SchemaKind::Scalar,
            Some("array") => SchemaKind::List,
            Some("string" | "integer" | "number" | "boolean") => SchemaKind::Scalar,
            Some("object") | None if has_properties => SchemaKind::Object,
            Some("object") | None => match object.get("additionalProperties") {
                Some(Value::Object(_)) | Some(Value::Bool(true)) if !preserve => SchemaKind::Map,
                _ => SchemaKind::Untyped,
            },
            Some(other) => {
                return Err(SchemaError::ReadSchema {
                    path: path.to_string(),
                    reason: format!("unknown type \"{other}\""),
                });
            }
        };

        let mut node = Node::new(kind);
        node.int_or_string = int_or_string;
        node.preserve_unknown_fields = preserve;
        node.embedded_resource = flag(object, "x-kubernetes-embedded-resource");
        node.default = object.get("default").cloned();
        node.patch_strategy = patch_strategy(object, path)?.unwrap_or_default();
        node.patch_merge_key = object
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
            .map(Into::into);
        node.map_type = map_type(object, path)?.unwrap_or_default();

        match kind {
            SchemaKind::Object | SchemaKind::Map => {
                if let Some(properties) = object.get("properties").and_then(Value::as_object) {
                    let mut fields = Vec::with_capacity(properties.len());
                    for (name, property) in properties {
                        let child = self.node_for(property, &format!("{path}/properties/{name}"))?;
                        fields.push((std::sync::Arc::<str>::from(name.as_str()), child));
                    }
                    fields.sort_by(|a, b| a.0.cmp(&b.0));
                    node.fields = fields;
                }
                node.values = match object.get("additionalProperties") {
                    Some(values @ Value::Object(map)) if !map.is_empty() => {
                        Some(self.node_for(values, &format!("{path}/additionalProperties"))?)
                    }
                    Some(Value::Object(_)) | Some(Value::Bool(true)) => Some(UNTYPED),
                    _ => None,
                };
            }
            SchemaKind::List => {
                node.items = match object.get("items") {
                    Some(items @ Value::Object(_)) => Some(self.node_for(items, &format!("{path}/items"))?),
                    _ => Some(UNTYPED),
                };
                let (list_kind, keys) = list_type(object, node.patch_strategy, path)?;
                node.list_kind = list_kind;
                node.list_keys = keys;
            }
            SchemaKind::Scalar | SchemaKind::Untyped => {}
        }
        Ok(Built::Node(Box::new(node)))
    }
}

fn apply_overlay(node: &mut Node, overlay: Overlay) {
    if let Some(strategy) = overlay.patch_strategy {
        node.patch_strategy = strategy;
    }
    if let Some(key) = overlay.patch_merge_key {
        node.patch_merge_key = Some(key);
    }
    if let Some(map_type) = overlay.map_type {
        node.map_type = map_type;
    }
    if let Some(default) = overlay.default {
        node.default = Some(default);
    }
}

fn flag(object: &Map<String, Value>, name: &str) -> bool {
    object.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn extension_error(path: &str, extension: &str, reason: String) -> SchemaError {
    SchemaError::ReadExtension {
        path: path.to_string(),
        extension: extension.to_string(),
        reason,
    }
}

fn patch_strategy(object: &Map<String, Value>, path: &str) -> Result<Option<PatchStrategy>, SchemaError> {
    const NAME: &str = "x-kubernetes-patch-strategy";
    match object.get(NAME) {
        None => Ok(None),
        Some(Value::String(text)) => PatchStrategy::parse(text)
            .map(Some)
            .map_err(|word| extension_error(path, NAME, format!("unknown strategy \"{word}\""))),
        Some(other) => Err(extension_error(path, NAME, format!("expected a string, got {other}"))),
    }
}

fn map_type(object: &Map<String, Value>, path: &str) -> Result<Option<MapType>, SchemaError> {
    const NAME: &str = "x-kubernetes-map-type";
    match object.get(NAME) {
        None => Ok(None),
        Some(Value::String(t)) if t == "atomic" => Ok(Some(MapType::Atomic)),
        Some(Value::String(t)) if t == "granular" => Ok(Some(MapType::Granular)),
        Some(other) => Err(extension_error(
            path,
            NAME,
            format!("expected \"atomic\" or \"granular\", got {other}"),
        )),
    }
}

fn list_type(
    object: &Map<String, Value>,
    strategy: PatchStrategy,
    path: &str,
) -> Result<(ListKind, Vec<String>), SchemaError> {
    const NAME: &str = "x-kubernetes-list-type";
    const KEYS: &str = "x-kubernetes-list-map-keys";
    match object.get(NAME) {
        Some(Value::String(t)) if t == "atomic" => Ok((ListKind::Atomic, Vec::new())),
        Some(Value::String(t)) if t == "set" => Ok((ListKind::Set, Vec::new())),
        Some(Value::String(t)) if t == "map" => {
            let keys: Vec<String> = object
                .get(KEYS)
                .and_then(Value::as_array)
                .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            if keys.is_empty() {
                return Err(extension_error(
                    path,
                    KEYS,
                    "a list of type map needs at least one key".to_string(),
                ));
            }
            Ok((ListKind::Map, keys))
        }
        Some(other) => Err(extension_error(
            path,
            NAME,
            format!("expected \"atomic\", \"set\" or \"map\", got {other}"),
        )),
        // structured-merge-diff's fallback for schemas that predate list types.
        None if strategy.merge => match object.get("x-kubernetes-patch-merge-key").and_then(Value::as_str) {
            Some(key) => Ok((ListKind::Map, vec![key.to_string()])),
            None => Ok((ListKind::Set, Vec::new())),
        },
        None => Ok((ListKind::Atomic, Vec::new())),
    }
}
