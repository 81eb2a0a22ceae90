//! Staging inside a target: objects wait for the Namespace they live in and for the CRD of
//! their kind when the same target renders it (an improvement on Kluctl, which leaves this to
//! barriers and retries).
//!
//! Every rendered Namespace and CRD owns a gate; its item opens it once the Namespace is
//! applied, or once the CRD is applied and established. An object waits on a gate only when
//! the owning item runs in the same barrier segment or an earlier one, so a dependency placed
//! after a barrier never deadlocks (such an object fails as it would in Kluctl). Namespaces
//! and CRDs wait for nothing, and each item stages its Namespaces and CRDs before anything
//! else, so gates never wait on each other.

use crate::objects::ObjectRef;
use serde_json::Value;
use std::collections::HashMap;
use tokio::sync::watch;

/// What a gate protects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum GateKey {
    /// A Namespace, by name.
    Namespace(String),
    /// A CRD, by the group and kind it serves.
    Crd(String, String),
}

/// The state of a gate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum GateState {
    /// Not applied yet.
    Pending,
    /// Applied (and established): go ahead.
    Open,
    /// Dry run: it would be created; the dependent cannot be checked against it.
    DryRun,
    /// It failed or was never applied; the reason.
    Failed(String),
}

struct Gate {
    item: usize,
    segment: usize,
    state: watch::Sender<GateState>,
}

/// The gates of one deploy.
pub(super) struct Gates {
    gates: HashMap<GateKey, Gate>,
}

/// The gate an object owns, if it is a Namespace or a CRD.
pub(super) fn owned_gate(object: &Value) -> Option<GateKey> {
    let r = ObjectRef::from_object(object)?;
    match (r.group.as_str(), r.kind.as_str()) {
        ("", "Namespace") => Some(GateKey::Namespace(r.name)),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            let group = object.pointer("/spec/group").and_then(Value::as_str)?;
            let kind = object.pointer("/spec/names/kind").and_then(Value::as_str)?;
            Some(GateKey::Crd(group.to_string(), kind.to_string()))
        }
        _ => None,
    }
}

impl Gates {
    /// Gates for the owners: `(item, segment, object)` of every object that will be applied.
    pub fn new<'a>(owners: impl IntoIterator<Item = (usize, usize, &'a Value)>) -> Self {
        let mut gates = HashMap::new();
        for (item, segment, object) in owners {
            if let Some(key) = owned_gate(object) {
                gates.entry(key).or_insert_with(|| Gate {
                    item,
                    segment,
                    state: watch::channel(GateState::Pending).0,
                });
            }
        }
        Gates { gates }
    }

    /// Whether the target renders a CRD for this group and kind.
    pub fn has_crd(&self, group: &str, kind: &str) -> bool {
        self.gates
            .contains_key(&GateKey::Crd(group.to_string(), kind.to_string()))
    }

    /// Whether the target renders this Namespace.
    pub fn has_namespace(&self, name: &str) -> bool {
        self.gates.contains_key(&GateKey::Namespace(name.to_string()))
    }

    /// Opens or fails a gate.
    pub fn resolve(&self, key: &GateKey, state: GateState) {
        if let Some(gate) = self.gates.get(key) {
            gate.state.send_if_modified(|s| {
                let pending = *s == GateState::Pending;
                if pending {
                    *s = state;
                }
                pending
            });
        }
    }

    /// Fails every gate still pending of the given items (they ended or never started).
    pub fn close(&self, items: impl Fn(usize) -> bool, reason: &str) {
        for (key, gate) in &self.gates {
            if items(gate.item) {
                let what = match key {
                    GateKey::Namespace(n) => format!("Namespace {n}"),
                    GateKey::Crd(g, k) => format!("the CRD of {k}.{g}"),
                };
                self.resolve(key, GateState::Failed(format!("{what} {reason}")));
            }
        }
    }

    /// Waits until every gate `object` depends on is decided, for an object of an item in
    /// `segment`. Returns the first failure, else `DryRun` if any gate is, else `Open`.
    pub async fn wait_for(&self, segment: usize, object: &Value) -> GateState {
        let Some(r) = ObjectRef::from_object(object) else {
            return GateState::Open;
        };
        let mut keys = vec![GateKey::Crd(r.group.clone(), r.kind.clone())];
        if let Some(ns) = &r.namespace {
            keys.push(GateKey::Namespace(ns.clone()));
        }
        // Namespaces and CRDs never wait, so gates cannot wait on each other.
        if owned_gate(object).is_some() {
            return GateState::Open;
        }
        let mut outcome = GateState::Open;
        for key in keys {
            let Some(gate) = self.gates.get(&key) else { continue };
            if gate.segment > segment {
                continue;
            }
            let mut rx = gate.state.subscribe();
            let state = match rx.wait_for(|s| *s != GateState::Pending).await {
                Ok(s) => s.clone(),
                Err(_) => GateState::Failed("was never applied".to_string()),
            };
            match state {
                GateState::Open => {}
                GateState::DryRun if outcome == GateState::Open => outcome = GateState::DryRun,
                GateState::Failed(_) => return state,
                _ => {}
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}}})
    }

    fn widget(ns: &str) -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": ns}})
    }

    #[tokio::test]
    async fn objects_wait_for_their_crd_and_namespace_in_the_same_segment_only() {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}});
        let (crd, ns) = (crd(), ns);
        let gates = Gates::new([(0, 0, &ns), (1, 0, &crd)]);
        assert!(gates.has_crd("example.com", "Widget") && gates.has_namespace("apps"));

        let w = widget("apps");
        let waiting = gates.wait_for(0, &w);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), waiting.as_mut())
                .await
                .is_err(),
            "blocked while the gates are pending"
        );
        gates.resolve(&GateKey::Namespace("apps".into()), GateState::Open);
        gates.resolve(&GateKey::Crd("example.com".into(), "Widget".into()), GateState::DryRun);
        assert_eq!(waiting.await, GateState::DryRun);

        // A CRD that comes after a barrier is not waited for.
        let later = Gates::new([(5, 2, &crd)]);
        assert_eq!(later.wait_for(0, &widget("x")).await, GateState::Open);

        // Gates of items that ended without opening them fail their dependents.
        let failing = Gates::new([(1, 0, &crd)]);
        failing.close(|i| i == 1, "failed to apply");
        match failing.wait_for(0, &widget("x")).await {
            GateState::Failed(reason) => assert!(reason.contains("Widget.example.com"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
