//! Which live objects `prune` and `delete` remove, and in which order (Kluctl's
//! `delete_utils.go`, with `skip-delete-if-tags` as documented rather than as v2.28 does it).
//!
//! Input: the live objects listed with the target's discriminator, the inclusion filters and,
//! for `prune`, the rendered objects. Output: a [`DeleteSelection`] (what to delete, in order,
//! and what is kept because of a delete protection) and a [`DeletionPlan`] (namespaces first,
//! objects inside them left to the namespace deletion).
//!
//! An object is a candidate only if all of these hold:
//! - it carries `kluctl.io/discriminator` with exactly this target's discriminator (so two
//!   targets sharing a namespace never touch each other's objects); without a discriminator
//!   nothing is selected at all ([`RuleError::NoDiscriminator`]);
//! - its `kluctl.io/tag-N` labels and `kluctl.io/deployment-item-dir` pass the inclusion filters;
//! - its kind is known to the cluster (the caller's `scope` answers);
//! - kluctl manages it: `kluctl.io/force-managed: "true"`, or no `ownerReferences` and a
//!   `kluctl` entry in `metadata.managedFields`;
//! - for `prune`, it is not rendered (compared without version, with namespaces fixed).
//!
//! It is then kept, and reported, when `kluctl.io/skip-delete: "true"`,
//! `helm.sh/resource-policy: keep`, or `kluctl.io/skip-delete-if-tags: "true"` while tag filters
//! are in use.

use super::RuleError;
use super::inclusion::Inclusion;
use crate::diff::managed_fields::manager_names;
use crate::diff::rules::{annotation, bool_annotation};
use crate::objects::ObjectRef;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::fmt;

/// The label that ties objects to a target.
pub const DISCRIMINATOR_LABEL: &str = "kluctl.io/discriminator";

/// Why an orphan is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepReason {
    /// `kluctl.io/skip-delete: "true"`.
    SkipDelete,
    /// `helm.sh/resource-policy: keep` (also honoured when set on the live object only).
    HelmResourcePolicyKeep,
    /// `kluctl.io/skip-delete-if-tags: "true"` while tag filters are used.
    SkipDeleteIfTags,
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeepReason::SkipDelete => "kept because of kluctl.io/skip-delete",
            KeepReason::HelmResourcePolicyKeep => "kept because of helm.sh/resource-policy: keep",
            KeepReason::SkipDeleteIfTags => "kept because of kluctl.io/skip-delete-if-tags while tag filters are used",
        })
    }
}

/// An object that would be deleted but is protected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptObject {
    /// The object.
    pub object_ref: ObjectRef,
    /// Why it is kept.
    pub reason: KeepReason,
}

/// What `prune` or `delete` removes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteSelection {
    /// The objects to delete, in Kluctl's order: Namespaces; objects of the API groups
    /// `monitoring.coreos.com`, `kafka.strimzi.io`, `zookeeper.pravega.io`,
    /// `elasticsearch.k8s.elastic.co`, `cert-manager.io`, `bitnami.com`, `acid.zalan.do`;
    /// Deployments, StatefulSets, DaemonSets, Services, Ingresses; then the rest. Each group is
    /// sorted by ref.
    pub delete: Vec<ObjectRef>,
    /// Protected objects that would otherwise be deleted (show them in the preview).
    pub kept: Vec<KeptObject>,
}

/// The question asked.
#[derive(Clone, Copy, Debug)]
pub struct DeleteQuery<'a> {
    /// The target's discriminator.
    pub discriminator: &'a str,
    /// The CLI's or the agent's inclusion filters.
    pub inclusion: &'a Inclusion,
    /// `prune`: the rendered objects, which are not orphans. `delete`: `None`.
    pub rendered: Option<&'a [ObjectRef]>,
}

/// Whether kluctl may delete this object at all (see the module docs).
pub fn is_managed_by_kluctl(object: &Value) -> bool {
    if bool_annotation(object, "kluctl.io/force-managed", false) {
        return true;
    }
    let owned = object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| !refs.is_empty());
    !owned && manager_names(object).contains(&"kluctl")
}

/// The delete protection of an object, if any (also used before a forced replace).
pub fn delete_protection(object: &Value) -> Option<KeepReason> {
    if bool_annotation(object, "kluctl.io/skip-delete", false) {
        Some(KeepReason::SkipDelete)
    } else if annotation(object, "helm.sh/resource-policy") == Some("keep") {
        Some(KeepReason::HelmResourcePolicyKeep)
    } else {
        None
    }
}

/// Version-less identity with the namespace fixed for the object's scope.
type Key = (String, String, Option<String>, String);

