//! The controller: a kube-runtime [`Controller`] over `KluctlDeployment`s of one namespace, also
//! watching the Flux sources of that namespace, with the triggers of the agent spec (C.15):
//!
//! - a change of the object's generation, of its `reconcile.fluxcd.io/requestedAt` token
//!   (compared for inequality only) or its deletion;
//! - a change of a referenced source's artifact revision or digest;
//! - the timers the last reconcile asked for (`interval` with jitter, `retryInterval`, 30s).
//!
//! Status-only updates (the agent's own writes included) trigger nothing: every watch event
//! reaches [`Gate`], which lets through only the changes above or an expired timer. Objects are
//! read as dynamic objects and parsed one by one, so a malformed object never blocks the others.
//! At most `--concurrency` reconciles run at once, one per object.

use crate::artifact::Fetcher;
use crate::config::AgentConfig;
use crate::engine::Engine;
use crate::events::Recorder;
use crate::metrics::Metrics;
use crate::reconcile::{self, Outcome};
use crate::server::Health;
use crate::source::Sources;
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use shared::crd::{FluxSourceKind, KluctlDeployment, REQUESTED_AT_ANNOTATION};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything a reconcile needs, shared by all of them.
pub struct Context {
    /// The agent's configuration.
    pub config: AgentConfig,
    /// `KluctlDeployment`s of the namespace, read as dynamic objects.
    pub kd_api: Api<DynamicObject>,
    /// Flux sources.
    pub sources: Sources,
    /// Artifact downloads.
    pub fetcher: Fetcher,
    /// Render and deploy.
    pub engine: Arc<dyn Engine>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Events.
    pub recorder: Recorder,
    /// Trigger bookkeeping.
    pub gate: Gate,
}

/// What the gate remembers about one object.
#[derive(Clone, Copy, Debug)]
struct Tracked {
    token: u64,
    due: Option<Instant>,
    source_changed: bool,
}

/// Decides which watch events lead to a reconcile (see the module docs).
#[derive(Default)]
pub struct Gate {
    objects: Mutex<HashMap<String, Tracked>>,
    sources: Mutex<HashMap<(FluxSourceKind, String), (String, String)>>,
}

