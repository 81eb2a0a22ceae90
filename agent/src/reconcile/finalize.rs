//! Deletion of a `KluctlDeployment`: with `delete: true` (and not suspended), every object of
//! the discriminator recorded in the status is deleted, without the source or the artifact;
//! a failure keeps the finalizer, records `DeletionFailed` and is retried. Otherwise the objects
//! are left in place (orphaned) and the finalizer is removed.

use super::{Outcome, write};
use crate::controller::Context;
use crate::engine::DeleteRequest;
use crate::events::Severity;
use crate::status::StatusWriter;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use shared::crd::{FINALIZER, KluctlDeployment, STATUS_FIELD_MANAGER, reasons};
use std::time::Duration;

/// The bound of a deletion when the spec's timeout cannot be read.
const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(300);

/// Handles a deleted object.
pub async fn run(object: &KluctlDeployment, ctx: &Context) -> Outcome {
    let name = object.metadata.name.clone().unwrap_or_default();
    let has_finalizer = super::has_finalizer(object);
    let gone = Outcome {
        requeue: None,
        success: true,
        reason: "Deleted".into(),
        ready: "Unknown",
        gone: true,
    };
    if !has_finalizer {
        return gone;
    }
    let discriminator = object.status.as_ref().and_then(|s| s.discriminator.clone());
    let spec = object.spec.validate().ok();
    if object.spec.delete && !object.spec.suspend {
        match discriminator.as_deref().filter(|d| !d.is_empty()) {
            None => tracing::info!(kluctldeployment = %name, "nothing was deployed: nothing to delete"),
            Some(discriminator) => {
                let timeout = spec.as_ref().map(|s| s.timeout).unwrap_or(DEFAULT_DELETE_TIMEOUT);
                let request = DeleteRequest {
                    name: &name,
                    namespace: &ctx.config.namespace,
                    discriminator,
                    spec: &object.spec,
                    identity: super::identity(object, ctx),
                    allow_out_of_namespace: ctx.config.allow_out_of_namespace,
                };
                let report = tokio::time::timeout(timeout, ctx.engine.delete(request)).await;
                let failure = match report {
                    Err(_) => Some(format!(
                        "deleting the objects of discriminator {discriminator} timed out after {}",
                        super::humantime(timeout)
                    )),
                    Ok(report) => report.failure.map(|f| f.message),
                };
                if let Some(message) = failure {
                    let mut status = StatusWriter::new(&ctx.kd_api, object);
                    status.failed(reasons::DELETION_FAILED, &message);
                    status.finish();
                    write(&mut status, object).await;
                    ctx.recorder
                        .emit(
                            object,
                            Severity::Warning,
                            reasons::DELETION_FAILED,
                            &message,
                            None,
                            false,
                        )
                        .await;
                    let retry = spec.map(|s| s.retry_interval).unwrap_or(super::API_RETRY);
                    return Outcome::from_status(&status, Some(retry));
                }
                tracing::info!(kluctldeployment = %name, discriminator, "deleted the deployed objects");
            }
        }
    } else {
        tracing::info!(
            kluctldeployment = %name,
            "deleted without spec.delete (or while suspended): the deployed objects are left in place"
        );
    }
    match remove(ctx, object).await {
        Ok(()) => gone,
        Err(error) => {
            tracing::warn!(kluctldeployment = %name, %error, "failed to remove the finalizer");
            Outcome::retry("FinalizerFailed", super::API_RETRY)
        }
    }
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(STATUS_FIELD_MANAGER.to_string()),
        ..Default::default()
    }
}

/// Adds the finalizer (a merge patch guarded by the resourceVersion, so a concurrent change of
/// the list is never overwritten).
pub async fn add(ctx: &Context, object: &KluctlDeployment) -> Result<(), kube::Error> {
    let mut finalizers = object.metadata.finalizers.clone().unwrap_or_default();
    finalizers.push(FINALIZER.to_string());
    patch_finalizers(ctx, object, finalizers).await
}

async fn remove(ctx: &Context, object: &KluctlDeployment) -> Result<(), kube::Error> {
    let finalizers: Vec<String> = object
        .metadata
        .finalizers
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f != FINALIZER)
        .collect();
    patch_finalizers(ctx, object, finalizers).await
}

async fn patch_finalizers(
    ctx: &Context,
    object: &KluctlDeployment,
    finalizers: Vec<String>,
) -> Result<(), kube::Error> {
    let name = object.metadata.name.clone().unwrap_or_default();
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": object.metadata.resource_version,
    }});
    ctx.kd_api
        .patch(&name, &params(), &Patch::Merge(patch))
        .await
        .map(|_| ())
}
