//! What a fresh cluster holds before anyone writes: the `default`, `kube-system`, `kube-public` and
//! `kube-node-lease` namespaces, the `default/kubernetes` Service, and the bootstrap RBAC policy.

use serde_json::json;

use crate::apiserver::auth::rbac::bootstrap_policy;
use crate::apiserver::errors::ApiError;
use crate::apiserver::ops::{self, WriteOptions};
use crate::apiserver::state::ApiState;

/// Creates the bootstrap objects.
pub fn bootstrap(state: &ApiState) -> Result<(), ApiError> {
    let opts = WriteOptions::system("kube-apiserver");
    let create = |group: &str, version: &str, plural: &str, namespace: Option<&str>, object| {
        let info = state
            .registry
            .lookup(group, version, plural)
            .ok_or_else(|| ApiError::internal(format!("failed to find bootstrap resource {plural}")))?;
        ops::create(state, &info, version, namespace, object, &opts).map(|_| ())
    };
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        create(
            "",
            "v1",
            "namespaces",
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        )?;
    }
    create(
        "",
        "v1",
        "services",
        Some("default"),
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}),
    )?;
    for (plural, object) in bootstrap_policy() {
        create("rbac.authorization.k8s.io", "v1", plural, None, object)?;
    }
    Ok(())
}
