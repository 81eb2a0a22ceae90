//! Pod specs, shared by Pods and every pod template: the defaults kube-apiserver fills in and the
//! validation errors it answers (containers, ports, volumes, mounts, restart and DNS policies).

use serde_json::{Map, Value, json};

use crate::apiserver::errors::FieldCause;
use crate::apiserver::meta::{self, default_field};

/// Defaults of a pod spec (Pod or template).
pub fn default_pod_spec(spec: &mut Value) {
    let Some(map) = spec.as_object_mut() else { return };
    default_field(map, "restartPolicy", json!("Always"));
    default_field(map, "terminationGracePeriodSeconds", json!(30));
    default_field(map, "dnsPolicy", json!("ClusterFirst"));
    default_field(map, "securityContext", json!({}));
    default_field(map, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        if let Some(containers) = map.get_mut(list).and_then(Value::as_array_mut) {
            for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                default_container(container);
            }
        }
    }
    if let Some(volumes) = map.get_mut("volumes").and_then(Value::as_array_mut) {
        for volume in volumes.iter_mut().filter_map(Value::as_object_mut) {
            for source in ["configMap", "secret", "projected", "downwardAPI"] {
                if let Some(source) = volume.get_mut(source).and_then(Value::as_object_mut) {
                    default_field(source, "defaultMode", json!(420));
                }
            }
            if let Some(host_path) = volume.get_mut("hostPath").and_then(Value::as_object_mut) {
                default_field(host_path, "type", json!(""));
            }
        }
    }
}

/// Defaults only a Pod (not a template) gets from admission: service account, priority, tolerations.
pub fn default_pod_only(spec: &mut Value) {
    let Some(map) = spec.as_object_mut() else { return };
    default_field(map, "enableServiceLinks", json!(true));
    default_field(map, "serviceAccountName", json!("default"));
    let account = map.get("serviceAccountName").cloned().unwrap_or(json!("default"));
    default_field(map, "serviceAccount", account);
    default_field(map, "priority", json!(0));
    default_field(map, "preemptionPolicy", json!("PreemptLowerPriority"));
    if !map.contains_key("tolerations") {
        map.insert(
            "tolerations".into(),
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ]),
        );
    }
}

fn default_container(container: &mut Map<String, Value>) {
    default_field(container, "terminationMessagePath", json!("/dev/termination-log"));
    default_field(container, "terminationMessagePolicy", json!("File"));
    let image = container.get("image").and_then(Value::as_str).unwrap_or("").to_string();
    default_field(container, "imagePullPolicy", json!(default_pull_policy(&image)));
    default_field(container, "resources", json!({}));
    if let Some(ports) = container.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            default_field(port, "protocol", json!("TCP"));
        }
    }
    if let Some(env) = container.get_mut("env").and_then(Value::as_array_mut) {
        for var in env.iter_mut() {
            if let Some(field_ref) = var.pointer_mut("/valueFrom/fieldRef").and_then(Value::as_object_mut) {
                default_field(field_ref, "apiVersion", json!("v1"));
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = container.get_mut(probe).and_then(Value::as_object_mut) {
            default_field(probe, "timeoutSeconds", json!(1));
            default_field(probe, "periodSeconds", json!(10));
            default_field(probe, "successThreshold", json!(1));
            default_field(probe, "failureThreshold", json!(3));
            if let Some(http) = probe.get_mut("httpGet").and_then(Value::as_object_mut) {
                default_field(http, "scheme", json!("HTTP"));
            }
        }
    }
    if let Some(lifecycle) = container.get_mut("lifecycle").and_then(Value::as_object_mut) {
        for hook in ["postStart", "preStop"] {
            if let Some(http) = lifecycle
                .get_mut(hook)
                .and_then(|h| h.get_mut("httpGet"))
                .and_then(Value::as_object_mut)
            {
                default_field(http, "scheme", json!("HTTP"));
            }
        }
    }
}

/// `Always` for untagged or `:latest` images, `IfNotPresent` otherwise (digests count as tagged).
pub fn default_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// Defaults of a pod template (`spec.template`): the spec, and `metadata.creationTimestamp: null`
/// as the real server writes it.
pub fn default_template(template: &mut Value) {
    if !template.is_object() {
        return;
    }
    let metadata = meta::ensure_map(template, &["metadata"]);
    if !metadata.contains_key("creationTimestamp") {
        metadata.insert("creationTimestamp".into(), Value::Null);
    }
    if let Some(spec) = template.get_mut("spec") {
        default_pod_spec(spec);
    }
}

/// Validation of a Pod.
pub fn validate_pod(object: &Value) -> Vec<FieldCause> {
    match object.get("spec") {
        Some(spec) => validate_pod_spec(spec, "spec"),
        None => vec![FieldCause::required("spec.containers")],
    }
}

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// Validation of a pod spec at `path` (`spec`, `spec.template.spec`).
pub fn validate_pod_spec(spec: &Value, path: &str) -> Vec<FieldCause> {
    validate_pod_spec_with_claims(spec, path, &[])
}

/// [`validate_pod_spec`] for a StatefulSet's template, whose containers may also mount the
/// volumes its `volumeClaimTemplates` create (`claims` are their names).
pub fn validate_pod_spec_with_claims(spec: &Value, path: &str, claims: &[&str]) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let mut volume_names: Vec<&str> = claims.to_vec();
    for (i, volume) in array(spec, "volumes").iter().enumerate() {
        let field = format!("{path}.volumes[{i}].name");
        match volume.get("name").and_then(Value::as_str) {
            None | Some("") => causes.push(FieldCause::required(field)),
            Some(name) => {
                for err in meta::dns1123_label_errors(name) {
                    causes.push(FieldCause::invalid(&field, &json!(name), &err));
                }
                if volume_names.contains(&name) {
                    causes.push(FieldCause::duplicate(field, &json!(name)));
                }
                volume_names.push(name);
            }
        }
    }
    let containers = array(spec, "containers");
    if containers.is_empty() {
        causes.push(FieldCause::required(format!("{path}.containers")));
    }
    let mut names = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, container) in array(spec, list).iter().enumerate() {
            validate_container(
                container,
                &format!("{path}.{list}[{i}]"),
                &volume_names,
                &mut names,
                &mut causes,
            );
        }
    }
    if let Some(policy) = spec.get("restartPolicy")
        && !matches!(policy.as_str(), Some("Always" | "OnFailure" | "Never"))
    {
        causes.push(FieldCause::not_supported(
            format!("{path}.restartPolicy"),
            policy,
            &["Always", "OnFailure", "Never"],
        ));
    }
    if let Some(policy) = spec.get("dnsPolicy")
        && !matches!(
            policy.as_str(),
            Some("ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None")
        )
    {
        causes.push(FieldCause::not_supported(
            format!("{path}.dnsPolicy"),
            policy,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ));
    }
    causes
}

