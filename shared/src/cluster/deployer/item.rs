//! One deployment item: deletions, staging, hooks, applies, readiness (see the parent module).

use super::gates::{GateKey, GateState, owned_gate};
use super::{DeployItem, ObjectSelector, Run};
use crate::cluster::apply::ObjectApplier;
use crate::cluster::delete;
use crate::cluster::discovery::ApiResource;
use crate::cluster::progress::ProgressEvent;
use crate::deploy::hooks::{HookPhase, HookPlan, is_initial_deploy, parse_hook};
use crate::diff::diff_object;
use crate::diff::rules::bool_annotation;
use crate::objects::ObjectRef;
use futures::future::join_all;
use serde_json::Value;

/// Neither a hook nor marked for deletion: applied with the item.
pub(super) fn is_plain_object(object: &Value) -> bool {
    !bool_annotation(object, "kluctl.io/delete", false) && parse_hook(object).hook.is_none()
}

/// Staging order inside an item.
fn stage(object: &Value) -> u8 {
    match owned_gate(object) {
        Some(GateKey::Namespace(_)) => 0,
        Some(GateKey::Crd(..)) => 1,
        None => 2,
    }
}

impl Run<'_> {
    pub(super) async fn item(&self, index: usize, segment: usize, item: &DeployItem) {
        let d = self.deployer;
        self.process_item(index, segment, item).await;
        if item.has_work() {
            // Other items run at the same time: look at this item's objects only.
            let ok = item
                .objects
                .iter()
                .filter_map(ObjectRef::from_object)
                .all(|r| !d.result.has_error(&r));
            d.progress.event(ProgressEvent::ItemFinished { item: &item.name, ok });
        }
    }

    async fn process_item(&self, _index: usize, segment: usize, item: &DeployItem) {
        let d = self.deployer;
        self.delete_for_item(item).await;

        let mut plain = Vec::new();
        let mut hooks = Vec::new();
        for object in &item.objects {
            let Some(r) = ObjectRef::from_object(object) else {
                d.result.add_error(
                    None,
                    format!("{}: an object has no kind or no metadata.name", item.name),
                );
                continue;
            };
            if bool_annotation(object, "kluctl.io/delete", false) {
                continue;
            }
            let parsed = parse_hook(object);
            for e in &parsed.errors {
                d.result.add_error(Some(&r), e.to_string());
            }
            for w in &parsed.warnings {
                d.result.add_warning(Some(&r), w.clone());
            }
            match parsed.hook {
                _ if !parsed.errors.is_empty() => {}
                Some(hook) if hook.types.is_empty() => {}
                Some(hook) => hooks.push((hook, object)),
                None => plain.push((r, object)),
            }
        }
        let initial = is_initial_deploy(plain.iter().map(|(r, _)| r), |r| d.remote.get(r).is_some());

        // Namespaces, then CRDs: everything else may need them.
        for s in [0, 1] {
            let staged = plain.iter().filter(|(_, o)| stage(o) == s);
            join_all(staged.map(|(r, o)| self.apply_plain(segment, item, r, o))).await;
        }
        let hook_list: Vec<_> = hooks.iter().map(|(h, _)| h.clone()).collect();
        let pre = HookPlan::select(&hook_list, HookPhase::Pre, initial);
        if !self.run_hooks(segment, item, &pre, &hooks).await {
            d.result.add_warning(
                None,
                format!(
                    "{}: the item's objects were not applied because a pre-deploy hook failed",
                    item.name
                ),
            );
            return;
        }
        if d.aborted() {
            return;
        }
        let rest = plain.iter().filter(|(_, o)| stage(o) == 2);
        let applied: Vec<Option<(ObjectRef, ApiResource)>> =
            join_all(rest.map(|(r, o)| self.apply_plain(segment, item, r, o))).await;

        let waits = !d.options.apply.dry_run && !d.options.no_wait;
        if waits && item.wait_readiness {
            let targets = applied.into_iter().flatten();
            join_all(targets.map(|(r, resource)| self.wait_ready(r, resource))).await;
        }
        if waits && !item.wait_readiness_objects.is_empty() {
            let resolved = join_all(item.wait_readiness_objects.iter().map(|s| self.select(s))).await;
            join_all(resolved.into_iter().flatten().map(|(r, res)| self.wait_ready(r, res))).await;
        }
        let post = HookPlan::select(&hook_list, HookPhase::Post, initial);
        if !d.aborted() {
            self.run_hooks(segment, item, &post, &hooks).await;
        }
    }

    /// `deleteObjects`, and objects annotated `kluctl.io/delete: "true"`.
    async fn delete_for_item(&self, item: &DeployItem) {
        let d = self.deployer;
        let mut targets: Vec<ObjectSelector> = item.delete_objects.clone();
        for object in item
            .objects
            .iter()
            .filter(|o| bool_annotation(o, "kluctl.io/delete", false))
        {
            if let Some(r) = ObjectRef::from_object(object) {
                targets.push(ObjectSelector {
                    group: Some(r.group.clone()),
                    kind: Some(r.kind.clone()),
                    name: r.name.clone(),
                    namespace: r.namespace.clone(),
                });
            }
        }
        let resolved = join_all(targets.iter().map(|s| self.select(s))).await;
        let deletes = resolved.into_iter().flatten().map(|(r, resource)| async move {
            let outcome = delete::delete_object(
                d.client,
                &resource,
                r.namespace.as_deref(),
                &r.name,
                d.options.apply.dry_run,
                None,
            )
            .await;
            match outcome {
                Ok(delete::Deleted::Deleted) => {
                    d.result.mark_deleted(&r);
                    d.progress.event(ProgressEvent::Deleted(&r));
                }
                Ok(delete::Deleted::NotFound) => {}
                Err(e) => d.result.add_error(Some(&r), e),
            }
        });
        join_all(deletes).await;
    }

    /// Resolves a `deleteObjects` / `waitReadinessObjects` entry to a ref and its resource.
    pub(super) async fn select(&self, selector: &ObjectSelector) -> Option<(ObjectRef, ApiResource)> {
        let d = self.deployer;
        let describe = || format!("{}/{}", selector.kind.as_deref().unwrap_or("?"), selector.name);
        let Some(kind) = selector.kind.as_deref() else {
            d.result.add_error(
                None,
                format!("failed to resolve object {}: a kind is required", describe()),
            );
            return None;
        };
        let discovery = match d.client.discovery().await {
            Ok(discovery) => discovery,
            Err(e) => {
                d.result.add_error(None, e.to_string());
                return None;
            }
        };
        let resource = match selector.group.as_deref() {
            Some(group) => discovery.preferred(group, kind).cloned(),
            None => discovery
                .preferred("", kind)
                .or_else(|| discovery.find_kind(kind))
                .cloned(),
        };
        let Some(resource) = resource else {
            d.result.add_error(
                None,
                format!(
                    "failed to resolve object {}: the cluster does not serve the kind",
                    describe()
                ),
            );
            return None;
        };
        let namespace = resource.namespaced.then(|| {
            selector
                .namespace
                .clone()
                .unwrap_or_else(|| d.client.default_namespace().to_string())
        });
        let r = ObjectRef {
            group: resource.group.clone(),
            version: resource.version.clone(),
            kind: resource.kind.clone(),
            namespace,
            name: selector.name.clone(),
        };
        Some((r, resource))
    }

    pub(super) async fn wait_ready(&self, r: ObjectRef, resource: ApiResource) -> bool {
        let d = self.deployer;
        let timeout = d.options.readiness_timeout;
        let outcome = self.waiter.wait(&resource, &r, timeout).await;
        match outcome.error_message(timeout) {
            None => true,
            Some(message) => {
                d.result.add_error(Some(&r), message);
                false
            }
        }
    }

    /// Applies one object that is neither a hook nor deleted; records everything. Returns the
    /// applied object's ref and resource.
    async fn apply_plain(
        &self,
        segment: usize,
        item: &DeployItem,
        r: &ObjectRef,
        local: &Value,
    ) -> Option<(ObjectRef, ApiResource)> {
        let d = self.deployer;
        if d.aborted() {
            return None;
        }
        d.result.set_rendered(local);
        let applied = self.apply_object(segment, item, r, local, false).await;
        let gate = owned_gate(local);
        match (&applied, gate) {
            (Some((_, resource)), Some(key @ GateKey::Crd(..))) if !d.options.apply.dry_run => {
                // Custom resources need the CRD established and in discovery.
                let state = if self.wait_ready(r.clone(), resource.clone()).await {
                    // Fetch discovery again now, so the custom resources find their kind.
                    let seen = d.client.discovery().await.map(|d| d.generation()).unwrap_or(0);
                    match d.client.refresh_discovery(seen).await {
                        Ok(_) => GateState::Open,
                        Err(e) => GateState::Failed(format!("is established, but discovery failed: {e}")),
                    }
                } else {
                    GateState::Failed(format!("{} did not become established", r.name))
                };
                self.gates.resolve(&key, state);
            }
            (Some(_), Some(key)) => {
                let state = if d.options.apply.dry_run {
                    GateState::DryRun
                } else {
                    GateState::Open
                };
                self.gates.resolve(&key, state);
            }
            (None, Some(key)) => self
                .gates
                .resolve(&key, GateState::Failed(format!("{r} failed to apply"))),
            _ => {}
        }
        applied
    }

    /// Applies one object (plain or hook) after its gates; records it in the result.
    pub(super) async fn apply_object(
        &self,
        segment: usize,
        item: &DeployItem,
        r: &ObjectRef,
        local: &Value,
        hook: bool,
    ) -> Option<(ObjectRef, ApiResource)> {
        let d = self.deployer;
        let dry_run = d.options.apply.dry_run;
        let gate = self.gates.wait_for(segment, local).await;
        if let GateState::Failed(reason) = &gate {
            d.result.add_error(Some(r), format!("not applied: {reason}"));
            d.progress.event(ProgressEvent::Failed(r));
            return None;
        }
        let resource = match d.client.resource_for(&r.api_version(), &r.kind).await {
            Ok(resource) => resource,
            Err(_) if dry_run && self.gates.has_crd(&r.group, &r.kind) => {
                d.result.mark_new(r);
                d.result.add_warning(
                    Some(r),
                    "the object's CustomResourceDefinition is not installed yet, so a dry run cannot check it",
                );
                return None;
            }
            Err(e) => {
                d.result.add_error(Some(r), e.to_string());
                d.progress.event(ProgressEvent::Failed(r));
                return None;
            }
        };
        let namespace_missing = resource.namespaced
            && r.namespace
                .as_deref()
                .is_some_and(|ns| !d.remote.namespace_exists(ns) && self.gates.has_namespace(ns));
        if dry_run && namespace_missing {
            return self.simulate_in_default(item, r, local, &resource, hook).await;
        }
        let paired = self.remote_index.get(local);
        let applier = ObjectApplier {
            client: d.client,
            options: d.options.apply,
            result: d.result,
        };
        match applier
            .apply(&resource, local, paired.as_ref().map(|(_, o)| *o), &item.resolver)
            .await
        {
            Ok(written) => {
                d.result.set_applied(&written.object);
                if hook {
                    d.result.mark_hook(r);
                } else {
                    self.record_changes(item, r, local, paired, &written.object);
                }
                d.progress.event(ProgressEvent::Applied(r));
                Some((r.clone(), resource))
            }
            Err(message) => {
                d.result.add_error(Some(r), message);
                d.progress.event(ProgressEvent::Failed(r));
                None
            }
        }
    }

    fn record_changes(
        &self,
        item: &DeployItem,
        r: &ObjectRef,
        local: &Value,
        paired: Option<(ObjectRef, &Value)>,
        applied: &Value,
    ) {
        let d = self.deployer;
        let Some((diff_ref, remote)) = paired else {
            d.result.mark_new(r);
            return;
        };
        if diff_ref.name == r.name {
            d.result.set_remote(remote);
        }
        match diff_object(&item.normalizer, remote, applied, local) {
            Ok(changes) => d.result.add_changes(r, changes),
            Err(e) => d.result.add_error(Some(r), format!("failed to diff: {e}")),
        }
    }

    /// Dry run into a Namespace the target creates: validate the object in `default` instead
    /// (Kluctl's trick), and report it as new.
    async fn simulate_in_default(
        &self,
        item: &DeployItem,
        r: &ObjectRef,
        local: &Value,
        resource: &ApiResource,
        hook: bool,
    ) -> Option<(ObjectRef, ApiResource)> {
        let d = self.deployer;
        let mut moved = local.clone();
        moved["metadata"]["namespace"] = Value::String("default".to_string());
        let applier = ObjectApplier {
            client: d.client,
            options: d.options.apply,
            result: d.result,
        };
        match applier.apply(resource, &moved, None, &item.resolver).await {
            Ok(mut written) => {
                written.object["metadata"]["namespace"] = Value::String(r.namespace.clone().unwrap_or_default());
                d.result.set_applied(&written.object);
                if hook {
                    d.result.mark_hook(r);
                } else {
                    d.result.mark_new(r);
                }
                d.result.add_warning(
                    Some(r),
                    format!(
                        "namespace {} does not exist yet, so the dry run checked the object in namespace default",
                        r.namespace.as_deref().unwrap_or_default()
                    ),
                );
                d.progress.event(ProgressEvent::Applied(r));
                None
            }
            Err(message) => {
                d.result.add_error(Some(r), message);
                d.progress.event(ProgressEvent::Failed(r));
                None
            }
        }
    }
}
