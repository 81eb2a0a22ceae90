//! Patch: JSON patch (RFC 6902) and JSON merge patch (RFC 7386) applied to the object in the request's
//! version, then the update rules of [`super::update`]; retried on concurrent changes unless the patch
//! pins `metadata.resourceVersion`.

use serde_json::Value;

use super::update::{Subresource, check_identity, finish_update, write_change};
use super::{WriteOptions, Written, commit_error, object_key, to_request_version, to_storage_version};
use crate::apiserver::errors::ApiError;
use crate::apiserver::kinds;
use crate::apiserver::meta;
use crate::apiserver::registry::ResourceInfo;
use crate::apiserver::state::ApiState;
use crate::apiserver::store::CommitError;

/// The patch formats, by request `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
}

impl PatchType {
    /// The patch type of a `Content-Type` header, or the 415 answer listing the supported ones.
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            other => Err(ApiError {
                code: 415,
                reason: "UnsupportedMediaType",
                message: format!(
                    "the body of the request was in an unknown format - accepted media types include: \
                     application/json-patch+json, application/merge-patch+json (got {other:?})"
                ),
                details: None,
                retry_after: None,
            }),
        }
    }
}

/// Decodes and applies a patch document to `target`.
pub fn apply_patch(patch_type: PatchType, body: &[u8], target: &mut Value) -> Result<(), ApiError> {
    match patch_type {
        PatchType::Json => {
            let operations: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(target, &operations.0).map_err(|e| ApiError {
                code: 422,
                reason: "Invalid",
                message: format!("the server rejected our request due to an error in our request: {e}"),
                details: None,
                retry_after: None,
            })
        }
        PatchType::Merge => {
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding patch: a merge patch must be a JSON object",
                ));
            }
            json_patch::merge(target, &patch);
            Ok(())
        }
    }
}

/// Patches an object.
#[allow(clippy::too_many_arguments)] // mirrors the REST call: resource, version, namespace, name, type, body, subresource, options
pub fn patch(
    state: &ApiState,
    info: &ResourceInfo,
    version: &str,
    namespace: Option<&str>,
    name: &str,
    patch_type: PatchType,
    body: &[u8],
    subresource: Subresource,
    opts: &WriteOptions,
) -> Result<Written, ApiError> {
    let key = object_key(info, namespace, name);
    loop {
        let current = state
            .store
            .get(&info.group_resource(), &key.0, &key.1)
            .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, name))?;
        let current_rv = meta::resource_version(&current);
        let mut patched = to_request_version(info, version, &current);
        apply_patch(patch_type, body, &mut patched)?;
        if !patched.is_object() {
            return Err(ApiError::bad_request(
                "the patch turned the object into something that is not an object",
            ));
        }
        to_storage_version(info, version, &mut patched)?;
        let warnings = kinds::check_fields(info, version, &mut patched, opts.field_validation)?;
        check_identity(info, namespace, name, &mut patched)?;
        let pinned = meta::meta_str(&patched, "resourceVersion");
        if !pinned.is_empty() && pinned != current_rv.to_string() {
            return Err(ApiError::conflict_modified(&info.group, &info.plural, name));
        }
        let change = finish_update(state, info, &current, patched, subresource, opts)?;
        match write_change(state, info, key.clone(), current_rv, change, opts.dry_run) {
            Ok(mut written) => {
                written.warnings.extend(warnings);
                return Ok(written);
            }
            Err(CommitError::Conflict { .. }) => continue,
            Err(err) => return Err(commit_error(info, name, err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_and_merge_patches_follow_their_rfcs() {
        let mut doc = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        apply_patch(
            PatchType::Json,
            br#"[{"op":"replace","path":"/a/b","value":2},{"op":"add","path":"/a/c/-","value":3}]"#,
            &mut doc,
        )
        .unwrap();
        assert_eq!(doc, json!({"a": {"b": 2, "c": [1, 2, 3]}, "d": "x"}));
        apply_patch(PatchType::Merge, br#"{"a":{"c":null},"d":"y"}"#, &mut doc).unwrap();
        assert_eq!(doc, json!({"a": {"b": 2}, "d": "y"}));
        let err = apply_patch(PatchType::Json, br#"[{"op":"test","path":"/d","value":"z"}]"#, &mut doc).unwrap_err();
        assert_eq!(err.code, 422);
    }

    #[test]
    fn unknown_patch_media_types_get_415() {
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8").unwrap(),
            PatchType::Merge
        );
        assert_eq!(PatchType::from_content_type("text/plain").unwrap_err().code, 415);
    }
}
