//! The production [`Engine`]: the same library commands as `kubectl kluctl deploy`, `prune`
//! and `delete` (`shared::commands`), run with the agent's connection or an impersonated
//! ServiceAccount of its namespace.
//!
//! Input: a [`DeployRequest`] (extracted project directory and spec) or a [`DeleteRequest`]
//! (discriminator only). Output: an [`EngineReport`] whose summary is built by
//! `shared::result::ResultSummary` (bounded, Secret values masked).
//!
//! A deploy is: resolve the target (a discriminator is defaulted when the project sets none, so
//! prune and delete always work), render completely, check the scope ([`super::scope`]), apply
//! without pruning, then, only when the deploy had no errors and `spec.prune` is set, prune the
//! orphans of the agent's namespace. Nothing is applied when rendering or the scope check fails.
//! Unless the agent may deploy elsewhere, the connection is restricted to the namespace
//! (`ClusterClient::restrict_to_namespace`): no request of a run leaves it.

use super::{DeleteRequest, DeployRequest, Engine, EngineReport, Failure, Identity};
use futures::future::BoxFuture;
use shared::cluster::{ApplyOptions, ClusterClient, DeployOptions, NoProgress};
use shared::commands::{self, DeleteOptions, DeletePlan, DeployCommandOptions, RenderRequest, Session, Target};
use shared::crd::{KluctlDeploymentSpec, RunSummary, reasons};
use shared::diff::Obfuscator;
use shared::objects::ObjectRef;
use shared::result::{CommandInfo, CommandResult, Initiator, ResultOptions, ResultSummary};
use std::time::Duration;

/// Readiness timeout per object, as the Flux controller uses (the reconcile's timeout bounds
/// the whole run anyway).
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(600);

/// At most this many error messages go into a failure's condition message.
const ERRORS_IN_MESSAGE: usize = 3;

/// Renders and deploys with `shared` (see the module docs).
pub struct KluctlEngine {
    base: kube::Config,
    context: String,
    api_concurrency: usize,
    refused_vars_sources: shared::types::RefusedVarsSources,
}

impl KluctlEngine {
    /// An engine connecting with `base` (the agent's own configuration); `context` names the
    /// connection in results, `api_concurrency` bounds the API requests in flight per run
    /// (0: the engine's default).
    pub fn new(base: kube::Config, context: &str, api_concurrency: usize) -> Self {
        KluctlEngine {
            base,
            context: context.to_string(),
            api_concurrency,
            refused_vars_sources: Default::default(),
        }
    }

    /// Refuses these vars sources in every project (the agent's `--allow-vars-source` policy).
    pub fn refusing_vars_sources(mut self, refused: shared::types::RefusedVarsSources) -> Self {
        self.refused_vars_sources = refused;
        self
    }

    /// A fresh connection per run: the identity may differ per KluctlDeployment, and discovery
    /// picks up CRDs installed since the last run. Objects without a namespace land in the
    /// agent's namespace.
    fn client(&self, identity: &Identity, namespace: &str) -> Result<ClusterClient, Failure> {
        let mut config = self.base.clone();
        config.default_namespace = namespace.to_string();
        if let Some(user) = identity.impersonated_user(namespace) {
            // Without groups the API server adds the ServiceAccount's own groups.
            config.auth_info.impersonate = Some(user);
            config.auth_info.impersonate_groups = None;
        }
        ClusterClient::from_config(config, &self.context, self.api_concurrency, None).map_err(|e| Failure {
            reason: reasons::RECONCILIATION_FAILED,
            message: format!("failed to connect to the cluster: {e}"),
        })
    }

