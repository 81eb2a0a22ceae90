//! Core (`v1`) kinds: Services (defaults, cluster IP and node port allocation, validation), Secrets and
//! ConfigMaps (keys, `stringData`, immutability), Namespaces, PersistentVolumeClaims, Pods, Endpoints.

use base64::Engine;
use serde_json::{Value, json};

use super::pod;
use crate::apiserver::errors::FieldCause;
use crate::apiserver::meta::{self, default_field};
use crate::apiserver::state::Allocator;

const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

/// Service defaults that do not need an allocation.
pub fn default_service(object: &mut Value) {
    // ServiceStatus is a struct, which Go's encoder never omits: a real server always answers
    // with `status: {loadBalancer: {}}`, and readiness checks rely on a status being there.
    if let Some(map) = object.as_object_mut()
        && !map.contains_key("status")
    {
        map.insert("status".into(), json!({"loadBalancer": {}}));
    }
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    default_field(spec, "type", json!("ClusterIP"));
    default_field(spec, "sessionAffinity", json!("None"));
    let service_type = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if service_type != "ExternalName" {
        default_field(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "NodePort" || service_type == "LoadBalancer" {
        default_field(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        default_field(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            default_field(port, "protocol", json!("TCP"));
            if let Some(number) = port.get("port").cloned() {
                default_field(port, "targetPort", number);
            }
        }
    }
}

/// Allocates the cluster IP and node ports a Service needs (`reserve = false` for dry runs).
pub fn allocate_service(allocator: &mut Allocator, object: &mut Value, old: Option<&Value>, reserve: bool) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let service_type = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if service_type == "ExternalName" {
        return;
    }
    let cluster_ip = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("").to_string();
    let ip = if cluster_ip.is_empty() {
        allocator.cluster_ip(reserve)
    } else {
        cluster_ip
    };
    spec.insert("clusterIP".into(), json!(ip));
    if spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        spec.insert("clusterIPs".into(), json!([ip]));
    }
    default_field(spec, "ipFamilies", json!(["IPv4"]));
    default_field(spec, "ipFamilyPolicy", json!("SingleStack"));
    if service_type == "NodePort" || service_type == "LoadBalancer" {
        let old_ports = old
            .and_then(|o| o.pointer("/spec/ports"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                if port.get("nodePort").and_then(Value::as_i64).is_some_and(|p| p != 0) {
                    continue;
                }
                let previous = old_ports
                    .iter()
                    .find(|p| p.get("port") == port.get("port") && p.get("protocol") == port.get("protocol"))
                    .and_then(|p| p.get("nodePort"))
                    .cloned();
                let node_port = previous.unwrap_or_else(|| json!(allocator.node_port(reserve)));
                port.insert("nodePort".into(), node_port);
            }
        }
    }
}

/// Updates may omit allocated values; the server copies them from the old object.
pub fn keep_allocations(old: &Value, new: &mut Value) {
    let Some(old_spec) = old.get("spec") else { return };
    let same_type = old_spec.get("type") == new.pointer("/spec/type");
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if !same_type {
        return;
    }
    for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
        let missing = spec.get(field).is_none_or(|v| v.is_null() || v == "");
        if missing && let Some(value) = old_spec.get(field) {
            spec.insert(field.into(), value.clone());
        }
    }
}

/// Service validation.
pub fn validate_service(object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let spec = object.get("spec").cloned().unwrap_or(json!({}));
    let service_type = spec.get("type").cloned().unwrap_or(json!("ClusterIP"));
    if !service_type.as_str().is_some_and(|t| SERVICE_TYPES.contains(&t)) {
        causes.push(FieldCause::not_supported("spec.type", &service_type, SERVICE_TYPES));
    }
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let ports = spec.get("ports").and_then(Value::as_array).cloned().unwrap_or_default();
    if service_type == "ExternalName" {
        if spec
            .get("externalName")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            causes.push(FieldCause::required("spec.externalName"));
        }
    } else if ports.is_empty() && !headless {
        causes.push(FieldCause::required("spec.ports"));
    }
    let mut names = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let name = port.get("name").and_then(Value::as_str).unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            causes.push(FieldCause::required(format!("spec.ports[{i}].name")));
        }
        if !name.is_empty() {
            if names.contains(&name) {
                causes.push(FieldCause::duplicate(format!("spec.ports[{i}].name"), &json!(name)));
            }
            names.push(name);
        }
        match port.get("port").and_then(Value::as_i64) {
            Some(p) if (1..=65535).contains(&p) => {}
            Some(p) => causes.push(FieldCause::invalid(
                format!("spec.ports[{i}].port"),
                &json!(p),
                "must be between 1 and 65535, inclusive",
            )),
            None => causes.push(FieldCause::required(format!("spec.ports[{i}].port"))),
        }
        if let Some(protocol) = port.get("protocol")
            && !matches!(protocol.as_str(), Some("TCP" | "UDP" | "SCTP"))
        {
            causes.push(FieldCause::not_supported(
                format!("spec.ports[{i}].protocol"),
                protocol,
                &["SCTP", "TCP", "UDP"],
            ));
        }
    }
    if let Some(old) = old {
        let before = old.pointer("/spec/clusterIPs");
        let after = spec.get("clusterIPs");
        let was_set = before.and_then(Value::as_array).is_some_and(|ips| !ips.is_empty());
        let type_change = old.pointer("/spec/type") != spec.get("type");
        if was_set && !type_change && after.is_some() && before != after {
            let ips: Vec<String> = after
                .and_then(Value::as_array)
                .map(|l| l.iter().map(|ip| format!("{:?}", ip.as_str().unwrap_or(""))).collect())
                .unwrap_or_default();
            causes.push(FieldCause::invalid(
                "spec.clusterIPs[0]",
                &Value::String(format!("[]string{{{}}}", ips.join(", "))),
                "may not change once set",
            ));
        }
    }
    causes
}

