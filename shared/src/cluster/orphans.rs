//! Orphans and deletions: which live objects of a target `prune` and `delete` remove (the pure
//! rules of [`crate::deploy::orphans`] applied to [`RemoteObjects`]), and removing them:
//! Namespaces first, in parallel, then the other objects in parallel, with background
//! propagation, each waited for until gone unless `--no-wait`. Objects inside a Namespace that
//! is deleted go with it.

use super::client::ClusterClient;
use super::delete::{self, Deleted};
use super::progress::{Progress, ProgressEvent};
use super::remote::RemoteObjects;
use crate::deploy::RuleError;
use crate::deploy::inclusion::Inclusion;
use crate::deploy::orphans::{DeleteQuery, DeleteSelection, plan_deletion, select_for_delete};
use crate::objects::ObjectRef;
use crate::result::ResultBuilder;
use futures::future::join_all;
use serde_json::Value;
use std::time::Duration;

/// The live objects `prune` (with `rendered`) or `delete` (without) would remove.
pub fn select(
    remote: &RemoteObjects,
    discriminator: Option<&str>,
    inclusion: &Inclusion,
    rendered: Option<&[ObjectRef]>,
) -> Result<DeleteSelection, RuleError> {
    let candidates: Vec<Value> = remote.with_discriminator().into_iter().cloned().collect();
    let discovery = remote.discovery();
    let scope = |group: &str, kind: &str| discovery.is_namespaced(group, kind);
    select_for_delete(
        &candidates,
        &DeleteQuery {
            discriminator: discriminator.unwrap_or_default(),
            inclusion,
            rendered,
        },
        &scope,
    )
}

/// How to delete.
#[derive(Clone, Copy, Debug)]
pub struct DeleteOptions {
    /// `--dry-run`.
    pub dry_run: bool,
    /// Wait until each object is gone, at most this long; `None` = `--no-wait`.
    pub wait: Option<Duration>,
}

/// Deletes `refs` (in the order of a [`DeleteSelection`]); marks each deleted object in the
/// result, records failures as errors.
pub async fn delete_all(
    client: &ClusterClient,
    refs: &[ObjectRef],
    options: DeleteOptions,
    result: &ResultBuilder,
    progress: &dyn Progress,
) {
    let plan = plan_deletion(refs);
    progress.event(ProgressEvent::Planned {
        items: 0,
        objects: plan.namespaces.len() + plan.objects.len(),
    });
    let one = |r: ObjectRef| async move {
        let resource = match client.resource_for(&r.api_version(), &r.kind).await {
            Ok(resource) => resource,
            Err(e) => {
                result.add_error(Some(&r), e.to_string());
                return;
            }
        };
        let namespace = if resource.namespaced {
            r.namespace.as_deref()
        } else {
            None
        };
        match delete::delete_object(client, &resource, namespace, &r.name, options.dry_run, options.wait).await {
            Ok(Deleted::Deleted) => {
                result.mark_deleted(&r);
                progress.event(ProgressEvent::Deleted(&r));
            }
            // Gone already: nothing to report, nothing to fail.
            Ok(Deleted::NotFound) => {}
            Err(e) => {
                result.add_error(Some(&r), e);
                progress.event(ProgressEvent::Failed(&r));
            }
        }
    };
    join_all(plan.namespaces.into_iter().map(one)).await;
    join_all(plan.objects.into_iter().map(one)).await;
}
