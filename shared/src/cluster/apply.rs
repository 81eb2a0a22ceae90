//! [`ObjectApplier`]: one object to the cluster with Kluctl's policy (`apply_utils.go`).
//!
//! Input: the rendered object, its live version (if any) and the item's conflict resolver.
//! Output: the object the server returned (dry-run or real), or an error message for the
//! result; warnings (lost field ownership, replaced objects, server warnings) go straight into
//! the result.
//!
//! 1. Server-side apply as `kluctl`, with `force` only under `--force-apply`.
//! 2. On a field-manager conflict, the pure resolver decides per field: take back what kluctl,
//!    kubectl and friends own (or what `kluctl.io/force-apply*` / rules say), give up the rest
//!    with a warning naming the manager; then apply that with `force`.
//! 3. On any other failure, with `--replace-on-error` (or `--force-replace-on-error`) and a
//!    live object: replace it (PUT). If that fails too and `--force-replace-on-error` is set:
//!    delete and re-create it, unless it is delete-protected.

use super::client::ClusterClient;
use super::discovery::ApiResource;
use super::ops::{Propagation, Written};
use super::request::ApiError;
use crate::deploy::conflicts::{ConflictResolver, conflict_causes};
use crate::deploy::fix_object_for_apply;
use crate::deploy::orphans::delete_protection;
use crate::objects::ObjectRef;
use crate::result::ResultBuilder;
use serde_json::Value;
use std::time::Duration;

/// The apply flags of `deploy` (and `diff`, which is always a dry run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// `--dry-run`: every write is `dryRun=All`.
    pub dry_run: bool,
    /// `--force-apply`: take over every conflicting field.
    pub force_apply: bool,
    /// `--replace-on-error`.
    pub replace_on_error: bool,
    /// `--force-replace-on-error` (implies `--replace-on-error`).
    pub force_replace_on_error: bool,
}

/// Applies objects for one command (see the module docs).
pub struct ObjectApplier<'a> {
    /// The cluster.
    pub client: &'a ClusterClient,
    /// The flags.
    pub options: ApplyOptions,
    /// Where warnings go.
    pub result: &'a ResultBuilder,
}

/// How long a force-replace waits for the old object to disappear.
const RECREATE_WAIT: Duration = Duration::from_secs(60);

impl ObjectApplier<'_> {
    /// Applies `local` (see the module docs); `remote` is the live object read before, if any.
    pub async fn apply(
        &self,
        resource: &ApiResource,
        local: &Value,
        remote: Option<&Value>,
        resolver: &ConflictResolver,
    ) -> Result<Written, String> {
        let r = ObjectRef::from_object(local).unwrap_or_default();
        let object = fix_object_for_apply(local);
        let first = self
            .client
            .apply_object(resource, &object, self.options.dry_run, self.options.force_apply)
            .await;
        let outcome = match first {
            Err(e) if e.is_conflict() && !self.options.force_apply => {
                self.resolve_conflict(resource, &r, &object, remote, resolver, e).await
            }
            other => other.map_err(|e| format!("failed to apply: {e}")),
        };
        let error = match outcome {
            Ok(written) => return Ok(self.report(&r, written)),
            Err(error) => error,
        };
        let replace = self.options.replace_on_error || self.options.force_replace_on_error;
        let Some(remote) = remote.filter(|_| replace) else {
            return Err(error);
        };
        match self.replace(resource, &object).await {
            Ok(written) => {
                self.result.add_warning(
                    Some(&r),
                    format!("{error}; replaced the object instead (--replace-on-error)"),
                );
                return Ok(self.report(&r, written));
            }
            Err(replace_error) if !self.options.force_replace_on_error => {
                return Err(format!("{error}; replacing it failed too: {replace_error}"));
            }
            Err(_) => {}
        }
        if let Some(reason) = delete_protection(remote).or_else(|| delete_protection(local)) {
            return Err(format!("{error}; not deleting and re-creating it: {reason}"));
        }
        match self.recreate(resource, &r, &object).await {
            Ok(written) => {
                self.result.add_warning(
                    Some(&r),
                    format!("{error}; deleted and re-created the object (--force-replace-on-error)"),
                );
                Ok(self.report(&r, written))
            }
            Err(recreate_error) => Err(format!("{error}; deleting and re-creating it failed: {recreate_error}")),
        }
    }

    fn report(&self, r: &ObjectRef, written: Written) -> Written {
        for w in &written.warnings {
            self.result.add_warning(Some(r), format!("the API server warns: {w}"));
        }
        written
    }

    async fn resolve_conflict(
        &self,
        resource: &ApiResource,
        r: &ObjectRef,
        object: &Value,
        remote: Option<&Value>,
        resolver: &ConflictResolver,
        conflict: ApiError,
    ) -> Result<Written, String> {
        let ApiError::Status { status, .. } = &conflict else {
            return Err(format!("failed to apply: {conflict}"));
        };
        let causes = conflict_causes(status).map_err(|e| format!("failed to apply: {conflict} ({e})"))?;
        // The managed fields must be current to tell who owns the conflicting fields now.
        let fresh = self
            .client
            .get_object(resource, r.namespace.as_deref(), &r.name)
            .await
            .map_err(|e| format!("failed to read the live object to resolve conflicts: {e}"))?;
        let Some(live) = fresh.as_ref().or(remote) else {
            return Err(format!("failed to apply: {conflict}"));
        };
        let resolution = resolver
            .resolve(object, live, &causes)
            .map_err(|e| format!("failed to apply: {conflict}: {e}"))?;
        for lost in &resolution.lost {
            self.result.add_warning(Some(r), lost.warning());
        }
        self.client
            .apply_object(resource, &resolution.object, self.options.dry_run, true)
            .await
            .map_err(|e| format!("failed to apply after resolving conflicts: {e}"))
    }

    async fn replace(&self, resource: &ApiResource, object: &Value) -> Result<Written, ApiError> {
        let r = ObjectRef::from_object(object).unwrap_or_default();
        // An update needs the current resourceVersion; read it right before.
        let live = self
            .client
            .get_object(resource, r.namespace.as_deref(), &r.name)
            .await?
            .ok_or_else(|| ApiError::Decode("the object disappeared".to_string()))?;
        let mut update = object.clone();
        if let Some(rv) = live.pointer("/metadata/resourceVersion") {
            update["metadata"]["resourceVersion"] = rv.clone();
        }
        self.client
            .replace_object(resource, &update, self.options.dry_run)
            .await
    }

    async fn recreate(&self, resource: &ApiResource, r: &ObjectRef, object: &Value) -> Result<Written, String> {
        let namespace = r.namespace.as_deref();
        self.client
            .delete_object(
                resource,
                namespace,
                &r.name,
                Propagation::Background,
                self.options.dry_run,
            )
            .await
            .map_err(|e| e.to_string())?;
        if !self.options.dry_run {
            super::delete::wait_gone(self.client, resource, namespace, &r.name, None, RECREATE_WAIT).await?;
        }
        self.client
            .apply_object(resource, object, self.options.dry_run, true)
            .await
            .map_err(|e| e.to_string())
    }
}
