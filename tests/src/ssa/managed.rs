//! `metadata.managedFields`: reading and writing the entries `{manager, operation, apiVersion,
//! time, fieldsType: FieldsV1, fieldsV1, subresource}` and identifying a manager the way the
//! API server does (Apply entries ignore the apiVersion, Update entries include it).

use super::Operation;
use super::set::FieldSet;
use serde_json::{Map, Value};

/// One manager's ownership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: String,
    pub fields: FieldSet,
}

impl Entry {
    /// Whether this entry belongs to the given manager identity.
    pub fn is(&self, manager: &str, operation: Operation, subresource: &str, api_version: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == subresource
            && (operation == Operation::Apply || self.api_version == api_version)
    }
}

/// Reads `metadata.managedFields` of an object (absent: no entries).
pub(crate) fn decode(object: &Value) -> Result<Vec<Entry>, String> {
    let Some(list) = object.pointer("/metadata/managedFields") else {
        return Ok(Vec::new());
    };
    let list = match list {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) => list,
        _ => return Err("metadata.managedFields must be a list".to_string()),
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(list.len());
    for (index, raw) in list.iter().enumerate() {
        let entry = decode_entry(raw).map_err(|reason| format!("entry {index}: {reason}"))?;
        if entries
            .iter()
            .any(|e| e.is(&entry.manager, entry.operation, &entry.subresource, &entry.api_version))
        {
            return Err(format!("entry {index}: found duplicate manager \"{}\"", entry.manager));
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn decode_entry(raw: &Value) -> Result<Entry, String> {
    let Value::Object(map) = raw else {
        return Err("expected an object".to_string());
    };
    let text = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let operation = match map.get("operation").and_then(Value::as_str) {
        Some("Apply") => Operation::Apply,
        Some("Update") => Operation::Update,
        Some(other) => return Err(format!("unknown operation \"{other}\"")),
        None => return Err("operation is missing".to_string()),
    };
    match map.get("fieldsType").and_then(Value::as_str) {
        Some("FieldsV1") | None => {}
        Some(other) => return Err(format!("unknown fieldsType \"{other}\"")),
    }
    let fields = match map.get("fieldsV1") {
        None | Some(Value::Null) => FieldSet::new(),
        Some(fields) => FieldSet::from_fields_v1(fields)?,
    };
    Ok(Entry {
        manager: text("manager"),
        operation,
        api_version: text("apiVersion"),
        time: map.get("time").and_then(Value::as_str).map(str::to_string),
        subresource: text("subresource"),
        fields,
    })
}

/// Writes entries as `metadata.managedFields`, in the API server's order: Apply entries first,
/// then by time, manager, apiVersion and subresource. Entries with no fields are dropped.
pub(crate) fn encode(entries: &mut Vec<Entry>) -> Value {
    entries.retain(|e| !e.fields.is_empty());
    entries.sort_by(|a, b| {
        let op = |e: &Entry| match e.operation {
            Operation::Apply => 0,
            Operation::Update => 1,
        };
        op(a)
            .cmp(&op(b))
            .then_with(|| a.time.as_deref().unwrap_or("").cmp(b.time.as_deref().unwrap_or("")))
            .then_with(|| a.manager.cmp(&b.manager))
            .then_with(|| a.api_version.cmp(&b.api_version))
            .then_with(|| a.subresource.cmp(&b.subresource))
    });
    Value::Array(
        entries
            .iter()
            .map(|e| {
                let mut map = Map::new();
                map.insert("manager".into(), Value::String(e.manager.clone()));
                map.insert("operation".into(), Value::String(e.operation.as_str().into()));
                map.insert("apiVersion".into(), Value::String(e.api_version.clone()));
                if let Some(time) = &e.time {
                    map.insert("time".into(), Value::String(time.clone()));
                }
                map.insert("fieldsType".into(), Value::String("FieldsV1".into()));
                map.insert("fieldsV1".into(), e.fields.to_fields_v1());
                if !e.subresource.is_empty() {
                    map.insert("subresource".into(), Value::String(e.subresource.clone()));
                }
                Value::Object(map)
            })
            .collect(),
    )
}

/// Sets `metadata.managedFields` on an object (creating `metadata` if needed), or removes it
/// when there are no entries.
pub(crate) fn store(object: &mut Value, entries: &mut Vec<Entry>) {
    let encoded = encode(entries);
    let Value::Object(root) = object else {
        return;
    };
    let metadata = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(metadata) = metadata {
        if encoded.as_array().is_some_and(Vec::is_empty) {
            metadata.shift_remove("managedFields");
        } else {
            metadata.insert("managedFields".into(), encoded);
        }
    }
}
