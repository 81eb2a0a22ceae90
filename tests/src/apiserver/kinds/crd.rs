//! CustomResourceDefinitions and the resources they define: CRD defaults, status (accepted names,
//! `Established`/`NamesAccepted`, stored versions) and validation; the [`ResourceInfo`] a CRD registers;
//! and custom resource defaulting and validation from the version's `openAPIV3Schema` (types, required,
//! enums, bounds, patterns, list sizes and keys; CEL `x-kubernetes-validations` are not evaluated).

use serde_json::{Value, json};
use std::sync::Arc;

use crate::apiserver::errors::FieldCause;
use crate::apiserver::meta::{self, default_field};
use crate::apiserver::registry::{
    GroupResource, PrinterColumn, Propagation, ResourceInfo, ScaleInfo, VersionInfo, compare_versions,
};
use crate::apiserver::state::ApiState;

/// Finalizer that keeps a CRD until its custom resources are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// The resource a CRD defines (its served versions), or `None` when it serves no version.
pub fn custom_resource_info(crd: &Value) -> Option<ResourceInfo> {
    let spec = crd.get("spec")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let names = spec.get("names")?;
    let kind = names.get("kind")?.as_str()?.to_string();
    let plural = names.get("plural")?.as_str()?.to_string();
    let strings = |field: &str| -> Vec<String> {
        names
            .get(field)
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut versions: Vec<VersionInfo> = Vec::new();
    let mut storage_version = String::new();
    for version in spec.get("versions").and_then(Value::as_array).into_iter().flatten() {
        let name = version.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        if version.get("storage") == Some(&json!(true)) {
            storage_version = name.clone();
        }
        if version.get("served") != Some(&json!(true)) {
            continue;
        }
        let scale = version.pointer("/subresources/scale").map(|scale| ScaleInfo {
            spec_replicas_path: scale
                .get("specReplicasPath")
                .and_then(Value::as_str)
                .unwrap_or(".spec.replicas")
                .to_string(),
            status_replicas_path: scale
                .get("statusReplicasPath")
                .and_then(Value::as_str)
                .unwrap_or(".status.replicas")
                .to_string(),
            label_selector_path: scale
                .get("labelSelectorPath")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
        let columns = version
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| cols.iter().map(printer_column).collect())
            .unwrap_or_default();
        let deprecation_warning = (version.get("deprecated") == Some(&json!(true))).then(|| {
            version
                .get("deprecationWarning")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{group}/{name} {kind} is deprecated"))
        });
        let type_schema = shared::schema::TypeSchema::from_crd(crd, &name).ok();
        versions.push(VersionInfo {
            type_schema,
            name,
            status: version.pointer("/subresources/status").is_some(),
            scale,
            schema: version.pointer("/schema/openAPIV3Schema").cloned().map(Arc::new),
            columns,
            deprecation_warning,
        });
    }
    if versions.is_empty() {
        return None;
    }
    versions.sort_by(|a, b| compare_versions(&b.name, &a.name));
    if storage_version.is_empty() {
        storage_version = versions[0].name.clone();
    }
    Some(ResourceInfo {
        group,
        versions,
        storage_version,
        list_kind: names
            .get("listKind")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind}List")),
        singular: names
            .get("singular")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_lowercase()),
        kind,
        plural,
        short_names: strings("shortNames"),
        categories: strings("categories"),
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
        verbs: vec![
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch",
        ],
        generation: true,
        default_propagation: Propagation::Background,
        definition: None,
        crd_name: Some(meta::meta_str(crd, "name").to_string()),
    })
}

fn printer_column(column: &Value) -> PrinterColumn {
    let text = |field: &str| column.get(field).and_then(Value::as_str).unwrap_or("").to_string();
    PrinterColumn {
        name: text("name"),
        column_type: text("type"),
        format: text("format"),
        description: text("description"),
        priority: column.get("priority").and_then(Value::as_i64).unwrap_or(0),
        json_path: text("jsonPath"),
    }
}

/// A new CRD: defaults, the cleanup finalizer and an accepted, established status.
pub fn init_crd(object: &mut Value) {
    let finalizers = meta::metadata_mut(object)
        .entry("finalizers")
        .or_insert_with(|| json!([]));
    if let Some(list) = finalizers.as_array_mut()
        && !list.iter().any(|f| f == CLEANUP_FINALIZER)
    {
        list.push(json!(CLEANUP_FINALIZER));
    }
    refresh_crd_status(object, None);
}