fn exclusion_key(r: &ObjectRef, scope: &dyn Fn(&str, &str) -> Option<bool>) -> Key {
    let namespace = match scope(&r.group, &r.kind) {
        Some(true) => Some(r.namespace.clone().unwrap_or_else(|| "default".to_string())),
        Some(false) => None,
        None => r.namespace.clone(),
    };
    (r.group.clone(), r.kind.clone(), namespace, r.name.clone())
}

/// Selects the objects to delete (see the module docs). `scope(group, kind)` tells whether a
/// kind is namespaced (`Some(true)`), cluster-scoped (`Some(false)`), or unknown to the
/// cluster (`None`: such objects are skipped).
pub fn select_for_delete(
    remote: &[Value],
    query: &DeleteQuery<'_>,
    scope: &dyn Fn(&str, &str) -> Option<bool>,
) -> Result<DeleteSelection, RuleError> {
    if query.discriminator.trim().is_empty() {
        return Err(RuleError::NoDiscriminator);
    }
    let excluded: HashSet<Key> = query
        .rendered
        .into_iter()
        .flatten()
        .map(|r| exclusion_key(r, scope))
        .collect();
    let mut delete = BTreeSet::new();
    let mut kept = Vec::new();
    for object in remote {
        let Some(r) = ObjectRef::from_object(object) else {
            continue;
        };
        let discriminator = object
            .pointer("/metadata/labels")
            .and_then(|l| l.get(DISCRIMINATOR_LABEL))
            .and_then(Value::as_str);
        if discriminator != Some(query.discriminator)
            || !query.inclusion.is_object_included(object)
            || scope(&r.group, &r.kind).is_none()
            || !is_managed_by_kluctl(object)
            || excluded.contains(&exclusion_key(&r, scope))
        {
            continue;
        }
        let protection = delete_protection(object).or_else(|| {
            (query.inclusion.has_tag_filters() && bool_annotation(object, "kluctl.io/skip-delete-if-tags", false))
                .then_some(KeepReason::SkipDeleteIfTags)
        });
        match protection {
            Some(reason) => kept.push(KeptObject { object_ref: r, reason }),
            None => {
                delete.insert((delete_rank(&r), r.to_string(), r));
            }
        }
    }
    kept.sort_by_key(|k| k.object_ref.to_string());
    Ok(DeleteSelection {
        delete: delete.into_iter().map(|(_, _, r)| r).collect(),
        kept,
    })
}

const DELETE_FIRST_GROUPS: &[&str] = &[
    "monitoring.coreos.com",
    "kafka.strimzi.io",
    "zookeeper.pravega.io",
    "elasticsearch.k8s.elastic.co",
    "cert-manager.io",
    "bitnami.com",
    "acid.zalan.do",
];

const DELETE_EARLY_KINDS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "Service", "Ingress"];

fn delete_rank(r: &ObjectRef) -> u8 {
    if r.kind == "Namespace" {
        0
    } else if DELETE_FIRST_GROUPS.contains(&r.group.as_str()) {
        1
    } else if DELETE_EARLY_KINDS.contains(&r.kind.as_str()) {
        2
    } else {
        3
    }
}

/// How to execute a deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeletionPlan {
    /// Delete these first (in parallel), and wait for them unless `--no-wait`.
    pub namespaces: Vec<ObjectRef>,
    /// Then these (in parallel, background propagation).
    pub objects: Vec<ObjectRef>,
    /// Not deleted one by one: they go with their namespace (and are not reported deleted).
    pub in_deleted_namespaces: Vec<ObjectRef>,
}