    async fn run_deploy(&self, request: &DeployRequest<'_>) -> Result<EngineReport, Failure> {
        let spec = request.spec;
        let client = self.client(&request.identity, request.namespace)?;
        if !request.allow_out_of_namespace {
            client.restrict_to_namespace(request.namespace);
        }
        let mut project = project_options(request.project_dir, spec)?;
        project.refused_vars_sources = self.refused_vars_sources.clone();
        let resolved = shared::project::resolve_target(&project).map_err(build_failed)?;
        if resolved.target.discriminator.as_deref().is_none_or(str::is_empty) {
            project.discriminator = Some(default_discriminator(request.namespace, request.name));
        }
        let render = RenderRequest {
            project,
            ..Default::default()
        };
        let rendered = commands::render_target(&client, &render).await.map_err(|e| match e {
            commands::PipelineError::Cluster(e) => Failure {
                reason: reasons::RECONCILIATION_FAILED,
                message: format!("failed to read the cluster: {e}"),
            },
            e => build_failed(e),
        })?;
        let target = &rendered.target;
        if !request.allow_out_of_namespace {
            let discovery = client.discovery().await.map_err(|e| Failure {
                reason: reasons::RECONCILIATION_FAILED,
                message: format!("failed to read the cluster: {e}"),
            })?;
            let objects: Vec<&serde_json::Value> = target.objects().collect();
            super::scope::check(&objects, request.namespace, |group, kind| {
                discovery.is_namespaced(group, kind)
            })
            .map_err(|violation| Failure {
                reason: reasons::BUILD_FAILED,
                message: violation.to_string(),
            })?;
        }
        let obfuscator = Obfuscator::new();
        for object in target.objects() {
            obfuscator.learn(object);
        }
        let options = deploy_options(spec);
        let mut info = command_info("deploy", spec);
        fill_deploy_info(&mut info, &options);
        let session = session(&client, info);
        let result = commands::deploy(
            &session,
            target,
            &DeployCommandOptions {
                deploy: options,
                prune: false,
            },
        )
        .await
        .map_err(|e| Failure {
            reason: reasons::RECONCILIATION_FAILED,
            message: obfuscator.scrub(&format!("failed to deploy: {e}")).into_owned(),
        })?;
        let mut report = EngineReport {
            discriminator: target.discriminator.clone(),
            summary: summary_of(&result, &obfuscator),
            waited: !spec.no_wait && !spec.dry_run,
            failure: failure_of(&result, &obfuscator, deploy_reason(&result), "deploy"),
            changes: None,
        };
        let mut counts = result.summary.clone();
        if spec.prune && report.failure.is_none() {
            let session = self::session(&client, command_info("prune", spec));
            let pruned = prune(
                &session,
                target,
                request.namespace,
                request.allow_out_of_namespace,
                spec,
            )
            .await
            .map_err(|message| Failure {
                reason: reasons::PRUNE_FAILED,
                message: obfuscator.scrub(&message).into_owned(),
            })?;
            report.summary.merge(summary_of(&pruned, &obfuscator));
            report.failure = failure_of(&pruned, &obfuscator, reasons::PRUNE_FAILED, "prune");
            counts.deleted_objects += pruned.summary.deleted_objects;
        }
        report.changes = describe_changes(counts.new_objects, counts.changed_objects, counts.deleted_objects);
        Ok(report)
    }

    async fn run_delete(&self, request: &DeleteRequest<'_>) -> Result<EngineReport, Failure> {
        let spec = request.spec;
        let client = self.client(&request.identity, request.namespace)?;
        if !request.allow_out_of_namespace {
            client.restrict_to_namespace(request.namespace);
        }
        let project = shared::project::Inclusion {
            include_tags: spec.include_tags.clone(),
            exclude_tags: spec.exclude_tags.clone(),
            include_dirs: spec.include_deployment_dirs.clone(),
            exclude_dirs: spec.exclude_deployment_dirs.clone(),
        };
        let target = Target {
            name: spec.target.clone(),
            discriminator: Some(request.discriminator.to_string()),
            inclusion: commands::pipeline::inclusion_of(&project).map_err(build_failed)?,
            items: Vec::new(),
        };
        let session = session(&client, command_info("delete", spec));
        let mut plan = commands::plan_delete(&session, &target).await.map_err(|e| Failure {
            reason: reasons::DELETION_FAILED,
            message: format!(
                "failed to list the objects of discriminator {}: {e}",
                request.discriminator
            ),
        })?;
        if !request.allow_out_of_namespace {
            keep_in_namespace(&mut plan, request.namespace);
        }
        let result = plan.execute(&session, delete_options(spec)).await;
        let obfuscator = Obfuscator::new();
        Ok(EngineReport {
            discriminator: Some(request.discriminator.to_string()),
            summary: summary_of(&result, &obfuscator),
            waited: false,
            failure: failure_of(&result, &obfuscator, reasons::DELETION_FAILED, "delete"),
            changes: describe_changes(0, 0, result.summary.deleted_objects),
        })
    }
}

