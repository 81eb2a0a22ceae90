//! Patch: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch (built-in
//! kinds, merge keys from `shared::schema`) applied to the object in the request's version with
//! `shared::patch`, then the update rules of [`super::update`]; retried on concurrent changes unless
//! the patch pins `metadata.resourceVersion`.

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
    /// `application/strategic-merge-patch+json` (built-in kinds only)
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply, see [`super::apply`])
    Apply,
}

impl PatchType {
    /// The patch type of a `Content-Type` header, or the 415 answer listing the supported ones.
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" => Ok(PatchType::Apply),
            other => Err(unsupported(other, true)),
        }
    }
}

fn unsupported(media: &str, strategic: bool) -> ApiError {
    let mut accepted = vec!["application/json-patch+json", "application/merge-patch+json"];
    if strategic {
        accepted.push("application/strategic-merge-patch+json");
    }
    accepted.push("application/apply-patch+yaml");
    ApiError {
        code: 415,
        reason: "UnsupportedMediaType",
        message: format!(
            "the body of the request was in an unknown format - accepted media types include: {} (got {media:?})",
            accepted.join(", ")
        ),
        details: None,
        retry_after: None,
    }
}

fn rejected(err: shared::patch::PatchError) -> ApiError {
    ApiError {
        code: 422,
        reason: "Invalid",
        message: format!("the server rejected our request due to an error in our request: {err}"),
        details: None,
        retry_after: None,
    }
}

/// Decodes and applies a JSON, merge or strategic merge patch to `target`.
pub fn apply_patch(
    patch_type: PatchType,
    body: &[u8],
    target: &mut Value,
    schema: Option<&shared::schema::TypeSchema>,
) -> Result<(), ApiError> {
    let patch: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let patched = match patch_type {
        PatchType::Json => {
            if !patch.is_array() {
                return Err(ApiError::bad_request(
                    "error decoding patch: a JSON patch must be a list of operations",
                ));
            }
            shared::patch::json_patch(target, &patch).map_err(rejected)?
        }
        PatchType::Merge => {
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding patch: a merge patch must be a JSON object",
                ));
            }
            shared::patch::merge_patch(target, &patch).map_err(rejected)?
        }
        PatchType::Strategic => shared::patch::strategic_merge_patch(target, &patch, schema).map_err(rejected)?,
        PatchType::Apply => return Err(unsupported("application/apply-patch+yaml", true)),
    };
    *target = patched;
    Ok(())
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
    if patch_type == PatchType::Strategic && info.is_custom() {
        return Err(unsupported("application/strategic-merge-patch+json", false));
    }
    let schema = info.type_schema(version);
    let key = object_key(info, namespace, name);
    loop {
        let current = state
            .store
            .get(&info.group_resource(), &key.0, &key.1)
            .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, name))?;
        let current_rv = meta::resource_version(&current);
        let mut patched = to_request_version(info, version, &current);
        apply_patch(patch_type, body, &mut patched, schema.as_ref())?;
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
        let change = finish_update(state, info, &current, patched, subresource, opts, true)?;
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
    fn json_merge_and_strategic_patches_apply() {
        let mut doc = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        apply_patch(
            PatchType::Json,
            br#"[{"op":"replace","path":"/a/b","value":2},{"op":"add","path":"/a/c/-","value":3}]"#,
            &mut doc,
            None,
        )
        .unwrap();
        assert_eq!(doc, json!({"a": {"b": 2, "c": [1, 2, 3]}, "d": "x"}));
        apply_patch(PatchType::Merge, br#"{"a":{"c":null},"d":"y"}"#, &mut doc, None).unwrap();
        assert_eq!(doc, json!({"a": {"b": 2}, "d": "y"}));
        let err = apply_patch(
            PatchType::Json,
            br#"[{"op":"test","path":"/d","value":"z"}]"#,
            &mut doc,
            None,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        let schema = shared::schema::builtin("apps", "v1", "Deployment");
        let mut deployment = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
        let patch = br#"{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"b:2"}]}}}}"#;
        apply_patch(PatchType::Strategic, patch, &mut deployment, schema).unwrap();
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}]),
            "containers merge by name"
        );
    }

    #[test]
    fn unknown_patch_media_types_get_415() {
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8").unwrap(),
            PatchType::Merge
        );
        assert_eq!(PatchType::from_content_type("text/plain").unwrap_err().code, 415);
        assert_eq!(
            PatchType::from_content_type("application/apply-patch+yaml").unwrap(),
            PatchType::Apply
        );
    }
}