fn validate_container<'a>(
    container: &'a Value,
    path: &str,
    volumes: &[&str],
    names: &mut Vec<&'a str>,
    causes: &mut Vec<FieldCause>,
) {
    match container.get("name").and_then(Value::as_str) {
        None | Some("") => causes.push(FieldCause::required(format!("{path}.name"))),
        Some(name) => {
            for err in meta::dns1123_label_errors(name) {
                causes.push(FieldCause::invalid(format!("{path}.name"), &json!(name), &err));
            }
            if names.contains(&name) {
                causes.push(FieldCause::duplicate(format!("{path}.name"), &json!(name)));
            }
            names.push(name);
        }
    }
    if container
        .get("image")
        .and_then(Value::as_str)
        .is_none_or(|i| i.trim().is_empty())
    {
        causes.push(FieldCause::required(format!("{path}.image")));
    }
    let mut port_names = Vec::new();
    for (i, port) in array(container, "ports").iter().enumerate() {
        let field = format!("{path}.ports[{i}]");
        match port.get("containerPort").and_then(Value::as_i64) {
            None => causes.push(FieldCause::required(format!("{field}.containerPort"))),
            Some(p) if !(1..=65535).contains(&p) => causes.push(FieldCause::invalid(
                format!("{field}.containerPort"),
                &json!(p),
                "must be between 1 and 65535, inclusive",
            )),
            _ => {}
        }
        if let Some(name) = port.get("name").and_then(Value::as_str) {
            if port_names.contains(&name) {
                causes.push(FieldCause::duplicate(format!("{field}.name"), &json!(name)));
            }
            port_names.push(name);
        }
        if let Some(protocol) = port.get("protocol")
            && !protocol.as_str().is_some_and(|p| PROTOCOLS.contains(&p))
        {
            causes.push(FieldCause::not_supported(
                format!("{field}.protocol"),
                protocol,
                PROTOCOLS,
            ));
        }
    }
    for (i, var) in array(container, "env").iter().enumerate() {
        if var.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            causes.push(FieldCause::required(format!("{path}.env[{i}].name")));
        }
    }
    for (i, mount) in array(container, "volumeMounts").iter().enumerate() {
        let field = format!("{path}.volumeMounts[{i}]");
        match mount.get("name").and_then(Value::as_str) {
            None | Some("") => causes.push(FieldCause::required(format!("{field}.name"))),
            Some(name) if !volumes.contains(&name) => causes.push(FieldCause {
                reason: "FieldValueNotFound",
                field: format!("{field}.name"),
                message: format!("Not found: {name:?}"),
            }),
            _ => {}
        }
        if mount.get("mountPath").and_then(Value::as_str).is_none_or(str::is_empty) {
            causes.push(FieldCause::required(format!("{field}.mountPath")));
        }
    }
}

fn array<'a>(value: &'a Value, field: &str) -> &'a [Value] {
    value
        .get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_get_the_real_servers_defaults() {
        let mut spec = json!({"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}],
            "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}],
            "volumes": [{"name": "cfg", "configMap": {"name": "c"}}]});
        default_pod_spec(&mut spec);
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTP");
        assert_eq!(c["readinessProbe"]["periodSeconds"], 10);
        assert_eq!(spec["volumes"][0]["configMap"]["defaultMode"], 420);
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    }

    #[test]
    fn pull_policy_depends_on_the_tag() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(default_pull_policy("registry:5000/nginx"), "Always");
        assert_eq!(default_pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn missing_names_images_and_volumes_are_reported_with_their_paths() {
        let spec = json!({"containers": [{"image": ""}, {"name": "b", "image": "x",
            "volumeMounts": [{"name": "missing", "mountPath": "/m"}]}]});
        let fields: Vec<String> = validate_pod_spec(&spec, "spec.template.spec")
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert!(
            fields.contains(&"spec.template.spec.containers[0].name: Required value".to_string()),
            "{fields:?}"
        );
        assert!(fields.contains(&"spec.template.spec.containers[0].image: Required value".to_string()));
        assert!(
            fields
                .contains(&"spec.template.spec.containers[1].volumeMounts[0].name: Not found: \"missing\"".to_string())
        );
    }

    #[test]
    fn statefulset_templates_may_mount_their_claim_templates() {
        let spec = json!({"containers": [{"name": "redis", "image": "redis",
            "volumeMounts": [{"name": "redis-data", "mountPath": "/data"}]}]});
        assert!(validate_pod_spec_with_claims(&spec, "spec.template.spec", &["redis-data"]).is_empty());
        assert_eq!(validate_pod_spec(&spec, "spec.template.spec").len(), 1);
    }
}
