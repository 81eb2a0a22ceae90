//! `prune` and `delete`: first a [`DeletePlan`] (the exact objects, shown and confirmed by the
//! caller), then [`DeletePlan::execute`]. Both refuse a target without a discriminator, so two
//! targets sharing a namespace never remove each other's objects.

use super::{Session, Target};
use crate::cluster::orphans::{DeleteOptions, delete_all, select};
use crate::cluster::{ClusterError, ProgressEvent, RemoteObjects};
use crate::deploy::RuleError;
use crate::deploy::orphans::KeptObject;
use crate::objects::ObjectRef;
use crate::result::{CommandResult, ResultBuilder};
use serde_json::Value;

/// What `prune` or `delete` would remove; nothing is deleted until [`DeletePlan::execute`].
#[derive(Debug)]
pub struct DeletePlan {
    result: ResultBuilder,
    /// The objects to delete, in deletion order (Namespaces first).
    pub objects: Vec<ObjectRef>,
    /// Objects that would be deleted but are protected (`kluctl.io/skip-delete`,
    /// `helm.sh/resource-policy: keep`, `skip-delete-if-tags`); they are kept and reported.
    pub kept: Vec<KeptObject>,
}

/// `prune`: the live objects with the target's discriminator that are no longer rendered.
pub async fn plan_prune(session: &Session<'_>, target: &Target) -> Result<DeletePlan, ClusterError> {
    plan(session, target, true).await
}

/// `delete`: every live object with the target's discriminator (inclusion filters apply;
/// the render is not consulted).
pub async fn plan_delete(session: &Session<'_>, target: &Target) -> Result<DeletePlan, ClusterError> {
    plan(session, target, false).await
}

async fn plan(session: &Session<'_>, target: &Target, prune: bool) -> Result<DeletePlan, ClusterError> {
    let discriminator = target.discriminator().ok_or(RuleError::NoDiscriminator)?;
    let result = session.start(target).await;
    session.progress.event(ProgressEvent::Step("reading the live objects"));
    let rendered: Vec<&Value> = if prune { target.objects().collect() } else { Vec::new() };
    let remote = RemoteObjects::load(session.client, Some(discriminator), &rendered, &result).await?;
    let refs = target.refs();
    let selection = select(
        &remote,
        Some(discriminator),
        &target.inclusion,
        prune.then_some(refs.as_slice()),
    )?;
    for kept in &selection.kept {
        result.add_warning(Some(&kept.object_ref), kept.reason.to_string());
    }
    if prune {
        for r in &selection.delete {
            result.mark_orphan(r);
        }
    }
    Ok(DeletePlan {
        result,
        objects: selection.delete,
        kept: selection.kept,
    })
}

impl DeletePlan {
    /// Whether there is nothing to delete.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The plan as a result, without deleting anything (a declined confirmation, or a preview).
    pub fn preview(self) -> CommandResult {
        self.result.finish()
    }

    /// Deletes the objects (Namespaces first; with `options.wait`, until each is gone).
    pub async fn execute(self, session: &Session<'_>, options: DeleteOptions) -> CommandResult {
        session.progress.event(ProgressEvent::Step("deleting"));
        delete_all(session.client, &self.objects, options, &self.result, session.progress).await;
        self.result.finish()
    }
}