impl Engine for KluctlEngine {
    fn deploy<'a>(&'a self, request: DeployRequest<'a>) -> BoxFuture<'a, EngineReport> {
        Box::pin(async move {
            self.run_deploy(&request).await.unwrap_or_else(|failure| EngineReport {
                failure: Some(failure),
                ..Default::default()
            })
        })
    }

    fn delete<'a>(&'a self, request: DeleteRequest<'a>) -> BoxFuture<'a, EngineReport> {
        Box::pin(async move {
            self.run_delete(&request).await.unwrap_or_else(|failure| EngineReport {
                failure: Some(failure),
                ..Default::default()
            })
        })
    }
}

/// The discriminator of a KluctlDeployment whose project sets none: unique per namespace and
/// name, so prune and delete never touch another deployment's objects.
pub fn default_discriminator(namespace: &str, name: &str) -> String {
    format!("kluctl-agent-{namespace}-{name}")
}

/// The project options a spec asks for (what `-t`, `-a`, `-I`, `-E`, `-F` say on the command line).
pub fn project_options(
    project_dir: &std::path::Path,
    spec: &KluctlDeploymentSpec,
) -> Result<shared::project::ProjectOptions, Failure> {
    let fixed_images = spec
        .images
        .iter()
        .map(|i| serde_json::to_value(i).and_then(serde_json::from_value))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure {
            reason: reasons::BUILD_FAILED,
            message: format!("failed to read spec.images: {e}"),
        })?;
    Ok(shared::project::ProjectOptions {
        project_dir: project_dir.to_path_buf(),
        target: spec.target.clone(),
        args: spec.args.clone().unwrap_or_default(),
        inclusion: shared::project::Inclusion {
            include_tags: spec.include_tags.clone(),
            exclude_tags: spec.exclude_tags.clone(),
            include_dirs: spec.include_deployment_dirs.clone(),
            exclude_dirs: spec.exclude_deployment_dirs.clone(),
        },
        fixed_images,
        ..Default::default()
    })
}

/// The engine's deploy options from the spec's flags.
pub fn deploy_options(spec: &KluctlDeploymentSpec) -> DeployOptions {
    DeployOptions {
        apply: ApplyOptions {
            dry_run: spec.dry_run,
            force_apply: spec.force_apply,
            replace_on_error: spec.replace_on_error || spec.force_replace_on_error,
            force_replace_on_error: spec.force_replace_on_error,
        },
        no_wait: spec.no_wait,
        abort_on_error: spec.abort_on_error,
        readiness_timeout: READINESS_TIMEOUT,
    }
}

fn delete_options(spec: &KluctlDeploymentSpec) -> DeleteOptions {
    DeleteOptions {
        dry_run: spec.dry_run,
        wait: (!spec.no_wait).then_some(READINESS_TIMEOUT),
    }
}

fn command_info(command: &str, spec: &KluctlDeploymentSpec) -> CommandInfo {
    let mut info = CommandInfo::new(command);
    info.initiator = Initiator::Agent;
    info.target = spec.target.clone();
    info.dry_run = spec.dry_run;
    info.no_wait = spec.no_wait;
    info.include_tags = spec.include_tags.clone();
    info.exclude_tags = spec.exclude_tags.clone();
    info.include_deployment_dirs = spec.include_deployment_dirs.clone();
    info.exclude_deployment_dirs = spec.exclude_deployment_dirs.clone();
    info
}

fn fill_deploy_info(info: &mut CommandInfo, options: &DeployOptions) {
    info.force_apply = options.apply.force_apply;
    info.replace_on_error = options.apply.replace_on_error;
    info.force_replace_on_error = options.apply.force_replace_on_error;
    info.abort_on_error = options.abort_on_error;
}

fn session(client: &ClusterClient, info: CommandInfo) -> Session<'_> {
    Session {
        client,
        info,
        // Results stay masked: nothing the agent writes ever reveals a Secret value.
        result_options: ResultOptions::default(),
        progress: &NoProgress,
    }
}

/// Prunes the orphans of the agent's namespace (never objects elsewhere, whatever RBAC allows,
/// unless the agent may deploy there).
async fn prune(
    session: &Session<'_>,
    target: &Target,
    namespace: &str,
    allow_out_of_namespace: bool,
    spec: &KluctlDeploymentSpec,
) -> Result<CommandResult, String> {
    let mut plan = commands::plan_prune(session, target)
        .await
        .map_err(|e| format!("failed to find the orphan objects: {e}"))?;
    if !allow_out_of_namespace {
        keep_in_namespace(&mut plan, namespace);
    }
    Ok(plan.execute(session, delete_options(spec)).await)
}

