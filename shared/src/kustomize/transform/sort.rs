//! Output order: Kustomize's legacy kind order (`kubectl kustomize`'s default, or
//! `sortOptions.order: legacy` with optional custom first and last kinds), or declaration order.

use crate::kustomize::resid::ResId;
use crate::kustomize::resource::Resource;

/// Kinds that come first, in this order.
pub const DEFAULT_ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds that come last, in this order.
pub const DEFAULT_ORDER_LAST: &[&str] = &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

/// Sorts resources in the legacy order: by kind rank, then by group/version/kind text, then by
/// namespace and name.
pub fn legacy_sort(resources: &mut [Resource], first: &[String], last: &[String]) {
    let rank = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i as i64 - first.len() as i64;
        }
        if let Some(i) = last.iter().position(|k| k == kind) {
            return i as i64 + 1;
        }
        0
    };
    resources.sort_by_cached_key(|r| {
        let id = r.cur_id();
        (rank(&id.gvk.kind), gvk_sort_text(&id), id_sort_text(&id))
    });
}

fn or<'a>(s: &'a str, none: &'a str) -> &'a str {
    if s.is_empty() { none } else { s }
}

fn gvk_sort_text(id: &ResId) -> String {
    format!(
        "{}_{}_{}",
        or(&id.gvk.group, "~G"),
        or(&id.gvk.version, "~V"),
        or(&id.gvk.kind, "~K")
    )
}

fn id_sort_text(id: &ResId) -> String {
    format!("{}|{}|{}", id.gvk, or(&id.namespace, "~X"), or(&id.name, "~N"))
}

/// The default lists as owned strings.
pub fn default_lists() -> (Vec<String>, Vec<String>) {
    (
        DEFAULT_ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
        DEFAULT_ORDER_LAST.iter().map(|s| s.to_string()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(api: &str, kind: &str, name: &str, ns: &str) -> Resource {
        Resource::new(json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}}))
    }

    #[test]
    fn orders_by_kind_then_group_then_name() {
        let mut list = vec![
            r(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "v",
                "",
            ),
            r("v1", "Pod", "p", ""),
            r("apps/v1", "Foo", "f", ""),
            r("apps/v1", "Deployment", "b", ""),
            r("apps/v1", "Deployment", "a", "z"),
            r("v1", "Namespace", "n", ""),
        ];
        let (first, last) = default_lists();
        legacy_sort(&mut list, &first, &last);
        let names: Vec<&str> = list.iter().map(|r| r.name()).collect();
        assert_eq!(names, vec!["n", "a", "b", "f", "p", "v"]);
    }
}
