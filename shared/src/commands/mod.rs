//! Stage 6 entry points: `diff`, `deploy`, `prune`, `delete` and `validate` as library
//! functions, shared by the plugin and the agent. Printing, prompts and exit codes are the
//! caller's job.
//!
//! Input: a connected [`ClusterClient`] and the rendered target ([`Target`]: items in
//! deployment order, discriminator, inclusion filters). Output: a
//! [`crate::result::CommandResult`] (or a [`crate::result::ValidateResult`]); errors on single
//! objects are in it, and only what stops a command as a whole is an `Err`.
//!
//! [`render_target`] (`pipeline.rs`) turns a project on disk into that [`Target`] with the
//! command's own connection: the target's context is read first ([`target_context`]), then the
//! project is loaded and rendered completely before any command writes.
//!
//! Confirmation happens between two calls: `deploy` is [`diff`] (pass 1, printed and
//! confirmed by the caller), then [`deploy`] (pass 2); `prune` and `delete` are
//! [`plan_prune`] / [`plan_delete`] (the exact list, printed and confirmed), then
//! [`DeletePlan::execute`].

mod delete;
mod diff;
pub mod pipeline;
mod validate;

pub use crate::cluster::orphans::DeleteOptions;
pub use delete::{DeletePlan, plan_delete, plan_prune};
pub use diff::{deploy, diff};
pub use pipeline::{PipelineError, RenderRequest, RenderedTarget, render_target, target_context};
pub use validate::{ValidateOptions, validate};

use crate::cluster::{ClusterClient, DeployItem, DeployOptions, Progress, RemoteObjects};
use crate::deploy::inclusion::Inclusion;
use crate::objects::ObjectRef;
use crate::result::{CommandInfo, ResultBuilder, ResultOptions, TargetKey};
use serde_json::Value;

/// A rendered target: what every command works on.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// The target's name (after `-T`), if it has one.
    pub name: Option<String>,
    /// The discriminator; `None` disables orphan detection (and `prune`/`delete` refuse).
    pub discriminator: Option<String>,
    /// The inclusion filters (`-I`, `-E`, `--include-deployment-dir`, ...).
    pub inclusion: Inclusion,
    /// The included deployment items, in deployment order.
    pub items: Vec<DeployItem>,
}

impl Target {
    /// Every rendered object, in deployment order.
    pub fn objects(&self) -> impl Iterator<Item = &Value> {
        self.items.iter().flat_map(|i| i.objects.iter())
    }

    /// The refs of every rendered object.
    pub fn refs(&self) -> Vec<ObjectRef> {
        self.objects().filter_map(ObjectRef::from_object).collect()
    }

    fn discriminator(&self) -> Option<&str> {
        self.discriminator.as_deref().filter(|d| !d.trim().is_empty())
    }
}

/// What every command needs besides the target.
pub struct Session<'a> {
    /// The cluster.
    pub client: &'a ClusterClient,
    /// The command as recorded in the result (verb, flags, start time).
    pub info: CommandInfo,
    /// `--no-obfuscate` and whether to keep objects in the result.
    pub result_options: ResultOptions,
    /// Progress reports.
    pub progress: &'a dyn Progress,
}

/// The flags of `deploy` beyond applying.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeployCommandOptions {
    /// How to apply and wait.
    pub deploy: DeployOptions,
    /// `--prune`: delete the orphans after deploying.
    pub prune: bool,
}

impl Session<'_> {
    /// Starts a result: target key (with the cluster id), Secret values learned.
    async fn start(&self, target: &Target) -> ResultBuilder {
        let result = ResultBuilder::new(self.info.clone(), self.result_options);
        result.learn_secrets(target.objects());
        result.set_target_key(TargetKey {
            target_name: target.name.clone(),
            cluster_id: self.cluster_id(&result).await,
            discriminator: target.discriminator().map(str::to_string),
        });
        result
    }

    /// The UID of the `kube-system` Namespace (Kluctl's cluster id); a warning when unreadable.
    async fn cluster_id(&self, result: &ResultBuilder) -> Option<String> {
        // `kube-system` is outside a namespace-scoped caller's namespace.
        if self.client.namespace_scope().is_some() {
            return None;
        }
        let namespaces = self
            .client
            .discovery()
            .await
            .ok()?
            .preferred("", "Namespace")
            .cloned()?;
        match self.client.get_object(&namespaces, None, "kube-system").await {
            Ok(Some(ns)) => ns.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string),
            Ok(None) => None,
            Err(e) => {
                result.add_warning(
                    None,
                    format!("failed to read the cluster id (kube-system namespace): {e}"),
                );
                None
            }
        }
    }
}

/// Marks the orphans of a target in the result (objects with the discriminator that are no
/// longer rendered); returns them in deletion order.
fn mark_orphans(target: &Target, remote: &RemoteObjects, result: &ResultBuilder) -> Vec<ObjectRef> {
    let Some(discriminator) = target.discriminator() else {
        return Vec::new();
    };
    let rendered = target.refs();
    match crate::cluster::orphans::select(remote, Some(discriminator), &target.inclusion, Some(&rendered)) {
        Ok(selection) => {
            for r in &selection.delete {
                result.mark_orphan(r);
            }
            selection.delete
        }
        Err(e) => {
            result.add_error(None, e.to_string());
            Vec::new()
        }
    }
}

const NO_DISCRIMINATOR_WARNING: &str = "no discriminator configured: orphan object detection will not work (set `discriminator` in .kluctl.yaml or the target)";
