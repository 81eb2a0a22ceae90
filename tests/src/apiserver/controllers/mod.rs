//! The server's own controllers, fed by store events: CRD registration (synchronous, in
//! [`after_commit`]), namespace deletion, CRD cleanup and garbage collection ([`lifecycle`], always on),
//! and with `--simulate-controllers` the workload, Job, PVC and ServiceAccount simulation ([`simulate`]).

mod bootstrap;
mod lifecycle;
mod simulate;

pub use bootstrap::bootstrap;
pub use simulate::{FAIL_ANNOTATION, NEVER_READY_ANNOTATION};

use serde_json::Value;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

use super::kinds;
use super::registry::{GroupResource, ResourceInfo};
use super::state::ApiState;
use super::store::StoreEvent;

/// Runs right after a commit, before the request is answered: a CRD's resource is registered (or
/// updated) when the CRD is written and unregistered when it is removed, so it is usable at once.
pub fn after_commit(state: &ApiState, info: &ResourceInfo, object: &Value, removed: bool) {
    if info.group != "apiextensions.k8s.io" || info.kind != "CustomResourceDefinition" {
        return;
    }
    let previous = object
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .zip(object.pointer("/spec/names/plural").and_then(Value::as_str))
        .map(|(group, plural)| GroupResource::new(group, plural));
    if removed {
        if let Some(key) = previous {
            state.registry.remove(&key);
            state.store.drop_resource(&key);
            state.openapi.invalidate();
        }
        return;
    }
    match kinds::custom_resource_info(object) {
        Some(resource) => state.registry.insert(resource),
        None => {
            if let Some(key) = previous {
                state.registry.remove(&key);
            }
        }
    }
    state.openapi.invalidate();
}

/// Starts the controllers; they stop when `shutdown` fires.
pub fn spawn(state: Arc<ApiState>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let Ok((_, mut events, _)) = state.store.subscribe(None) else {
        return;
    };
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = shutdown.changed() => return,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => handle(&state, &event),
                Err(RecvError::Lagged(_)) => resync(&state),
                Err(RecvError::Closed) => return,
            }
        }
    });
}

fn handle(state: &Arc<ApiState>, event: &Arc<StoreEvent>) {
    lifecycle::on_event(state, event);
    if state.options.simulate_controllers {
        simulate::on_event(state, event);
    }
}

/// After missing events, look at everything that may need work.
fn resync(state: &Arc<ApiState>) {
    lifecycle::resync(state);
    if state.options.simulate_controllers {
        simulate::resync(state);
    }
}
