//! `dependsOn`: a `KluctlDeployment` waits until every dependency (in the same namespace) exists,
//! has reconciled its current generation, is `Ready=True` and, when it uses the same source, has
//! applied the revision this one is about to deploy. Dependencies are read from the API, not a
//! cache; cycles are found by walking the graph and are terminal.
//!
//! Input: the object, its source and the artifact revision. Output: a [`DependencyState`].

use kube::Api;
use kube::api::DynamicObject;
use shared::crd::conditions::{self, READY};
use shared::crd::{ConditionStatus, KluctlDeployment};
use std::collections::{BTreeSet, VecDeque};

/// Walks stop after this many objects (a namespace with more is not a dependency chain).
const MAX_GRAPH_NODES: usize = 256;

/// Whether the dependencies allow a deploy now.
#[derive(Debug, PartialEq, Eq)]
pub enum DependencyState {
    /// All dependencies are ready.
    Ready,
    /// One is not: why.
    NotReady(String),
    /// The dependencies lead back to the object: the cycle, as names.
    Cycle(Vec<String>),
}

/// Checks the dependencies of `object` (which deploys `revision` of source `source_key`).
pub async fn check(
    api: &Api<DynamicObject>,
    object: &KluctlDeployment,
    source_key: &(String, String),
    revision: &str,
) -> Result<DependencyState, kube::Error> {
    let me = object.metadata.name.clone().unwrap_or_default();
    if let Some(cycle) = find_cycle(api, &me, object).await? {
        return Ok(DependencyState::Cycle(cycle));
    }
    for dependency in &object.spec.depends_on {
        let Some(raw) = api.get_opt(&dependency.name).await? else {
            return Ok(DependencyState::NotReady(format!(
                "dependency {} not found",
                dependency.name
            )));
        };
        let dep = match parse(&raw) {
            Some(dep) => dep,
            None => {
                return Ok(DependencyState::NotReady(format!(
                    "dependency {} cannot be read as a KluctlDeployment",
                    dependency.name
                )));
            }
        };
        if let Some(reason) = not_ready_reason(&dep, source_key, revision) {
            return Ok(DependencyState::NotReady(format!(
                "dependency {} {reason}",
                dependency.name
            )));
        }
    }
    Ok(DependencyState::Ready)
}

fn parse(raw: &DynamicObject) -> Option<KluctlDeployment> {
    serde_json::to_value(raw)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
}

/// Why a dependency is not ready, `None` when it is.
pub fn not_ready_reason(dep: &KluctlDeployment, source_key: &(String, String), revision: &str) -> Option<String> {
    let status = dep.status.clone().unwrap_or_default();
    if status.observed_generation != dep.metadata.generation {
        return Some("has not reconciled its latest generation yet".to_string());
    }
    let ready = conditions::find(&status.conditions, READY);
    if !ready.is_some_and(|c| c.status == ConditionStatus::True) {
        return Some("is not ready".to_string());
    }
    let dep_source = (dep.spec.source_ref.kind.clone(), dep.spec.source_ref.name.clone());
    if &dep_source == source_key && status.last_applied_revision.as_deref() != Some(revision) {
        return Some(format!("has not applied revision {revision} yet"));
    }
    None
}

/// A cycle through `me`, found by a breadth-first walk over `dependsOn` edges.
async fn find_cycle(
    api: &Api<DynamicObject>,
    me: &str,
    object: &KluctlDeployment,
) -> Result<Option<Vec<String>>, kube::Error> {
    let mut queue: VecDeque<(String, Vec<String>)> = object
        .spec
        .depends_on
        .iter()
        .map(|d| (d.name.clone(), vec![me.to_string(), d.name.clone()]))
        .collect();
    let mut seen = BTreeSet::new();
    while let Some((name, path)) = queue.pop_front() {
        if name == me {
            return Ok(Some(path));
        }
        if !seen.insert(name.clone()) || seen.len() > MAX_GRAPH_NODES {
            continue;
        }
        let Some(raw) = api.get_opt(&name).await? else { continue };
        let Some(dep) = parse(&raw) else { continue };
        for next in &dep.spec.depends_on {
            let mut next_path = path.clone();
            next_path.push(next.name.clone());
            queue.push_back((next.name.clone(), next_path));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::crd::{Condition, KluctlDeploymentSpec, KluctlDeploymentStatus, SourceReference, reasons};

    fn dep(generation: i64, observed: i64, ready: ConditionStatus, applied: &str) -> KluctlDeployment {
        let mut d = KluctlDeployment::new(
            "infra",
            KluctlDeploymentSpec {
                source_ref: SourceReference {
                    kind: "GitRepository".into(),
                    name: "repo".into(),
                    ..Default::default()
                },
                interval: "1m".into(),
                ..Default::default()
            },
        );
        d.metadata.generation = Some(generation);
        d.status = Some(KluctlDeploymentStatus {
            observed_generation: Some(observed),
            conditions: vec![Condition::new(
                READY,
                ready,
                reasons::RECONCILIATION_SUCCEEDED,
                "",
                None,
            )],
            last_applied_revision: Some(applied.into()),
            ..Default::default()
        });
        d
    }

    #[test]
    fn readiness_follows_flux_rules() {
        let same = ("GitRepository".to_string(), "repo".to_string());
        let other = ("GitRepository".to_string(), "other".to_string());
        assert_eq!(
            not_ready_reason(&dep(2, 2, ConditionStatus::True, "r1"), &same, "r1"),
            None
        );
        assert_eq!(
            not_ready_reason(&dep(3, 2, ConditionStatus::True, "r1"), &same, "r1").unwrap(),
            "has not reconciled its latest generation yet"
        );
        assert_eq!(
            not_ready_reason(&dep(2, 2, ConditionStatus::False, "r1"), &same, "r1").unwrap(),
            "is not ready"
        );
        assert_eq!(
            not_ready_reason(&dep(2, 2, ConditionStatus::True, "r1"), &same, "r2").unwrap(),
            "has not applied revision r2 yet"
        );
        // Another source: its revision is not comparable.
        assert_eq!(
            not_ready_reason(&dep(2, 2, ConditionStatus::True, "r1"), &other, "r2"),
            None
        );
    }
}
