//! Running one phase of an item's hooks (Kluctl's `hooks_util.go`): delete the
//! `before-hook-creation` hooks, apply each hook in weight order and wait for it when
//! `kluctl.io/hook-wait` says so, then delete the hooks whose `hook-succeeded` / `hook-failed`
//! policy matches, in reverse order.

use super::{DeployItem, Run};
use crate::cluster::delete;
use crate::cluster::progress::ProgressEvent;
use crate::deploy::hooks::{Hook, HookPlan};
use crate::objects::ObjectRef;
use serde_json::Value;
use std::collections::HashMap;

impl Run<'_> {
    /// Runs the hooks of `plan`; false when one failed (the item then stops).
    pub(super) async fn run_hooks(
        &self,
        segment: usize,
        item: &DeployItem,
        plan: &HookPlan,
        objects: &[(Hook, &Value)],
    ) -> bool {
        let d = self.deployer;
        if plan.hooks.is_empty() {
            return true;
        }
        let dry_run = d.options.apply.dry_run;
        let wait_gone = (!dry_run && !d.options.no_wait).then_some(d.options.readiness_timeout);
        for r in plan.delete_before() {
            if !self.delete_hook(r, wait_gone).await {
                return false;
            }
        }
        let mut outcomes: HashMap<ObjectRef, bool> = HashMap::new();
        let mut ok = true;
        for hook in &plan.hooks {
            let Some((_, object)) = objects.iter().find(|(h, _)| h.object_ref == hook.object_ref) else {
                continue;
            };
            d.result.set_rendered(object);
            let r = &hook.object_ref;
            let Some((r, resource)) = self.apply_object(segment, item, r, object, true).await else {
                ok = false;
                break;
            };
            if !hook.wait || dry_run || d.options.no_wait {
                continue;
            }
            let timeout = hook.timeout.unwrap_or(d.options.readiness_timeout);
            let outcome = self.waiter.wait(&resource, &r, timeout).await;
            let ready = match outcome.error_message(timeout) {
                None => true,
                Some(message) => {
                    d.result.add_error(Some(&r), format!("hook {message}"));
                    false
                }
            };
            outcomes.insert(r, ready);
            if !ready {
                ok = false;
                break;
            }
        }
        for r in plan.delete_after(&outcomes) {
            self.delete_hook(r, None).await;
        }
        ok
    }

    async fn delete_hook(&self, r: &ObjectRef, wait: Option<std::time::Duration>) -> bool {
        let d = self.deployer;
        let resource = match d.client.resource_for(&r.api_version(), &r.kind).await {
            Ok(resource) => resource,
            // A hook of a kind the cluster does not serve yet cannot exist yet.
            Err(_) => return true,
        };
        match delete::delete_object(
            d.client,
            &resource,
            r.namespace.as_deref(),
            &r.name,
            d.options.apply.dry_run,
            wait,
        )
        .await
        {
            Ok(delete::Deleted::Deleted) => {
                d.progress.event(ProgressEvent::Deleted(r));
                true
            }
            Ok(delete::Deleted::NotFound) => true,
            Err(e) => {
                d.result.add_error(Some(r), format!("failed to delete hook: {e}"));
                false
            }
        }
    }
}
