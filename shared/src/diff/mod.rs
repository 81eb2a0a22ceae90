//! Diff: normalizes live and applied objects as Kluctl does and computes the changes between them.
//!
//! Stage 5b of the pipeline, pure. The cluster code does a server-side dry-run apply of each
//! rendered object and hands this module three objects: the live object as it was before
//! (`remote`), the object the apply returned (`applied`) and the rendered object (`local`, whose
//! annotations steer the diff). Output: the [`Change`]s a re-apply would make, each with its
//! JSONPath, old and new value, a unified diff and the field managers owning it.
//!
//! - [`Normalizer`] (normalize.rs): Kluctl's normalization of both sides, `ignoreForDiff` rules,
//!   `kluctl.io/ignore-diff*` annotations and the `--ignore-*` flags.
//! - [`diff_values`] (changes.rs): the structural diff, stable-sorted by path.
//! - [`Obfuscator`] (obfuscate.rs): masks Secret values in objects, changes and free text.
//! - [`RemoteDiffIndex`] (pairing.rs): `kluctl.io/diff-name` pairing of rendered and live objects.
//! - [`jsonpath`] and [`managed_fields`]: the path and ownership models the rules are built on.

mod changes;
pub mod jsonpath;
pub mod managed_fields;
mod normalize;
mod obfuscate;
mod pairing;
pub mod rules;
mod unified;

pub use changes::{Change, ChangeType, diff_values};
pub use normalize::{IgnoreFlags, IgnoreForDiffRule, Normalizer};
pub use obfuscate::{Obfuscator, SECRET_MASK};
pub use pairing::{RemoteDiffIndex, diff_ref};

use jsonpath::JsonPathError;
use serde_json::Value;

/// Everything that can fail while normalizing and diffing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiffError {
    /// A JSONPath of a rule or annotation does not parse.
    #[error("failed to parse the JSON path of {origin}: {error}")]
    ParseJsonPath {
        /// Where the path comes from (`ignoreForDiff[2].fieldPath`, `annotation kluctl.io/...`).
        origin: String,
        /// The parse error (with the path and position).
        error: JsonPathError,
    },
    /// A regex of a rule or annotation does not compile.
    #[error("failed to compile regex '{regex}' of {origin}: {message}")]
    CompileRegex {
        /// Where the regex comes from.
        origin: String,
        /// The regex as written.
        regex: String,
        /// What is wrong with it.
        message: String,
    },
    /// A rule is incomplete or contradictory.
    #[error("failed to compile {origin}: {message}")]
    InvalidRule {
        /// Which rule.
        origin: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// `metadata.managedFields` of a live object is not in the format the API server writes.
    #[error("failed to parse metadata.managedFields: {message}")]
    ParseManagedFields {
        /// What is wrong.
        message: String,
    },
}

/// Normalizes both sides and diffs them: the one call the cluster code makes per object.
///
/// `remote` is the live object before the apply, `applied` the object the (dry-run) apply
/// returned, `local` the rendered object. Each change carries the managers owning the field in
/// `remote` (see [`Change::owners`]). New objects (no remote) have no changes; report them as new.
pub fn diff_object(
    normalizer: &Normalizer,
    remote: &Value,
    applied: &Value,
    local: &Value,
) -> Result<Vec<Change>, DiffError> {
    let old = normalizer.normalize(remote, local)?;
    let new = normalizer.normalize(applied, local)?;
    let mut changes = diff_values(&old, &new);
    if !changes.is_empty() {
        let entries = managed_fields::parse_managed_fields(remote)?;
        for change in &mut changes {
            if let Some(path) = change.old_key_path() {
                change.owners = managed_fields::owners_of(&entries, remote, path);
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The live Deployment before the apply, as the API server returns it.
    fn live() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "prod", "uid": "8d1c", "resourceVersion": "1001", "generation": 3,
                "creationTimestamp": "2024-05-01T10:00:00Z",
                "labels": {"app": "web", "kluctl.io/tag-0": "apps"},
                "annotations": {"deployment.kubernetes.io/revision": "3"},
                "managedFields": [
                    {"manager": "kluctl", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}, "f:kluctl.io/tag-0": {}}},
                        "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
                    {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                     "subresource": "scale", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
                ]
            },
            "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
            "status": {"replicas": 4, "readyReplicas": 4, "observedGeneration": 3}
        })
    }

    #[test]
    fn diffs_a_dry_run_result_against_the_live_object() {
        let remote = live();
        // The dry-run result: server-set fields differ, the image changes, and the applied
        // object still carries replicas 1 because the render sets it.
        let mut applied = live();
        applied["metadata"]["resourceVersion"] = json!("1002");
        applied["metadata"]["generation"] = json!(4);
        applied["spec"]["replicas"] = json!(1);
        applied["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
        applied["status"]["observedGeneration"] = json!(3);
        let local =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}});

        let changes = diff_object(&Normalizer::default(), &remote, &applied, &local).unwrap();
        let paths: Vec<(&str, &[String])> = changes
            .iter()
            .map(|c| (c.json_path.as_str(), c.owners.as_slice()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("spec.replicas", &["kube-controller-manager".to_string()][..]),
                ("spec.template.spec.containers[0].image", &["kluctl".to_string()][..]),
            ]
        );
        assert_eq!(changes[1].unified_diff, "-nginx:1.25\n+nginx:1.27");

        // The same with the replicas ignored by a rule, and the tags by the flag.
        let rules = [IgnoreForDiffRule {
            field_path: vec!["spec.replicas".into()],
            kind: Some("Deployment".into()),
            ..Default::default()
        }];
        let mut applied_tags = applied.clone();
        applied_tags["metadata"]["labels"]["kluctl.io/tag-0"] = json!("other");
        let normalizer = Normalizer::new(
            &rules,
            IgnoreFlags {
                tags: true,
                ..Default::default()
            },
        )
        .unwrap();
        let changes = diff_object(&normalizer, &remote, &applied_tags, &local).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].json_path, "spec.template.spec.containers[0].image");
    }

    #[test]
    fn a_change_a_reapply_would_not_make_is_not_reported() {
        let remote = live();
        let mut applied = live();
        applied["metadata"]["resourceVersion"] = json!("1002");
        applied["metadata"]["managedFields"] = json!([]);
        applied["status"] = json!({"replicas": 3});
        applied["spec"]["replicas"] = json!(4.0);
        assert!(
            diff_object(&Normalizer::default(), &remote, &applied, &remote)
                .unwrap()
                .is_empty()
        );
    }
}