impl Gate {
    fn lock_objects(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tracked>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Some(action)` when nothing relevant changed and no timer expired: the reconcile is
    /// skipped and the pending timer kept.
    fn skip(&self, name: &str, token: u64) -> Option<Action> {
        let mut objects = self.lock_objects();
        let Some(tracked) = objects.get_mut(name) else {
            // The first reconcile of this object: track it from now on, so a source change
            // arriving while it runs is remembered and triggers the next one.
            objects.insert(
                name.to_string(),
                Tracked {
                    token,
                    due: None,
                    source_changed: false,
                },
            );
            return None;
        };
        if tracked.token != token || tracked.source_changed {
            // Cleared now, so a change arriving during this reconcile triggers another one.
            tracked.source_changed = false;
            return None;
        }
        match tracked.due {
            None => Some(Action::await_change()),
            Some(due) => {
                let now = Instant::now();
                (due > now).then(|| Action::requeue(due - now))
            }
        }
    }

    fn record(&self, name: &str, token: u64, requeue: Option<Duration>) {
        let mut objects = self.lock_objects();
        let source_changed = objects.get(name).is_some_and(|t| t.source_changed);
        objects.insert(
            name.to_string(),
            Tracked {
                token,
                due: requeue.map(|d| Instant::now() + d),
                source_changed,
            },
        );
    }

    fn forget(&self, name: &str) {
        self.lock_objects().remove(name);
    }

    /// Whether a source's artifact changed since it was last seen. The first sighting is not a
    /// change: every object is reconciled once at start anyway.
    fn source_changed(&self, kind: FluxSourceKind, source: &DynamicObject) -> bool {
        let value = serde_json::to_value(source).unwrap_or_default();
        let parsed = shared::crd::SourceObject::from_value(kind, &value);
        let identity = parsed
            .artifact
            .map(|a| {
                let digest = a.effective_digest().unwrap_or_default();
                (a.revision, digest)
            })
            .unwrap_or_default();
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        match sources.insert((kind, parsed.name), identity.clone()) {
            None => false,
            Some(previous) => previous != identity,
        }
    }

    fn mark_source_changed(&self, name: &str) {
        if let Some(tracked) = self.lock_objects().get_mut(name) {
            tracked.source_changed = true;
        }
    }
}

/// What identifies a change worth a reconcile: generation, request token, deletion, identity.
fn trigger_token(object: &DynamicObject) -> u64 {
    let meta = &object.metadata;
    let mut hasher = DefaultHasher::new();
    meta.uid.hash(&mut hasher);
    meta.generation.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(REQUESTED_AT_ANNOTATION))
        .hash(&mut hasher);
    hasher.finish()
}

/// The dynamic API resource of `KluctlDeployment`.
pub fn kd_resource() -> ApiResource {
    ApiResource::erase::<KluctlDeployment>(&())
}

async fn reconcile(object: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, std::convert::Infallible> {
    let name = object.metadata.name.clone().unwrap_or_default();
    let token = trigger_token(&object);
    if let Some(action) = ctx.gate.skip(&name, token) {
        return Ok(action);
    }
    ctx.metrics.in_flight(1);
    let started = Instant::now();
    let outcome: Outcome = reconcile::run(&object, &ctx).await;
    ctx.metrics.in_flight(-1);
    if outcome.gone {
        ctx.gate.forget(&name);
        ctx.metrics.forget(&name);
        ctx.recorder.forget(&name);
        return Ok(Action::await_change());
    }
    ctx.metrics.reconciled(
        &name,
        started.elapsed(),
        outcome.success,
        &outcome.reason,
        outcome.ready,
    );
    ctx.gate.record(&name, token, outcome.requeue);
    tracing::debug!(kluctldeployment = %name, reason = %outcome.reason, requeue = ?outcome.requeue, "reconciled");
    Ok(match outcome.requeue {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    })
}

fn error_policy(_: Arc<DynamicObject>, _: &std::convert::Infallible, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(10))
}

/// The objects referencing a source, from the controller's cache.
fn referencing(store: &Store<DynamicObject>, kind: FluxSourceKind, source: &str) -> Vec<ObjectRef<DynamicObject>> {
    let resource = kd_resource();
    store
        .state()
        .iter()
        .filter(|object| {
            let source_ref = object.data.pointer("/spec/sourceRef");
            let field = |key: &str| source_ref.and_then(|s| s.get(key)).and_then(|v| v.as_str());
            field("kind") == Some(kind.kind()) && field("name") == Some(source)
        })
        .map(|object| ObjectRef::from_obj_with(object.as_ref(), resource.clone()))
        .collect()
}

/// Runs the controller until `shutdown` resolves; in-flight reconciles finish first.
pub async fn run(
    ctx: Arc<Context>,
    client: kube::Client,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let namespace = ctx.config.namespace.clone();
    let resource = kd_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let mut controller = Controller::new_with(api, watcher::Config::default(), resource)
        .with_config(ControllerConfig::default().concurrency(ctx.config.concurrency));
    let store = controller.store();
    for (kind, source_resource) in ctx.sources.watched() {
        tracing::info!(kind = %kind, version = %source_resource.version, "watching Flux sources");
        let source_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &source_resource);
        let (store, gate_ctx) = (store.clone(), ctx.clone());
        controller = controller.watches_with(
            source_api,
            source_resource,
            watcher::Config::default(),
            move |source: DynamicObject| {
                if !gate_ctx.gate.source_changed(kind, &source) {
                    return Vec::new();
                }
                let name = source.metadata.name.clone().unwrap_or_default();
                let objects = referencing(&store, kind, &name);
                for object in &objects {
                    gate_ctx.gate.mark_source_changed(&object.name);
                }
                tracing::debug!(kind = %kind, source = %name, objects = objects.len(), "source artifact changed");
                objects
            },
        );
    }
    let ready_store = controller.store();
    let ready_health = health.clone();
    tokio::spawn(async move {
        if ready_store.wait_until_ready().await.is_ok() {
            ready_health.set_ready();
        }
    });
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::warn!(%error, "controller error");
            }
        })
        .await;
    health.set_stopping();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(generation: i64, token: Option<&str>) -> DynamicObject {
        let mut object = DynamicObject::new("app", &kd_resource());
        object.metadata.uid = Some("u1".into());
        object.metadata.generation = Some(generation);
        if let Some(token) = token {
            object.metadata.annotations = Some([(REQUESTED_AT_ANNOTATION.to_string(), token.to_string())].into());
        }
        object
    }

    #[test]
    fn only_relevant_changes_pass_the_gate() {
        let gate = Gate::default();
        let first = trigger_token(&object(1, None));
        // Never seen: reconcile.
        assert!(gate.skip("app", first).is_none());
        gate.record("app", first, Some(Duration::from_secs(300)));
        // A status write (same generation and token): skipped, timer kept.
        assert!(gate.skip("app", first).is_some());
        // A new generation, a new request token: reconcile.
        assert!(gate.skip("app", trigger_token(&object(2, None))).is_none());
        assert!(gate.skip("app", trigger_token(&object(1, Some("t1")))).is_none());
        // An expired timer: reconcile.
        gate.record("app", first, Some(Duration::ZERO));
        assert!(gate.skip("app", first).is_none());
        // Stalled objects wait for a change.
        gate.record("app", first, None);
        assert_eq!(gate.skip("app", first), Some(Action::await_change()));
        // A source change: reconcile once.
        gate.mark_source_changed("app");
        assert!(gate.skip("app", first).is_none());
        assert!(gate.skip("app", first).is_some());

        // A source change during the very first reconcile of an object is not lost.
        assert!(gate.skip("new", first).is_none());
        gate.mark_source_changed("new");
        gate.record("new", first, None);
        assert!(gate.skip("new", first).is_none());
    }

    #[test]
    fn source_changes_are_revision_or_digest_changes() {
        let gate = Gate::default();
        let source = |revision: &str, digest: &str| {
            let mut s = DynamicObject::new(
                "repo",
                &crate::source::api_resource(FluxSourceKind::GitRepository, "v1"),
            );
            s.data = serde_json::json!({"status": {"artifact": {"url": "http://x/a", "revision": revision, "digest": digest}}});
            s
        };
        let kind = FluxSourceKind::GitRepository;
        assert!(!gate.source_changed(kind, &source("r1", "d1")));
        assert!(!gate.source_changed(kind, &source("r1", "d1")));
        assert!(gate.source_changed(kind, &source("r1", "d2")));
        assert!(gate.source_changed(kind, &source("r2", "d2")));
    }
}