/// Defaults and status of a CRD after a write: names, conversion, conditions and stored versions.
pub fn refresh_crd_status(object: &mut Value, old: Option<&Value>) {
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
        default_field(spec, "conversion", json!({"strategy": "None"}));
        if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
            let kind = names.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
            default_field(names, "singular", json!(kind.to_lowercase()));
            default_field(names, "listKind", json!(format!("{kind}List")));
        }
    }
    let names = object.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let storage = object
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|v| v.iter().find(|v| v.get("storage") == Some(&json!(true))))
        .and_then(|v| v.get("name"))
        .cloned();
    let mut stored: Vec<Value> = old
        .and_then(|o| o.pointer("/status/storedVersions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(storage) = storage
        && !stored.contains(&storage)
    {
        stored.push(storage);
    }
    let now = meta::now_rfc3339();
    let previous = old.and_then(|o| o.pointer("/status/conditions")).cloned();
    let conditions = previous.unwrap_or_else(|| {
        json!([
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts",
             "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"}
        ])
    });
    object["status"] = json!({"conditions": conditions, "acceptedNames": names, "storedVersions": stored});
}

/// A deleting CRD reports `Terminating`.
pub fn mark_crd_terminating(object: &mut Value) {
    let condition = json!({"type": "Terminating", "status": "True", "lastTransitionTime": meta::now_rfc3339(),
        "reason": "InstanceDeletionInProgress", "message": "CustomResource deletion is in progress"});
    let status = meta::ensure_map(object, &["status"]);
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    if let Some(list) = conditions.as_array_mut() {
        list.retain(|c| c.get("type") != Some(&json!("Terminating")));
        list.push(condition);
    }
}