/// Secret defaults: `type: Opaque`, and `stringData` folded into base64 `data`.
pub fn default_secret(object: &mut Value) {
    let Some(map) = object.as_object_mut() else { return };
    default_field(map, "type", json!("Opaque"));
    if let Some(Value::Object(string_data)) = map.shift_remove("stringData") {
        let data = map.entry("data").or_insert_with(|| json!({}));
        if !data.is_object() {
            *data = json!({});
        }
        let data = data.as_object_mut().expect("made a map above");
        for (key, value) in string_data {
            let text = value.as_str().unwrap_or("").to_string();
            data.insert(key, json!(base64::engine::general_purpose::STANDARD.encode(text)));
        }
    }
}

/// Keys of ConfigMap/Secret data maps, overlap of `data` and `binaryData`.
pub fn validate_config_data(object: &Value, fields: &[&str]) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let mut seen = Vec::new();
    for field in fields {
        if let Some(data) = object.get(*field).and_then(Value::as_object) {
            for key in data.keys() {
                for err in meta::config_key_errors(key) {
                    causes.push(FieldCause::invalid(format!("{field}[{key}]"), &json!(key), &err));
                }
                if seen.contains(&key.as_str()) {
                    causes.push(FieldCause::duplicate(format!("{field}[{key}]"), &json!(key)));
                }
                seen.push(key.as_str());
            }
        }
    }
    causes
}

/// Secret validation: keys, base64 values, type rules and immutability.
pub fn validate_secret(object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = validate_config_data(object, &["data"]);
    let data = object.get("data").and_then(Value::as_object);
    if let Some(data) = data {
        for (key, value) in data {
            let valid = value
                .as_str()
                .is_some_and(|v| base64::engine::general_purpose::STANDARD.decode(v).is_ok());
            if !valid && !value.is_null() {
                causes.push(FieldCause::invalid(
                    format!("data[{key}]"),
                    &json!("<secret contents redacted>"),
                    "must be a base64-encoded string",
                ));
            }
        }
    }
    let has = |key: &str| data.is_some_and(|d| d.contains_key(key));
    match object.get("type").and_then(Value::as_str).unwrap_or("Opaque") {
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !has(key) {
                    causes.push(FieldCause::required(format!("data[{key}]")));
                }
            }
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            causes.push(FieldCause::required("data[.dockerconfigjson]"));
        }
        "kubernetes.io/service-account-token" => {
            let annotated = meta::metadata(object)
                .and_then(|m| m.get("annotations"))
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .is_some();
            if !annotated {
                causes.push(FieldCause::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                ));
            }
        }
        _ => {}
    }
    if let Some(old) = old {
        super::immutable(&mut causes, old, object, "/type", "type");
        if old.get("immutable") == Some(&json!(true)) {
            if old.get("data") != object.get("data") {
                causes.push(FieldCause::forbidden(
                    "data",
                    "field is immutable when `immutable` is set",
                ));
            }
            if object.get("immutable") != Some(&json!(true)) {
                causes.push(FieldCause::forbidden(
                    "immutable",
                    "field is immutable when `immutable` is set",
                ));
            }
        }
    }
    causes
}

/// A new Namespace: the `kubernetes` finalizer, `Active` phase and the name label.
pub fn init_namespace(object: &mut Value) {
    let name = meta::meta_str(object, "name").to_string();
    meta::ensure_map(object, &["metadata", "labels"]).insert("kubernetes.io/metadata.name".into(), json!(name));
    let spec = meta::ensure_map(object, &["spec"]);
    default_field(spec, "finalizers", json!(["kubernetes"]));
    object["status"] = json!({"phase": "Active"});
}

