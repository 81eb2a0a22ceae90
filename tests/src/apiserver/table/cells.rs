//! Cells of the built-in printers with more than a field lookup per column: Services (addresses
//! and ports), Pods (readiness and status) and Jobs (status, completions, duration).

use serde_json::{Value, json};

use super::printers::{containers_and_images, int, label_map, or_none, selector, text};
use crate::apiserver::meta;

pub(super) fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let service_type = text(o, "/spec/type");
    let external = match service_type.as_str() {
        "ExternalName" => text(o, "/spec/externalName"),
        "LoadBalancer" => {
            let ips: Vec<String> = o
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
            if ips.is_empty() {
                "<pending>".into()
            } else {
                ips.join(",")
            }
        }
        _ => {
            let ips: Vec<&str> = o
                .pointer("/spec/externalIPs")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            or_none(ips.join(","))
        }
    };
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(node) => format!("{port}:{node}/{protocol}"),
                None => format!("{port}/{protocol}"),
            }
        })
        .collect();
    vec![
        name,
        json!(service_type),
        json!(or_none(text(o, "/spec/clusterIP"))),
        json!(external),
        json!(or_none(ports.join(","))),
        age,
        json!(label_map(o.pointer("/spec/selector"))),
    ]
}

pub(super) fn pod_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let statuses = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = statuses.iter().filter(|s| s.get("ready") == Some(&json!(true))).count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|s| s.get("restartCount").and_then(Value::as_i64))
        .sum();
    let mut phase = text(o, "/status/phase");
    for status in &statuses {
        if let Some(reason) = status.pointer("/state/waiting/reason").and_then(Value::as_str) {
            phase = reason.to_string();
        }
    }
    if meta::is_terminating(o) {
        phase = "Terminating".into();
    }
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(phase),
        json!(restarts.to_string()),
        age,
        json!(or_none(text(o, "/status/podIP"))),
        json!(or_none(text(o, "/spec/nodeName"))),
        json!(or_none(text(o, "/status/nominatedNodeName"))),
        json!("<none>"),
    ]
}

pub(super) fn job_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (containers, images) = containers_and_images(o.pointer("/spec/template/spec"));
    let conditions = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has = |kind: &str| {
        conditions
            .iter()
            .any(|c| c.get("type") == Some(&json!(kind)) && c.get("status") == Some(&json!("True")))
    };
    let status = if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if has("Suspended") || o.pointer("/spec/suspend") == Some(&json!(true)) {
        "Suspended"
    } else if meta::is_terminating(o) {
        "Terminating"
    } else {
        "Running"
    };
    let start = o
        .pointer("/status/startTime")
        .and_then(Value::as_str)
        .and_then(meta::parse_time);
    let end = o
        .pointer("/status/completionTime")
        .and_then(Value::as_str)
        .and_then(meta::parse_time)
        .unwrap_or_else(chrono::Utc::now);
    let duration = start.map(|s| super::human_duration(end - s)).unwrap_or_default();
    let completions = match o.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(n) => format!("{}/{n}", int(o, "/status/succeeded")),
        None => format!("{}/1 of {}", int(o, "/status/succeeded"), int(o, "/spec/parallelism")),
    };
    vec![
        name,
        json!(status),
        json!(completions),
        json!(duration),
        age,
        json!(containers),
        json!(images),
        json!(selector(o.pointer("/spec/selector"))),
    ]
}