/// CRD validation: name, group, names, scope, versions and schemas, and the immutable group and scope.
pub fn validate_crd(state: &ApiState, object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let spec = object.get("spec").cloned().unwrap_or(json!({}));
    let group = spec.get("group").and_then(Value::as_str).unwrap_or("");
    let plural = spec.pointer("/names/plural").and_then(Value::as_str).unwrap_or("");
    let name = meta::meta_str(object, "name");
    if group.is_empty() {
        causes.push(FieldCause::required("spec.group"));
    } else if !group.contains('.') {
        causes.push(FieldCause::invalid(
            "spec.group",
            &json!(group),
            "should be a domain with at least one dot",
        ));
    }
    for field in ["plural", "kind"] {
        super::require_str(
            &mut causes,
            spec.pointer(&format!("/names/{field}")),
            &format!("spec.names.{field}"),
        );
    }
    if name != format!("{plural}.{group}") {
        causes.push(FieldCause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    match spec.get("scope") {
        Some(s) if matches!(s.as_str(), Some("Namespaced" | "Cluster")) => {}
        Some(s) => causes.push(FieldCause::not_supported("spec.scope", s, &["Cluster", "Namespaced"])),
        None => causes.push(FieldCause::required("spec.scope")),
    }
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(FieldCause::invalid(
            "spec.versions",
            &json!([]),
            "must have exactly one version marked as storage version",
        ));
    }
    let storage_count = versions
        .iter()
        .filter(|v| v.get("storage") == Some(&json!(true)))
        .count();
    if !versions.is_empty() && storage_count != 1 {
        causes.push(FieldCause::invalid(
            "spec.versions",
            &Value::String(format!(
                "[]apiextensions.CustomResourceDefinitionVersion{{ /* {} */ }}",
                versions.len()
            )),
            "must have exactly one version marked as storage version",
        ));
    }
    for (i, version) in versions.iter().enumerate() {
        super::require_str(&mut causes, version.get("name"), &format!("spec.versions[{i}].name"));
        if version.pointer("/schema/openAPIV3Schema").is_none() {
            causes.push(FieldCause::required_detail(
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "schemas are required",
            ));
        }
    }
    if let Some(old) = old {
        super::immutable(&mut causes, old, object, "/spec/group", "spec.group");
        super::immutable(&mut causes, old, object, "/spec/names/plural", "spec.names.plural");
        if old.pointer("/spec/scope") != object.pointer("/spec/scope") {
            causes.push(FieldCause::immutable(
                "spec.scope",
                object.pointer("/spec/scope").unwrap_or(&Value::Null),
            ));
        }
    } else if !group.is_empty()
        && !plural.is_empty()
        && state
            .registry
            .get(&GroupResource::new(group, plural))
            .is_some_and(|r| !r.is_custom())
    {
        causes.push(FieldCause::invalid(
            "spec.names.plural",
            &json!(plural),
            "conflicts with a built-in resource",
        ));
    }
    causes
}

/// Applies the `default`s of a custom resource's schema (its storage version).
pub fn default_custom_resource(info: &ResourceInfo, object: &mut Value) {
    let version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(|v| meta::split_api_version(v).1.to_string())
        .unwrap_or_else(|| info.storage_version.clone());
    let Some(schema) = info.version(&version).and_then(|v| v.schema.clone()) else {
        return;
    };
    apply_schema_defaults(object, &schema, true);
}

fn apply_schema_defaults(value: &mut Value, schema: &Value, root: bool) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, child_schema) in properties {
                    if root && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    if !map.contains_key(key)
                        && let Some(default) = child_schema.get("default")
                    {
                        map.insert(key.clone(), default.clone());
                    }
                    if let Some(child) = map.get_mut(key) {
                        apply_schema_defaults(child, child_schema, false);
                    }
                }
            }
            if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                let known: Vec<String> = schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                for (key, child) in map.iter_mut() {
                    if !known.contains(key) {
                        apply_schema_defaults(child, additional, false);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply_schema_defaults(item, item_schema, false);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::kinds::custom_validation::validate_custom_resource;

    fn crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [
                {"name": "v1beta1", "served": true, "storage": false,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                {"name": "v1", "served": true, "storage": true,
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"}},
                 "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 1, "maximum": 10},
                        "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
                        "name": {"type": "string", "pattern": "^[a-z]+$"},
                        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}},
                    "status": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}
            ]}})
    }

    #[test]
    fn a_crd_registers_its_names_versions_and_subresources() {
        let info = custom_resource_info(&crd()).unwrap();
        assert_eq!(info.kind, "Widget");
        assert_eq!(info.list_kind, "WidgetList");
        assert_eq!(info.singular, "widget");
        assert_eq!(info.storage_version, "v1");
        let names: Vec<_> = info.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, vec!["v1", "v1beta1"]);
        let v1 = info.version("v1").unwrap();
        assert!(v1.status);
        assert_eq!(v1.scale.as_ref().unwrap().spec_replicas_path, ".spec.size");
        assert_eq!(v1.columns[0].json_path, ".spec.size");
        assert_eq!(info.crd_name.as_deref(), Some("widgets.example.com"));
    }

    #[test]
    fn custom_resources_get_schema_defaults_and_validation_errors() {
        let info = custom_resource_info(&crd()).unwrap();
        let mut widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": 3}});
        default_custom_resource(&info, &mut widget);
        assert_eq!(widget["spec"]["mode"], "fast");
        assert!(validate_custom_resource(&info, &widget).is_empty());
        let bad = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": "big", "mode": "medium", "name": "UP", "tags": ["a", "a"]}});
        let messages: Vec<String> = validate_custom_resource(&info, &bad)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert!(
            messages.contains(
                &"spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
                    .to_string()
            ),
            "{messages:?}"
        );
        assert!(
            messages.contains(
                &"spec.mode: Unsupported value: \"medium\": supported values: \"fast\", \"slow\"".to_string()
            )
        );
        assert!(
            messages
                .contains(&"spec.name: Invalid value: \"UP\": spec.name in body should match '^[a-z]+$'".to_string())
        );
        assert!(messages.contains(&"spec.tags[1]: Duplicate value: \"a\"".to_string()));
        let missing =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 0}});
        let messages: Vec<String> = validate_custom_resource(&info, &missing)
            .into_iter()
            .map(|c| c.message)
            .collect();
        assert_eq!(
            messages,
            vec!["Invalid value: 0: spec.size in body should be greater than or equal to 1"]
        );
    }

    #[test]
    fn crd_status_accepts_names_and_records_stored_versions() {
        let mut object = crd();
        init_crd(&mut object);
        assert_eq!(object["status"]["acceptedNames"]["kind"], "Widget");
        assert_eq!(object["status"]["storedVersions"], json!(["v1"]));
        assert_eq!(object["status"]["conditions"][1]["type"], "Established");
        assert_eq!(object["metadata"]["finalizers"], json!([CLEANUP_FINALIZER]));
        assert_eq!(object["spec"]["conversion"], json!({"strategy": "None"}));
    }
}
