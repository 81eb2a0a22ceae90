//! Fixes applied to every object right before a server-side apply (Kluctl's `FixObjectForPatch`).
//!
//! Input: a rendered object. Output: a copy the API server's server-side apply accepts without
//! spurious conflicts or errors:
//! - container and Service ports without `protocol` get `TCP`: the protocol is part of the list
//!   key of ports, and applying a port without it conflicts with the defaulted live port;
//! - numeric `cpu` quantities in container resources and LimitRange defaults become strings
//!   (kubernetes/kubernetes#94275: a number there is rejected or diffs forever).
//!
//! Kluctl fixes `spec.template.spec.containers`, `spec.ports` and `spec.limits`; we also fix
//! init containers, Pods and CronJobs, which have the same problem.

use serde_json::Value;

/// Returns the object with the fixes of the module docs applied.
pub fn fix_object_for_apply(object: &Value) -> Value {
    let mut o = object.clone();
    for pod_spec in ["/spec/template/spec", "/spec/jobTemplate/spec/template/spec", "/spec"] {
        let is_pod_spec = pod_spec != "/spec" || o.get("kind").and_then(Value::as_str) == Some("Pod");
        if !is_pod_spec {
            continue;
        }
        for list in ["containers", "initContainers"] {
            if let Some(Value::Array(containers)) = o.pointer_mut(&format!("{pod_spec}/{list}")) {
                for container in containers {
                    fix_ports(container.get_mut("ports"));
                    for part in ["limits", "requests"] {
                        fix_cpu(container.pointer_mut(&format!("/resources/{part}")));
                    }
                }
            }
        }
    }
    if o.get("kind").and_then(Value::as_str) == Some("Service") {
        fix_ports(o.pointer_mut("/spec/ports"));
    }
    if let Some(Value::Array(limits)) = o.pointer_mut("/spec/limits") {
        for limit in limits {
            for part in ["default", "defaultRequest"] {
                fix_cpu(limit.get_mut(part));
            }
        }
    }
    o
}

fn fix_ports(ports: Option<&mut Value>) {
    if let Some(Value::Array(ports)) = ports {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            port.entry("protocol")
                .or_insert_with(|| Value::String("TCP".to_string()));
        }
    }
}

fn fix_cpu(resources: Option<&mut Value>) {
    if let Some(cpu) = resources.and_then(|r| r.get_mut("cpu"))
        && let Value::Number(n) = cpu
    {
        // Go's %v: integral floats print without a fraction.
        let text = match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 => format!("{}", f as i64),
            _ => n.to_string(),
        };
        *cpu = Value::String(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixes_ports_and_cpu_quantities_of_workloads() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": 0.5}}}],
            "containers": [{"name": "c", "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                "resources": {"limits": {"cpu": 2, "memory": "1Gi"}, "requests": {"cpu": 1.0}}}]}}}});
        let f = fix_object_for_apply(&d);
        let c = &f["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}])
        );
        assert_eq!(
            c["resources"],
            json!({"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "1"}})
        );
        assert_eq!(
            f["spec"]["template"]["spec"]["initContainers"][0]["resources"]["requests"]["cpu"],
            json!("0.5")
        );
    }

    #[test]
    fn fixes_services_pods_cronjobs_and_limit_ranges_and_leaves_others() {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80}]}});
        assert_eq!(fix_object_for_apply(&svc)["spec"]["ports"][0]["protocol"], json!("TCP"));
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 1}]}]}});
        assert_eq!(
            fix_object_for_apply(&pod)["spec"]["containers"][0]["ports"][0]["protocol"],
            json!("TCP")
        );
        let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "resources": {"limits": {"cpu": 1}}}]}}}}}});
        assert_eq!(
            fix_object_for_apply(&cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]
                ["limits"]["cpu"],
            json!("1")
        );
        let lr = json!({"apiVersion": "v1", "kind": "LimitRange", "spec": {"limits": [{"type": "Container", "default": {"cpu": 1}, "defaultRequest": {"cpu": 0.25}}]}});
        let f = fix_object_for_apply(&lr);
        assert_eq!(
            (
                f["spec"]["limits"][0]["default"]["cpu"].clone(),
                f["spec"]["limits"][0]["defaultRequest"]["cpu"].clone()
            ),
            (json!("1"), json!("0.25"))
        );
        // A ConfigMap whose data happens to be shaped like a pod spec is not touched.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "spec": {"containers": [{"ports": [{"containerPort": 1}]}]}});
        assert_eq!(fix_object_for_apply(&cm), cm);
    }
}