/// Splits an ordered selection into namespaces, the rest, and what the namespaces take along.
pub fn plan_deletion(refs: &[ObjectRef]) -> DeletionPlan {
    let is_namespace = |r: &ObjectRef| r.group.is_empty() && r.kind == "Namespace";
    let names: HashSet<&str> = refs
        .iter()
        .filter(|r| is_namespace(r))
        .map(|r| r.name.as_str())
        .collect();
    let mut plan = DeletionPlan::default();
    for r in refs {
        if is_namespace(r) {
            plan.namespaces.push(r.clone());
        } else if r.namespace.as_deref().is_some_and(|ns| names.contains(ns)) {
            plan.in_deleted_namespaces.push(r.clone());
        } else {
            plan.objects.push(r.clone());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D: &str = "prod-apps";

    fn live(api_version: &str, kind: &str, ns: Option<&str>, name: &str, extra: Value) -> Value {
        let mut metadata = json!({"name": name,
            "labels": {DISCRIMINATOR_LABEL: D, "kluctl.io/tag-0": "apps"},
            "annotations": {"kluctl.io/deployment-item-dir": "apps"},
            "managedFields": [{"manager": "kluctl", "operation": "Apply", "fieldsV1": {"f:metadata": {}}}]});
        if let Some(ns) = ns {
            metadata["namespace"] = json!(ns);
        }
        let mut o = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata});
        merge(&mut o, extra);
        o
    }

    /// Deep-merges maps; anything else in `b` replaces `a`.
    fn merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn scope(group: &str, kind: &str) -> Option<bool> {
        match (group, kind) {
            ("", "Namespace") | ("rbac.authorization.k8s.io", "ClusterRole") => Some(false),
            ("example.com", "Gone") => None,
            _ => Some(true),
        }
    }

    fn names(refs: &[ObjectRef]) -> Vec<String> {
        refs.iter().map(ToString::to_string).collect()
    }

    fn select(remote: &[Value], inclusion: &Inclusion, rendered: Option<&[ObjectRef]>) -> DeleteSelection {
        select_for_delete(
            remote,
            &DeleteQuery {
                discriminator: D,
                inclusion,
                rendered,
            },
            &scope,
        )
        .unwrap()
    }

    #[test]
    fn prune_selects_unrendered_kluctl_managed_objects_of_this_target_only() {
        let remote = vec![
            live("v1", "ConfigMap", Some("prod"), "rendered", json!({})),
            live("v1", "ConfigMap", Some("prod"), "orphan", json!({})),
            live(
                "v1",
                "ConfigMap",
                Some("prod"),
                "other-target",
                json!({"metadata": {"labels": {DISCRIMINATOR_LABEL: "prod-db"}}}),
            ),
            live(
                "v1",
                "ConfigMap",
                Some("prod"),
                "owned",
                json!({"metadata": {"ownerReferences": [{"kind": "X", "name": "x", "uid": "1", "apiVersion": "v1"}]}}),
            ),
            live(
                "v1",
                "ConfigMap",
                Some("prod"),
                "by-kubectl",
                json!({"metadata": {"managedFields": [{"manager": "kubectl", "operation": "Apply"}]}}),
            ),
            live(
                "v1",
                "ConfigMap",
                Some("prod"),
                "forced",
                json!({"metadata": {"managedFields": [], "annotations": {"kluctl.io/force-managed": "true"}}}),
            ),
            live("example.com/v1", "Gone", Some("prod"), "undiscoverable", json!({})),
        ];
        // The rendered object was read with another version and had no namespace yet.
        let rendered = [ObjectRef {
            version: "v2".into(),
            namespace: Some("prod".into()),
            ..ObjectRef::from_object(&remote[0]).unwrap()
        }];
        let s = select(&remote, &Inclusion::default(), Some(&rendered));
        assert_eq!(names(&s.delete), vec!["prod/ConfigMap/forced", "prod/ConfigMap/orphan"]);
        assert!(s.kept.is_empty());
        // `delete` takes everything of the target, rendered or not.
        let s = select(&remote, &Inclusion::default(), None);
        assert_eq!(
            names(&s.delete),
            vec![
                "prod/ConfigMap/forced",
                "prod/ConfigMap/orphan",
                "prod/ConfigMap/rendered"
            ]
        );
    }

    #[test]
    fn rendered_objects_match_with_fixed_namespaces() {
        let remote = vec![
            live("v1", "ConfigMap", Some("default"), "cm", json!({})),
            live("rbac.authorization.k8s.io/v1", "ClusterRole", None, "role", json!({})),
        ];
        let rendered = [
            ObjectRef {
                kind: "ConfigMap".into(),
                version: "v1".into(),
                name: "cm".into(),
                ..Default::default()
            },
            ObjectRef {
                group: "rbac.authorization.k8s.io".into(),
                version: "v1".into(),
                kind: "ClusterRole".into(),
                namespace: Some("ignored".into()),
                name: "role".into(),
            },
        ];
        assert!(
            select(&remote, &Inclusion::default(), Some(&rendered))
                .delete
                .is_empty()
        );
    }

    #[test]
    fn protections_keep_objects_and_are_reported() {
        let remote = vec![
            live(
                "v1",
                "ConfigMap",
                Some("prod"),
                "skip",
                json!({"metadata": {"annotations": {"kluctl.io/skip-delete": "true"}}}),
            ),
            live(
                "v1",
                "ConfigMap",
                Some("prod"),
                "helm",
                json!({"metadata": {"annotations": {"helm.sh/resource-policy": "keep"}}}),
            ),
            live(
                "v1",
                "Namespace",
                None,
                "prod",
                json!({"metadata": {"annotations": {"kluctl.io/skip-delete-if-tags": "true"}}}),
            ),
        ];
        let s = select(&remote, &Inclusion::default(), None);
        assert_eq!(names(&s.delete), vec!["Namespace/prod"]);
        let kept: Vec<(String, KeepReason)> = s.kept.iter().map(|k| (k.object_ref.name.clone(), k.reason)).collect();
        assert_eq!(
            kept,
            vec![
                ("helm".into(), KeepReason::HelmResourcePolicyKeep),
                ("skip".into(), KeepReason::SkipDelete)
            ]
        );
        // With tag filters, skip-delete-if-tags protects (the documented behaviour; v2.28 never did).
        let tags = Inclusion::new(&["apps"], &[], &[], &[]).unwrap();
        let s = select(&remote, &tags, None);
        assert!(s.delete.is_empty());
        assert!(s.kept.iter().any(|k| k.reason == KeepReason::SkipDeleteIfTags));
        assert_eq!(
            s.kept[0].reason.to_string(),
            "kept because of kluctl.io/skip-delete-if-tags while tag filters are used"
        );
        // Directory filters alone are not tag filters.
        let dirs = Inclusion::new(&[], &[], &["apps"], &[]).unwrap();
        assert_eq!(names(&select(&remote, &dirs, None).delete), vec!["Namespace/prod"]);
    }

    #[test]
    fn inclusion_filters_apply_to_live_objects() {
        let remote = vec![
            live("v1", "ConfigMap", Some("prod"), "apps", json!({})),
            live(
                "v1",
                "ConfigMap",
                Some("prod"),
                "db",
                json!({"metadata": {"labels": {"kluctl.io/tag-0": "db"}, "annotations": {"kluctl.io/deployment-item-dir": "db"}}}),
            ),
        ];
        let only_db = Inclusion::new(&["db"], &[], &[], &[]).unwrap();
        assert_eq!(
            names(&select(&remote, &only_db, None).delete),
            vec!["prod/ConfigMap/db"]
        );
        let not_apps_dir = Inclusion::new(&[], &[], &[], &["apps"]).unwrap();
        assert_eq!(
            names(&select(&remote, &not_apps_dir, None).delete),
            vec!["prod/ConfigMap/db"]
        );
    }

    #[test]
    fn refuses_without_a_discriminator() {
        let err = select_for_delete(
            &[],
            &DeleteQuery {
                discriminator: "",
                inclusion: &Inclusion::default(),
                rendered: None,
            },
            &scope,
        )
        .unwrap_err();
        assert_eq!(err, RuleError::NoDiscriminator);
        assert!(err.to_string().contains("--discriminator"));
    }

    #[test]
    fn deletion_order_and_namespace_plan() {
        let remote = vec![
            live("v1", "ConfigMap", Some("prod"), "cm", json!({})),
            live("apps/v1", "Deployment", Some("other"), "web", json!({})),
            live("cert-manager.io/v1", "Certificate", Some("other"), "tls", json!({})),
            live("v1", "Namespace", None, "prod", json!({})),
            live("v1", "Service", Some("prod"), "svc", json!({})),
            live("rbac.authorization.k8s.io/v1", "ClusterRole", None, "role", json!({})),
        ];
        let s = select(&remote, &Inclusion::default(), None);
        assert_eq!(
            names(&s.delete),
            vec![
                "Namespace/prod",
                "other/Certificate/tls",
                "other/Deployment/web",
                "prod/Service/svc",
                "ClusterRole/role",
                "prod/ConfigMap/cm",
            ]
        );
        let plan = plan_deletion(&s.delete);
        assert_eq!(names(&plan.namespaces), vec!["Namespace/prod"]);
        assert_eq!(
            names(&plan.objects),
            vec!["other/Certificate/tls", "other/Deployment/web", "ClusterRole/role"]
        );
        assert_eq!(
            names(&plan.in_deleted_namespaces),
            vec!["prod/Service/svc", "prod/ConfigMap/cm"]
        );
    }

    #[test]
    fn forced_replace_checks_the_same_protections() {
        assert_eq!(
            delete_protection(&json!({"metadata": {"annotations": {"helm.sh/resource-policy": "keep"}}})),
            Some(KeepReason::HelmResourcePolicyKeep)
        );
        assert_eq!(delete_protection(&json!({"metadata": {}})), None);
        assert!(is_managed_by_kluctl(&live(
            "v1",
            "ConfigMap",
            Some("a"),
            "b",
            json!({})
        )));
    }
}
