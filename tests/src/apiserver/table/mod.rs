//! Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), what `kubectl get` prints:
//! column definitions and one row of cells per object, from the built-in printers ([`printers`]),
//! a CRD's `additionalPrinterColumns` (JSONPath cells), or the default Name / Created At.

mod cells;
mod jsonpath;
mod printers;

use serde_json::{Value, json};

use super::meta;
use super::ops::to_request_version;
use super::registry::{PrinterColumn, ResourceInfo};

/// One column of a Table.
#[derive(Clone, Debug)]
pub struct Column {
    /// Header (`Name`, `Ready`).
    pub name: String,
    /// `string`, `integer`, `number`, `boolean`, `date`.
    pub column_type: String,
    /// `name` for the Name column, else empty.
    pub format: String,
    /// 0: always shown; 1: `-o wide` only.
    pub priority: i64,
}

impl Column {
    /// A column.
    pub fn new(name: &str, column_type: &str, priority: i64) -> Self {
        Column {
            name: name.to_string(),
            column_type: column_type.to_string(),
            format: if name == "Name" { "name".into() } else { String::new() },
            priority,
        }
    }

    fn to_json(&self) -> Value {
        json!({"name": self.name, "type": self.column_type, "format": self.format,
               "description": description(&self.name), "priority": self.priority})
    }
}

fn description(name: &str) -> &'static str {
    match name {
        "Name" => {
            "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
        }
        "Age" | "Created At" => {
            "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
        }
        _ => "",
    }
}

/// What each row carries in `object` (the `includeObject` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses `includeObject`.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// True when the client asks for Table output.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
    })
}

/// `Content-Type` of a Table answer.
pub const TABLE_CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// The column definitions of a resource version.
pub fn columns(info: &ResourceInfo, version: &str) -> Vec<Column> {
    if let Some(columns) = printers::columns(&info.group, &info.kind) {
        return columns;
    }
    let custom = info.version(version).map(|v| v.columns.clone()).unwrap_or_default();
    if info.is_custom() {
        let mut out = vec![Column::new("Name", "string", 0)];
        if custom.is_empty() {
            out.push(Column::new("Age", "date", 0));
        }
        out.extend(custom.iter().map(|c| Column {
            name: c.name.clone(),
            column_type: c.column_type.clone(),
            format: c.format.clone(),
            priority: c.priority,
        }));
        return out;
    }
    vec![Column::new("Name", "string", 0), Column::new("Created At", "date", 0)]
}

/// The cells of one object's row.
pub fn cells(info: &ResourceInfo, version: &str, object: &Value) -> Vec<Value> {
    if let Some(cells) = printers::cells(&info.group, &info.kind, object) {
        return cells;
    }
    let name = json!(meta::meta_str(object, "name"));
    if info.is_custom() {
        let custom = info.version(version).map(|v| v.columns.clone()).unwrap_or_default();
        let mut out = vec![name];
        if custom.is_empty() {
            out.push(json!(age(object)));
        }
        for column in &custom {
            out.push(custom_cell(object, column));
        }
        return out;
    }
    vec![name, json!(meta::meta_str(object, "creationTimestamp"))]
}

fn custom_cell(object: &Value, column: &PrinterColumn) -> Value {
    let values = jsonpath::evaluate(object, &column.json_path);
    let Some(first) = values.first() else {
        return Value::Null;
    };
    match column.column_type.as_str() {
        "date" => first
            .as_str()
            .and_then(meta::parse_time)
            .map(|t| json!(human_duration(chrono::Utc::now() - t)))
            .unwrap_or(Value::Null),
        "integer" | "number" | "boolean" if values.len() == 1 => first.clone(),
        _ => {
            let texts: Vec<String> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            json!(texts.join(","))
        }
    }
}

/// A Table of objects (already filtered), with list metadata (`resourceVersion`, `continue`).
pub fn table(
    info: &ResourceInfo,
    version: &str,
    objects: &[&Value],
    include: IncludeObject,
    list_metadata: Value,
) -> Value {
    let definitions: Vec<Value> = columns(info, version).iter().map(Column::to_json).collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut row = json!({"cells": cells(info, version, object)});
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => row["object"] = partial_metadata(object),
                IncludeObject::Object => row["object"] = to_request_version(info, version, object),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

/// The `PartialObjectMetadata` of an object.
pub fn partial_metadata(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
           "metadata": object.get("metadata").cloned().unwrap_or(json!({}))})
}

/// The age of an object as kubectl prints it (`45s`, `5m30s`, `3h`, `2d4h`).
pub fn age(object: &Value) -> String {
    match meta::parse_time(meta::meta_str(object, "creationTimestamp")) {
        Some(created) => human_duration(chrono::Utc::now() - created),
        None => "<unknown>".into(),
    }
}

/// Kubernetes' `duration.HumanDuration`.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::registry::Registry;
    use chrono::TimeDelta;

    #[test]
    fn durations_print_like_kubectl() {
        assert_eq!(human_duration(TimeDelta::seconds(45)), "45s");
        assert_eq!(human_duration(TimeDelta::seconds(330)), "5m30s");
        assert_eq!(human_duration(TimeDelta::minutes(42)), "42m");
        assert_eq!(human_duration(TimeDelta::minutes(200)), "3h20m");
        assert_eq!(human_duration(TimeDelta::hours(30)), "30h");
        assert_eq!(human_duration(TimeDelta::hours(52)), "2d4h");
        assert_eq!(human_duration(TimeDelta::days(400)), "400d");
    }

    #[test]
    fn deployment_tables_have_kubectls_columns_and_metadata_rows() {
        let registry = Registry::with_builtins();
        let info = registry.lookup("apps", "v1", "deployments").unwrap();
        let d = json!({"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "creationTimestamp": meta::now_rfc3339()},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}},
            "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}});
        let table = table(
            &info,
            "v1",
            &[&d],
            IncludeObject::Metadata,
            json!({"resourceVersion": "5"}),
        );
        let names: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            vec![
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        let cells = &table["rows"][0]["cells"];
        assert_eq!(cells[0], "web");
        assert_eq!(cells[1], "1/2");
        assert_eq!(cells[2], 2);
        assert_eq!(cells[6], "nginx:1");
        assert_eq!(cells[7], "app=web");
        assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn accept_headers_select_tables() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