/// Drops objects outside `namespace` (and cluster-scoped ones) from a deletion plan.
fn keep_in_namespace(plan: &mut DeletePlan, namespace: &str) {
    plan.objects
        .retain(|r: &ObjectRef| r.namespace.as_deref() == Some(namespace));
}

fn summary_of(result: &CommandResult, obfuscator: &Obfuscator) -> RunSummary {
    RunSummary::from_summary(&ResultSummary::of(result, obfuscator))
}

/// The failure to report when `result` has errors: the count and the first messages.
fn failure_of(result: &CommandResult, obfuscator: &Obfuscator, reason: &'static str, verb: &str) -> Option<Failure> {
    if result.errors.is_empty() {
        return None;
    }
    let summary = ResultSummary::of(result, obfuscator);
    let first: Vec<String> = summary
        .error_messages
        .iter()
        .take(ERRORS_IN_MESSAGE)
        .map(ToString::to_string)
        .collect();
    let more = result.errors.len().saturating_sub(first.len());
    Some(Failure {
        reason,
        message: format!(
            "{verb} finished with {} error(s): {}{}",
            result.errors.len(),
            first.join("; "),
            if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            }
        ),
    })
}

/// `HealthCheckFailed` when every error is a readiness wait that failed or timed out (the
/// objects were applied), else `ReconciliationFailed`.
fn deploy_reason(result: &CommandResult) -> &'static str {
    let readiness = |m: &shared::result::ResultMessage| m.message.contains(READINESS_MARKER);
    if !result.errors.is_empty() && result.errors.iter().all(readiness) {
        reasons::HEALTH_CHECK_FAILED
    } else {
        reasons::RECONCILIATION_FAILED
    }
}

/// What every readiness error of `shared::cluster` says.
const READINESS_MARKER: &str = "waiting for readiness";

fn describe_changes(new: usize, changed: usize, deleted: usize) -> Option<String> {
    let parts: Vec<String> = [(new, "new"), (changed, "changed"), (deleted, "deleted")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    (!parts.is_empty()).then(|| format!("objects: {}", parts.join(", ")))
}

fn build_failed(error: impl std::fmt::Display) -> Failure {
    Failure {
        reason: reasons::BUILD_FAILED,
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_flags_become_deploy_options() {
        let spec = KluctlDeploymentSpec {
            dry_run: true,
            force_replace_on_error: true,
            abort_on_error: true,
            no_wait: true,
            ..Default::default()
        };
        let options = deploy_options(&spec);
        assert!(options.apply.dry_run && options.apply.replace_on_error && options.apply.force_replace_on_error);
        assert!(options.abort_on_error && options.no_wait && !options.apply.force_apply);
        assert_eq!(delete_options(&spec).wait, None);
    }

    #[test]
    fn spec_becomes_project_options() {
        let spec: KluctlDeploymentSpec = serde_json::from_value(serde_json::json!({
            "sourceRef": {"kind": "GitRepository", "name": "repo"}, "interval": "5m",
            "target": "prod", "args": {"replicas": 3, "env": "prod"},
            "includeTags": ["web"], "excludeDeploymentDirs": ["db"],
            "images": [{"image": "nginx", "resultImage": "nginx:1.27"}],
        }))
        .unwrap();
        let options = project_options(std::path::Path::new("/p"), &spec).unwrap();
        assert_eq!(options.target.as_deref(), Some("prod"));
        assert_eq!(options.args["replicas"], 3);
        assert_eq!(options.inclusion.include_tags, ["web"]);
        assert_eq!(options.inclusion.exclude_dirs, ["db"]);
        assert_eq!(options.fixed_images[0].result_image.as_deref(), Some("nginx:1.27"));
        assert_eq!(options.discriminator, None);
    }

    #[test]
    fn changes_are_described_only_when_there_are_some() {
        assert_eq!(describe_changes(0, 0, 0), None);
        assert_eq!(describe_changes(2, 0, 1).as_deref(), Some("objects: 2 new, 1 deleted"));
    }
}