/// PVC spec defaults.
pub fn default_pvc_spec(spec: Option<&mut Value>) {
    if let Some(spec) = spec.and_then(Value::as_object_mut) {
        default_field(spec, "volumeMode", json!("Filesystem"));
    }
}

/// A new PVC is `Pending`.
pub fn init_pvc(object: &mut Value) {
    object["status"] = json!({"phase": "Pending"});
}

/// PVC validation: access modes and a storage request; the spec is immutable but for requests.
pub fn validate_pvc(object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    if object
        .pointer("/spec/accessModes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        causes.push(FieldCause::required("spec.accessModes"));
    }
    if object.pointer("/spec/resources/requests/storage").is_none() {
        causes.push(FieldCause::required("spec.resources[storage]"));
    }
    if let Some(old) = old {
        let strip = |v: &Value| {
            let mut spec = v.get("spec").cloned().unwrap_or(json!({}));
            if let Some(map) = spec.as_object_mut() {
                map.shift_remove("resources");
                map.shift_remove("volumeAttributesClassName");
                if v.pointer("/spec/volumeName").is_some() {
                    map.shift_remove("volumeName");
                }
            }
            spec
        };
        let mut new_spec = strip(object);
        let old_spec = strip(old);
        // Binding fills in volumeName; a client that never set it may omit it.
        if let (Some(map), Some(name)) = (new_spec.as_object_mut(), old.pointer("/spec/volumeName"))
            && !map.contains_key("volumeName")
            && old_spec.get("volumeName").is_some()
        {
            map.insert("volumeName".into(), name.clone());
        }
        if old_spec != new_spec {
            causes.push(FieldCause::forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            ));
        }
    }
    causes
}

/// A new Pod: admission defaults and a `Pending` status with its QoS class.
pub fn init_pod(object: &mut Value) {
    if let Some(spec) = object.get_mut("spec") {
        pod::default_pod_only(spec);
    }
    let qos = qos_class(object.get("spec").unwrap_or(&Value::Null));
    object["status"] = json!({"phase": "Pending", "qosClass": qos});
}

fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = spec
        .get("containers")
        .and_then(Value::as_array)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let any = containers.iter().any(|c| {
        c.pointer("/resources/requests")
            .is_some_and(|r| r.as_object().is_some_and(|m| !m.is_empty()))
            || c.pointer("/resources/limits")
                .is_some_and(|r| r.as_object().is_some_and(|m| !m.is_empty()))
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = c.pointer("/resources/limits");
        ["cpu", "memory"].iter().all(|r| {
            let limit = limits.and_then(|l| l.get(*r));
            let request = c.pointer(&format!("/resources/requests/{r}")).or(limit);
            limit.is_some() && request == limit
        })
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}

/// Endpoints defaults: port protocols.
pub fn default_endpoints(object: &mut Value) {
    if let Some(subsets) = object.get_mut("subsets").and_then(Value::as_array_mut) {
        for subset in subsets.iter_mut() {
            if let Some(ports) = subset.get_mut("ports").and_then(Value::as_array_mut) {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    default_field(port, "protocol", json!("TCP"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_get_defaults_and_an_allocated_cluster_ip() {
        let mut svc = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
            "ports": [{"port": 80}]}});
        default_service(&mut svc);
        let mut allocator = Allocator::default();
        allocate_service(&mut allocator, &mut svc, None, true);
        assert_eq!(svc["spec"]["type"], "ClusterIP");
        assert_eq!(svc["status"], json!({"loadBalancer": {}}), "as a real server answers");
        assert_eq!(
            svc["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(svc["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(svc["spec"]["clusterIPs"], json!(["10.96.0.10"]));
        let mut changed = svc.clone();
        changed["spec"]["clusterIPs"] = json!(["10.96.0.99"]);
        let causes = validate_service(&changed, Some(&svc));
        assert_eq!(causes[0].field, "spec.clusterIPs[0]");
        assert!(causes[0].message.ends_with("may not change once set"));
    }

    #[test]
    fn string_data_is_encoded_into_data() {
        let mut secret =
            json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}, "data": {"a": "Yg=="}});
        default_secret(&mut secret);
        assert_eq!(secret["type"], "Opaque");
        assert_eq!(secret["data"], json!({"a": "Yg==", "password": "aHVudGVyMg=="}));
        assert!(secret.get("stringData").is_none());
        assert!(validate_secret(&secret, None).is_empty());
    }

    #[test]
    fn invalid_secret_values_are_reported_without_their_content() {
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "not base64!"}});
        let causes = validate_secret(&secret, None);
        assert_eq!(causes.len(), 1);
        assert!(!causes[0].message.contains("not base64"), "{}", causes[0].message);
    }
}
