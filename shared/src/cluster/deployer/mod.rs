//! [`Deployer`]: a target's items to the cluster, in Kluctl's order, as fast as the server lets.
//!
//! Input: [`DeployItem`]s (the rendered objects per deployment item, in declaration order), the
//! [`RemoteObjects`] read before, and [`DeployOptions`]. Output: everything recorded into the
//! [`ResultBuilder`]: applied, new and changed objects with their changes, hooks, deletions,
//! errors and warnings. `diff` is the same run with `dry_run`.
//!
//! Order:
//! - Items start in declaration order and run in parallel; an item with `barrier` waits for
//!   every item started before it (itself included) before the next one starts.
//! - Inside an item: `deleteObjects` and `kluctl.io/delete` objects are deleted; its Namespaces
//!   are applied, then its CRDs (and waited for until established); then the pre-deploy hooks
//!   run; then the other objects are applied in parallel; then, with `waitReadiness`, the item
//!   waits for them (and for `waitReadinessObjects`); then the post-deploy hooks run.
//! - Across the target, an object waits for its Namespace and its CRD when the target renders
//!   them (see `gates.rs`): CRDs plus custom resources in one item, or Namespaces in another
//!   item without a barrier, just work (Kluctl needs barriers and retries for that).
//! - `--abort-on-error`: nothing new starts after the first error.

mod gates;
mod hooks;
mod item;

use super::apply::ApplyOptions;
use super::client::ClusterClient;
use super::progress::{Progress, ProgressEvent};
use super::remote::RemoteObjects;
use super::wait::ReadinessWaiter;
use crate::deploy::conflicts::ConflictResolver;
use crate::diff::{Normalizer, RemoteDiffIndex};
use crate::result::ResultBuilder;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use gates::Gates;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// An object named by `deleteObjects` or `waitReadinessObjects`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSelector {
    /// API group (empty or absent: core, or any group serving `kind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    pub name: String,
    /// Namespace (for namespaced kinds; default: the context's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// One deployment item, rendered.
#[derive(Clone, Debug)]
pub struct DeployItem {
    /// How the item is shown (its directory, relative to the project).
    pub name: String,
    /// The rendered objects, in Kustomize order.
    pub objects: Vec<Value>,
    /// Wait for everything started so far before starting the next item.
    pub barrier: bool,
    /// Text shown at the barrier.
    pub message: Option<String>,
    /// Wait for the item's objects to become ready after applying them.
    pub wait_readiness: bool,
    /// Further objects to wait for after applying the item.
    pub wait_readiness_objects: Vec<ObjectSelector>,
    /// Objects to delete when the item is processed.
    pub delete_objects: Vec<ObjectSelector>,
    /// The item's diff normalization (`ignoreForDiff` and the `--ignore-*` flags).
    pub normalizer: Arc<Normalizer>,
    /// The item's conflict resolution rules.
    pub resolver: Arc<ConflictResolver>,
}

impl DeployItem {
    /// Whether the item does anything besides being a barrier.
    pub fn has_work(&self) -> bool {
        !self.objects.is_empty() || !self.delete_objects.is_empty() || !self.wait_readiness_objects.is_empty()
    }

    /// An item with default rules and no barrier or waits.
    pub fn new(name: impl Into<String>, objects: Vec<Value>) -> Self {
        DeployItem {
            name: name.into(),
            objects,
            barrier: false,
            message: None,
            wait_readiness: false,
            wait_readiness_objects: Vec::new(),
            delete_objects: Vec::new(),
            normalizer: Arc::new(Normalizer::default()),
            // Compiling no rules cannot fail.
            resolver: Arc::new(ConflictResolver::new(&[]).unwrap_or_else(|_| unreachable!())),
        }
    }
}

/// The flags of `deploy` (and `diff`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeployOptions {
    /// How objects are applied.
    pub apply: ApplyOptions,
    /// `--no-wait`: no readiness waits (hooks, `waitReadiness`, deletions).
    pub no_wait: bool,
    /// `--abort-on-error`.
    pub abort_on_error: bool,
    /// `--readiness-timeout`, per object.
    pub readiness_timeout: Duration,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            apply: ApplyOptions::default(),
            no_wait: false,
            abort_on_error: false,
            readiness_timeout: Duration::from_secs(300),
        }
    }
}

/// Runs a target's items (see the module docs).
pub struct Deployer<'a> {
    /// The cluster.
    pub client: &'a ClusterClient,
    /// The flags.
    pub options: DeployOptions,
    /// Where everything is recorded.
    pub result: &'a ResultBuilder,
    /// Progress reports.
    pub progress: &'a dyn Progress,
    /// The live state read before.
    pub remote: &'a RemoteObjects,
}

struct Run<'a> {
    deployer: &'a Deployer<'a>,
    gates: Gates,
    waiter: ReadinessWaiter<'a>,
    remote_index: RemoteDiffIndex<'a>,
}

impl Deployer<'_> {
    /// Deploys the items; all outcomes are in the result.
    pub async fn run(&self, items: &[DeployItem]) {
        let segments = segments(items);
        let segments = &segments;
        let owners = items.iter().enumerate().flat_map(|(i, item)| {
            item.objects
                .iter()
                .filter(|o| item::is_plain_object(o))
                .map(move |o| (i, segments[i], o))
        });
        let run = Run {
            deployer: self,
            gates: Gates::new(owners),
            waiter: ReadinessWaiter::new(self.client, self.progress),
            remote_index: RemoteDiffIndex::new(self.remote.all()),
        };
        self.progress.event(ProgressEvent::Planned {
            items: items.len(),
            objects: items.iter().map(|i| i.objects.len()).sum(),
        });
        let mut running = FuturesUnordered::new();
        let mut started = 0;
        for (index, item) in items.iter().enumerate() {
            if self.aborted() {
                break;
            }
            started = index + 1;
            let run = &run;
            // Reported when scheduled, so progress reads in declaration order.
            if item.has_work() {
                self.progress.event(ProgressEvent::ItemStarted(&item.name));
            }
            running.push(async move {
                run.item(index, segments[index], item).await;
                run.gates.close(|i| i == index, "was not applied");
            });
            if item.barrier {
                self.progress.event(ProgressEvent::Barrier(item.message.as_deref()));
                while running.next().await.is_some() {}
            }
        }
        // Items that never start must not leave others waiting for their Namespaces and CRDs.
        run.gates.close(|i| i >= started, "was not applied (--abort-on-error)");
        while running.next().await.is_some() {}
    }

    fn aborted(&self) -> bool {
        self.options.abort_on_error && self.result.error_count() > 0
    }
}

/// The barrier segment of each item: how many barriers come before it.
fn segments(items: &[DeployItem]) -> Vec<usize> {
    let mut segment = 0;
    items
        .iter()
        .map(|item| {
            let s = segment;
            if item.barrier {
                segment += 1;
            }
            s
        })
        .collect()
}
