//! Built-in printers: the columns and cells kube-apiserver's table convertors produce for the kinds a
//! deployment tool meets (what `kubectl get` and `kubectl get -o wide` show).

use serde_json::{Value, json};

use super::{Column, age};
use crate::apiserver::meta;
use crate::apiserver::selectors::LabelSelector;

fn cols(spec: &[(&str, &str, i64)]) -> Vec<Column> {
    spec.iter().map(|(n, t, p)| Column::new(n, t, *p)).collect()
}

/// Columns of a built-in kind, `None` for kinds printed as Name / Created At.
#[allow(non_upper_case_globals)] // one-letter names keep the column tables readable
pub fn columns(group: &str, kind: &str) -> Option<Vec<Column>> {
    const s: &str = "string";
    const i: &str = "integer";
    Some(cols(match (group, kind) {
        ("", "Namespace") => &[("Name", s, 0), ("Status", s, 0), ("Age", s, 0)],
        ("", "ConfigMap") => &[("Name", s, 0), ("Data", i, 0), ("Age", s, 0)],
        ("", "Secret") => &[("Name", s, 0), ("Type", s, 0), ("Data", i, 0), ("Age", s, 0)],
        ("", "Service") => &[
            ("Name", s, 0),
            ("Type", s, 0),
            ("Cluster-IP", s, 0),
            ("External-IP", s, 0),
            ("Port(s)", s, 0),
            ("Age", s, 0),
            ("Selector", s, 1),
        ],
        ("", "ServiceAccount") => &[("Name", s, 0), ("Secrets", i, 0), ("Age", s, 0)],
        ("", "Pod") => &[
            ("Name", s, 0),
            ("Ready", s, 0),
            ("Status", s, 0),
            ("Restarts", s, 0),
            ("Age", s, 0),
            ("IP", s, 1),
            ("Node", s, 1),
            ("Nominated Node", s, 1),
            ("Readiness Gates", s, 1),
        ],
        ("", "PersistentVolumeClaim") => &[
            ("Name", s, 0),
            ("Status", s, 0),
            ("Volume", s, 0),
            ("Capacity", s, 0),
            ("Access Modes", s, 0),
            ("StorageClass", s, 0),
            ("VolumeAttributesClass", s, 0),
            ("Age", s, 0),
            ("VolumeMode", s, 1),
        ],
        ("", "Endpoints") => &[("Name", s, 0), ("Endpoints", s, 0), ("Age", s, 0)],
        ("", "Event") => &[
            ("Last Seen", s, 0),
            ("Type", s, 0),
            ("Reason", s, 0),
            ("Object", s, 0),
            ("Message", s, 0),
        ],
        ("apps", "Deployment") => &[
            ("Name", s, 0),
            ("Ready", s, 0),
            ("Up-to-date", i, 0),
            ("Available", i, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
            ("Selector", s, 1),
        ],
        ("apps", "StatefulSet") => &[
            ("Name", s, 0),
            ("Ready", s, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
        ],
        ("apps", "DaemonSet") => &[
            ("Name", s, 0),
            ("Desired", i, 0),
            ("Current", i, 0),
            ("Ready", i, 0),
            ("Up-to-date", i, 0),
            ("Available", i, 0),
            ("Node Selector", s, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
            ("Selector", s, 1),
        ],
        ("apps", "ReplicaSet") => &[
            ("Name", s, 0),
            ("Desired", i, 0),
            ("Current", i, 0),
            ("Ready", i, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
            ("Selector", s, 1),
        ],
        ("batch", "Job") => &[
            ("Name", s, 0),
            ("Status", s, 0),
            ("Completions", s, 0),
            ("Duration", s, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
            ("Selector", s, 1),
        ],
        ("batch", "CronJob") => &[
            ("Name", s, 0),
            ("Schedule", s, 0),
            ("Timezone", s, 0),
            ("Suspend", "boolean", 0),
            ("Active", i, 0),
            ("Last Schedule", s, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
            ("Selector", s, 1),
        ],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => &[
            ("Name", s, 0),
            ("Role", s, 0),
            ("Age", s, 0),
            ("Users", s, 1),
            ("Groups", s, 1),
            ("ServiceAccounts", s, 1),
        ],
        ("networking.k8s.io", "Ingress") => &[
            ("Name", s, 0),
            ("Class", s, 0),
            ("Hosts", s, 0),
            ("Address", s, 0),
            ("Ports", s, 0),
            ("Age", s, 0),
        ],
        ("networking.k8s.io", "NetworkPolicy") => &[("Name", s, 0), ("Pod-Selector", s, 0), ("Age", s, 0)],
        ("policy", "PodDisruptionBudget") => &[
            ("Name", s, 0),
            ("Min Available", s, 0),
            ("Max Unavailable", s, 0),
            ("Allowed Disruptions", i, 0),
            ("Age", s, 0),
        ],
        ("autoscaling", "HorizontalPodAutoscaler") => &[
            ("Name", s, 0),
            ("Reference", s, 0),
            ("Targets", s, 0),
            ("MinPods", s, 0),
            ("MaxPods", i, 0),
            ("Replicas", i, 0),
            ("Age", s, 0),
        ],
        ("coordination.k8s.io", "Lease") => &[("Name", s, 0), ("Holder", s, 0), ("Age", s, 0)],
        ("storage.k8s.io", "StorageClass") => &[
            ("Name", s, 0),
            ("Provisioner", s, 0),
            ("ReclaimPolicy", s, 0),
            ("VolumeBindingMode", s, 0),
            ("AllowVolumeExpansion", s, 0),
            ("Age", s, 0),
        ],
        _ => return None,
    }))
}

pub(super) fn text(object: &Value, pointer: &str) -> String {
    match object.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub(super) fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub(super) fn or_none(text: String) -> String {
    if text.is_empty() { "<none>".into() } else { text }
}

pub(super) fn label_map(value: Option<&Value>) -> String {
    let mut pairs: Vec<String> = value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    or_none(pairs.join(","))
}

pub(super) fn selector(value: Option<&Value>) -> String {
    match value.map(LabelSelector::from_object) {
        Some(Ok(sel)) if !sel.is_empty() => sel.to_query(),
        _ => "<none>".into(),
    }
}

pub(super) fn containers_and_images(template_spec: Option<&Value>) -> (String, String) {
    let containers = template_spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = containers
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let images: Vec<&str> = containers
        .iter()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .collect();
    (names.join(","), images.join(","))
}

fn count(object: &Value, fields: &[&str]) -> i64 {
    fields
        .iter()
        .map(|f| object.get(*f).and_then(Value::as_object).map_or(0, |m| m.len() as i64))
        .sum()
}

/// Cells of a built-in kind's row, `None` for kinds without a printer.
pub fn cells(group: &str, kind: &str, o: &Value) -> Option<Vec<Value>> {
    let name = json!(meta::meta_str(o, "name"));
    let age = json!(age(o));
    Some(match (group, kind) {
        ("", "Namespace") => vec![name, json!(text(o, "/status/phase")), age],
        ("", "ConfigMap") => vec![name, json!(count(o, &["data", "binaryData"])), age],
        ("", "Secret") => vec![name, json!(text(o, "/type")), json!(count(o, &["data"])), age],
        ("", "Service") => super::cells::service_cells(o, name, age),
        ("", "ServiceAccount") => vec![
            name,
            json!(o.get("secrets").and_then(Value::as_array).map_or(0, Vec::len)),
            age,
        ],
        ("", "Pod") => super::cells::pod_cells(o, name, age),
        ("", "PersistentVolumeClaim") => {
            let modes: Vec<&str> = o
                .pointer("/status/accessModes")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .filter_map(Value::as_str)
                        .map(|mode| match mode {
                            "ReadWriteOnce" => "RWO",
                            "ReadOnlyMany" => "ROX",
                            "ReadWriteMany" => "RWX",
                            "ReadWriteOncePod" => "RWOP",
                            other => other,
                        })
                        .collect()
                })
                .unwrap_or_default();
            vec![
                name,
                json!(text(o, "/status/phase")),
                json!(text(o, "/spec/volumeName")),
                json!(text(o, "/status/capacity/storage")),
                json!(modes.join(",")),
                json!(or_none(text(o, "/spec/storageClassName"))),
                json!(or_none(text(o, "/spec/volumeAttributesClassName"))),
                age,
                json!(text(o, "/spec/volumeMode")),
            ]
        }
        ("", "Endpoints") => {
            let mut endpoints = Vec::new();
            for subset in o.get("subsets").and_then(Value::as_array).into_iter().flatten() {
                let ports: Vec<i64> = subset
                    .get("ports")
                    .and_then(Value::as_array)
                    .map(|p| p.iter().filter_map(|p| p.get("port").and_then(Value::as_i64)).collect())
                    .unwrap_or_default();
                for address in subset.get("addresses").and_then(Value::as_array).into_iter().flatten() {
                    let ip = address.get("ip").and_then(Value::as_str).unwrap_or("");
                    if ports.is_empty() {
                        endpoints.push(ip.to_string());
                    }
                    for port in &ports {
                        endpoints.push(format!("{ip}:{port}"));
                    }
                }
            }
            vec![name, json!(or_none(endpoints.join(","))), age]
        }
        ("", "Event") => {
            let last = o
                .get("lastTimestamp")
                .and_then(Value::as_str)
                .or_else(|| o.get("eventTime").and_then(Value::as_str))
                .and_then(meta::parse_time)
                .map(|t| super::human_duration(chrono::Utc::now() - t))
                .unwrap_or_else(|| "<unknown>".into());
            let object = format!(
                "{}/{}",
                text(o, "/involvedObject/kind").to_lowercase(),
                text(o, "/involvedObject/name")
            );
            vec![
                json!(last),
                json!(text(o, "/type")),
                json!(text(o, "/reason")),
                json!(object),
                json!(text(o, "/message")),
            ]
        }
        ("apps", "Deployment") => {
            let (containers, images) = containers_and_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(o, "/status/readyReplicas"),
                    int(o, "/spec/replicas")
                )),
                json!(int(o, "/status/updatedReplicas")),
                json!(int(o, "/status/availableReplicas")),
                age,
                json!(containers),
                json!(images),
                json!(selector(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "StatefulSet") => {
            let (containers, images) = containers_and_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(o, "/status/readyReplicas"),
                    int(o, "/spec/replicas")
                )),
                age,
                json!(containers),
                json!(images),
            ]
        }
        ("apps", "DaemonSet") => {
            let (containers, images) = containers_and_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(int(o, "/status/desiredNumberScheduled")),
                json!(int(o, "/status/currentNumberScheduled")),
                json!(int(o, "/status/numberReady")),
                json!(int(o, "/status/updatedNumberScheduled")),
                json!(int(o, "/status/numberAvailable")),
                json!(label_map(o.pointer("/spec/template/spec/nodeSelector"))),
                age,
                json!(containers),
                json!(images),
                json!(selector(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "ReplicaSet") => {
            let (containers, images) = containers_and_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(int(o, "/spec/replicas")),
                json!(int(o, "/status/replicas")),
                json!(int(o, "/status/readyReplicas")),
                age,
                json!(containers),
                json!(images),
                json!(selector(o.pointer("/spec/selector"))),
            ]
        }
        ("batch", "Job") => super::cells::job_cells(o, name, age),
        ("batch", "CronJob") => {
            let (containers, images) = containers_and_images(o.pointer("/spec/jobTemplate/spec/template/spec"));
            let last = o
                .pointer("/status/lastScheduleTime")
                .and_then(Value::as_str)
                .and_then(meta::parse_time)
                .map(|t| super::human_duration(chrono::Utc::now() - t))
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                json!(text(o, "/spec/schedule")),
                json!(or_none(text(o, "/spec/timeZone"))),
                json!(o.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false)),
                json!(
                    o.pointer("/status/active")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len)
                ),
                json!(last),
                age,
                json!(containers),
                json!(images),
                json!(selector(o.pointer("/spec/jobTemplate/spec/selector"))),
            ]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            let subjects = |kind: &str| -> String {
                let names: Vec<String> = o
                    .get("subjects")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|s| s.get("kind").and_then(Value::as_str) == Some(kind))
                    .map(|s| {
                        let n = s.get("name").and_then(Value::as_str).unwrap_or("");
                        match s.get("namespace").and_then(Value::as_str) {
                            Some(ns) if kind == "ServiceAccount" => format!("{ns}/{n}"),
                            _ => n.to_string(),
                        }
                    })
                    .collect();
                names.join(", ")
            };
            vec![
                name,
                json!(format!("{}/{}", text(o, "/roleRef/kind"), text(o, "/roleRef/name"))),
                age,
                json!(subjects("User")),
                json!(subjects("Group")),
                json!(subjects("ServiceAccount")),
            ]
        }
        ("networking.k8s.io", "Ingress") => {
            let hosts: Vec<String> = o
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("host").and_then(Value::as_str).map(str::to_string))
                .collect();
            let address: Vec<String> = o
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    i.get("ip")
                        .or(i.get("hostname"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect();
            let ports = if o
                .pointer("/spec/tls")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty())
            {
                "80, 443"
            } else {
                "80"
            };
            vec![
                name,
                json!(or_none(text(o, "/spec/ingressClassName"))),
                json!(if hosts.is_empty() {
                    "*".to_string()
                } else {
                    hosts.join(",")
                }),
                json!(address.join(",")),
                json!(ports),
                age,
            ]
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            vec![name, json!(selector(o.pointer("/spec/podSelector"))), age]
        }
        ("policy", "PodDisruptionBudget") => {
            let or_na = |s: String| if s.is_empty() { "N/A".to_string() } else { s };
            vec![
                name,
                json!(or_na(text(o, "/spec/minAvailable"))),
                json!(or_na(text(o, "/spec/maxUnavailable"))),
                json!(int(o, "/status/disruptionsAllowed")),
                age,
            ]
        }
        ("autoscaling", "HorizontalPodAutoscaler") => vec![
            name,
            json!(format!(
                "{}/{}",
                text(o, "/spec/scaleTargetRef/kind"),
                text(o, "/spec/scaleTargetRef/name")
            )),
            json!("<unknown>"),
            json!(or_none(text(o, "/spec/minReplicas"))),
            json!(int(o, "/spec/maxReplicas")),
            json!(int(o, "/status/currentReplicas")),
            age,
        ],
        ("coordination.k8s.io", "Lease") => vec![name, json!(text(o, "/spec/holderIdentity")), age],
        ("storage.k8s.io", "StorageClass") => vec![
            name,
            json!(text(o, "/provisioner")),
            json!(text(o, "/reclaimPolicy")),
            json!(text(o, "/volumeBindingMode")),
            json!(
                o.get("allowVolumeExpansion")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .to_string()
            ),
            age,
        ],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_show_ports_and_addresses_like_kubectl() {
        let svc = json!({"metadata": {"name": "web"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
            "ports": [{"port": 80, "nodePort": 30001, "protocol": "TCP"}], "selector": {"app": "web"}}});
        let cells = cells("", "Service", &svc).unwrap();
        assert_eq!(cells[1], "NodePort");
        assert_eq!(cells[2], "10.96.0.10");
        assert_eq!(cells[3], "<none>");
        assert_eq!(cells[4], "80:30001/TCP");
        assert_eq!(cells[6], "app=web");
    }

    #[test]
    fn jobs_report_their_condition_and_completions() {
        let job = json!({"metadata": {"name": "j"}, "spec": {"completions": 1},
            "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}});
        let cells = cells("batch", "Job", &job).unwrap();
        assert_eq!(cells[1], "Complete");
        assert_eq!(cells[2], "1/1");
    }
}
