//! One reconcile of one `KluctlDeployment`, step by step (the agent's data flow):
//!
//! ```text
//! object ─► parse + validate ─► finalizer / deletion ─► suspend ─► scope of references
//!   ─► source::get ─SourceObject─► dependencies ─► artifact::fetch ─FetchedArtifact─►
//!   engine::deploy ─EngineReport─► status (conditions, revisions, summary) + events
//! ```
//!
//! Every failure ends as a condition with its reason, an event on state changes, and the
//! requeue the spec asks for (`retryInterval`, 30s for missing artifacts and dependencies, none
//! for terminal errors); nothing here panics or returns early without recording why.
//! Deletion lives in [`finalize`].

mod finalize;

use crate::artifact::ArtifactRequest;
use crate::controller::Context;
use crate::dependencies::{self, DependencyState};
use crate::engine::{DeployRequest, Identity};
use crate::events::Severity;
use crate::status::StatusWriter;
use kube::api::DynamicObject;
use shared::crd::{FINALIZER, KluctlDeployment, SpecError, ValidatedSpec, reasons};
use std::time::{Duration, Instant};

/// How a reconcile ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// When to run again (`None`: only on a change).
    pub requeue: Option<Duration>,
    /// Whether it succeeded (for metrics).
    pub success: bool,
    /// The Ready reason it ended with.
    pub reason: String,
    /// The Ready status it ended with.
    pub ready: &'static str,
    /// The object is gone (finalized): forget its state and metrics.
    pub gone: bool,
}

impl Outcome {
    fn from_status(status: &StatusWriter<'_>, requeue: Option<Duration>) -> Self {
        let (ready, reason) = status.ready();
        Outcome {
            requeue,
            success: ready == "True",
            reason,
            ready,
            gone: false,
        }
    }

    fn retry(reason: &str, after: Duration) -> Self {
        Outcome {
            requeue: Some(after),
            success: false,
            reason: reason.to_string(),
            ready: "Unknown",
            gone: false,
        }
    }
}

/// A short retry for API errors that stopped a reconcile before it could record anything.
const API_RETRY: Duration = Duration::from_secs(10);

/// Reconciles one object.
pub async fn run(raw: &DynamicObject, ctx: &Context) -> Outcome {
    let object = match parse(raw) {
        Ok(object) => object,
        Err(message) => return malformed(raw, ctx, &message).await,
    };
    let name = object.metadata.name.clone().unwrap_or_default();
    if object.metadata.deletion_timestamp.is_some() {
        return finalize::run(&object, ctx).await;
    }
    if !has_finalizer(&object) {
        // Before the first deploy, so a deletion always finds the finalizer.
        if let Err(error) = finalize::add(ctx, &object).await {
            tracing::warn!(kluctldeployment = %name, %error, "failed to add the finalizer");
            return Outcome::retry("FinalizerFailed", API_RETRY);
        }
    }
    let mut status = StatusWriter::new(&ctx.kd_api, &object);
    let spec = match object.spec.validate() {
        Ok(spec) => spec,
        Err(error) => return stalled(ctx, &object, &mut status, spec_reason(&error), &error.to_string()).await,
    };
    if object.spec.suspend {
        status.handled_only();
        if let Err(error) = status.write().await {
            tracing::warn!(kluctldeployment = %name, %error);
        }
        tracing::debug!(kluctldeployment = %name, "suspended");
        let (ready, reason) = status.ready();
        return Outcome {
            requeue: None,
            success: true,
            reason,
            ready,
            gone: false,
        };
    }
    if let Some(message) = foreign_reference(&object, &ctx.config.namespace) {
        return stalled(ctx, &object, &mut status, reasons::ACCESS_DENIED, &message).await;
    }
    deploy(ctx, &object, &spec, &mut status).await
}

/// The steps from the source to the deploy; every exit records its outcome.
async fn deploy(
    ctx: &Context,
    object: &KluctlDeployment,
    spec: &ValidatedSpec,
    status: &mut StatusWriter<'_>,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + spec.timeout;
    let source_name = object.spec.source_ref.name.as_str();
    let source = match ctx
        .sources
        .get(spec.source_kind, spec.source_version.as_deref(), source_name)
        .await
    {
        Ok(source) => source,
        Err(error) => {
            return failed(
                ctx,
                object,
                status,
                reasons::ARTIFACT_FAILED,
                &error.to_string(),
                None,
                spec.retry_interval,
            )
            .await;
        }
    };
    let Some(artifact) = source.artifact.clone() else {
        let mut message = format!(
            "source artifact not found: {}/{source_name} has no artifact yet, retrying in {}",
            spec.source_kind,
            humantime(ctx.config.requeue_dependency)
        );
        if let Some(problem) = &source.artifact_problem {
            message.push_str(&format!(" ({problem})"));
        }
        if let Some(failing) = source.failing_message() {
            message.push_str(&format!("; the source is failing: {failing}"));
        }
        return failed(
            ctx,
            object,
            status,
            reasons::ARTIFACT_FAILED,
            &message,
            None,
            ctx.config.requeue_dependency,
        )
        .await;
    };
    let revision = artifact.revision.clone();
    if !object.spec.depends_on.is_empty() {
        let key = (spec.source_kind.kind().to_string(), source_name.to_string());
        match dependencies::check(&ctx.kd_api, object, &key, &revision).await {
            Ok(DependencyState::Ready) => {}
            Ok(DependencyState::NotReady(why)) => {
                let message = format!(
                    "dependencies do not meet ready condition ({why}), retrying in {}",
                    humantime(ctx.config.requeue_dependency)
                );
                status.failed(reasons::DEPENDENCY_NOT_READY, &message);
                status.finish();
                write(status, object).await;
                ctx.recorder
                    .emit(
                        object,
                        Severity::Normal,
                        reasons::DEPENDENCY_NOT_READY,
                        &message,
                        Some(&revision),
                        false,
                    )
                    .await;
                return Outcome::from_status(status, Some(ctx.config.requeue_dependency));
            }
            Ok(DependencyState::Cycle(cycle)) => {
                let message = format!("dependsOn forms a cycle: {}", cycle.join(" -> "));
                return stalled(ctx, object, status, reasons::DEPENDENCY_CYCLE, &message).await;
            }
            Err(error) => {
                let message = format!("failed to read dependencies: {error}");
                return failed(
                    ctx,
                    object,
                    status,
                    reasons::DEPENDENCY_NOT_READY,
                    &message,
                    Some(&revision),
                    API_RETRY,
                )
                .await;
            }
        }
    }
    status.progressing(&format!(
        "Fetching manifests for revision {revision} with a timeout of {}",
        humantime(spec.timeout)
    ));
    write(status, object).await;
    let request = ArtifactRequest {
        kind: spec.source_kind,
        namespace: &ctx.config.namespace,
        name: source_name,
        artifact: &artifact,
    };
    let fetched = match ctx.fetcher.fetch(&request, deadline).await {
        Ok(fetched) => {
            ctx.metrics.fetched("ok", fetched.downloaded_bytes);
            fetched
        }
        Err(error) => {
            ctx.metrics.fetched(error.metric_label(), 0);
            let requeue = if error.source_not_ready() {
                ctx.config.requeue_dependency.min(spec.retry_interval)
            } else {
                spec.retry_interval
            };
            let mut message = error.to_string();
            if let Some(failing) = source.failing_message() {
                message.push_str(&format!("; the source is failing: {failing}"));
            }
            return failed(
                ctx,
                object,
                status,
                reasons::ARTIFACT_FAILED,
                &message,
                Some(&revision),
                requeue,
            )
            .await;
        }
    };
    status.attempted(&revision, &fetched.digest);
    let project_dir = match fetched.project_dir(&spec.path) {
        Ok(dir) => dir,
        Err(error) => {
            return failed(
                ctx,
                object,
                status,
                reasons::ARTIFACT_FAILED,
                &error.to_string(),
                Some(&revision),
                spec.retry_interval,
            )
            .await;
        }
    };
    status.progressing(&format!("Deploying revision {revision}"));
    write(status, object).await;
    let identity = identity(object, ctx);
    let name = object.metadata.name.clone().unwrap_or_default();
    let request = DeployRequest {
        project_dir: &project_dir,
        name: &name,
        namespace: &ctx.config.namespace,
        spec: &object.spec,
        identity,
        allow_out_of_namespace: ctx.config.allow_out_of_namespace,
    };
    let report = match tokio::time::timeout_at(deadline.into(), ctx.engine.deploy(request)).await {
        Ok(report) => report,
        Err(_) => {
            let message = format!(
                "deploy of revision {revision} timed out after {} (raise spec.timeout)",
                humantime(spec.timeout)
            );
            return failed(
                ctx,
                object,
                status,
                reasons::RECONCILIATION_FAILED,
                &message,
                Some(&revision),
                spec.retry_interval,
            )
            .await;
        }
    };
    // The extracted tree is not needed any more.
    drop(fetched);
    if report.discriminator.is_some() {
        status.status.discriminator = report.discriminator.clone();
    }
    status.result(report.summary.clone());
    if let Some(failure) = &report.failure {
        if report.waited {
            status.healthy(Some(false), &failure.message);
        }
        return failed(
            ctx,
            object,
            status,
            failure.reason,
            &failure.message,
            Some(&revision),
            spec.retry_interval,
        )
        .await;
    }
    let message = format!("Applied revision: {revision}");
    let digest = status.status.last_attempted_digest.clone().unwrap_or_default();
    status.succeeded(&revision, &digest, artifact.origin_revision(), &message);
    status.healthy(report.waited.then_some(true), "all deployed objects are ready");
    status.finish();
    write(status, object).await;
    let event = match &report.changes {
        Some(changes) => format!("{changes}; reconciliation finished in {}", humantime(started.elapsed())),
        None => message.clone(),
    };
    ctx.recorder
        .emit(
            object,
            Severity::Normal,
            reasons::RECONCILIATION_SUCCEEDED,
            &event,
            Some(&revision),
            report.changes.is_some(),
        )
        .await;
    let interval = jittered(spec.interval, ctx.config.interval_jitter);
    Outcome::from_status(status, Some(interval))
}

fn parse(raw: &DynamicObject) -> Result<KluctlDeployment, String> {
    let value = serde_json::to_value(raw).map_err(|e| e.to_string())?;
    serde_json::from_value(value).map_err(|e| format!("failed to parse the KluctlDeployment: {e}"))
}

/// An object that does not match the schema (an older or hand-edited CRD): its own status says
/// why, and the other objects carry on.
async fn malformed(raw: &DynamicObject, ctx: &Context, message: &str) -> Outcome {
    let name = raw.metadata.name.clone().unwrap_or_default();
    tracing::warn!(kluctldeployment = %name, error = %message, "malformed KluctlDeployment");
    let mut shell = KluctlDeployment::new(&name, Default::default());
    shell.metadata = raw.metadata.clone();
    shell.status = raw
        .data
        .get("status")
        .and_then(|s| serde_json::from_value(s.clone()).ok());
    let mut status = StatusWriter::new(&ctx.kd_api, &shell);
    status.stalled(reasons::INVALID_SPEC, message);
    status.finish();
    write(&mut status, &shell).await;
    ctx.recorder
        .emit(&shell, Severity::Warning, reasons::INVALID_SPEC, message, None, false)
        .await;
    Outcome::from_status(&status, None)
}

fn has_finalizer(object: &KluctlDeployment) -> bool {
    object
        .metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == FINALIZER))
}

fn spec_reason(error: &SpecError) -> &'static str {
    match error {
        SpecError::UnsupportedSourceKind { .. } | SpecError::UnsupportedSourceVersion { .. } => {
            reasons::UNSUPPORTED_SOURCE_KIND
        }
        _ => reasons::INVALID_SPEC,
    }
}

/// A reference that leaves the agent's namespace, refused whatever RBAC would allow.
fn foreign_reference(object: &KluctlDeployment, namespace: &str) -> Option<String> {
    let foreign = |ns: &Option<String>| ns.as_deref().is_some_and(|ns| !ns.is_empty() && ns != namespace);
    if foreign(&object.spec.source_ref.namespace) {
        return Some(format!(
            "cross-namespace references are not allowed: sourceRef {}/{} is in namespace {}, the agent serves only {namespace}",
            object.spec.source_ref.kind,
            object.spec.source_ref.name,
            object.spec.source_ref.namespace.as_deref().unwrap_or_default()
        ));
    }
    if let Some(dep) = object.spec.depends_on.iter().find(|d| foreign(&d.namespace)) {
        return Some(format!(
            "cross-namespace references are not allowed: dependsOn {} is in namespace {}, the agent serves only {namespace}",
            dep.name,
            dep.namespace.as_deref().unwrap_or_default()
        ));
    }
    None
}

fn identity(object: &KluctlDeployment, ctx: &Context) -> Identity {
    match object
        .spec
        .service_account_name
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| ctx.config.default_service_account.clone())
    {
        Some(account) => Identity::ServiceAccount(account),
        None => Identity::Agent,
    }
}

async fn write(status: &mut StatusWriter<'_>, object: &KluctlDeployment) {
    if let Err(error) = status.write().await {
        tracing::warn!(kluctldeployment = ?object.metadata.name, %error);
    }
}

/// A retryable failure: Ready=False, a Warning event on state change, requeue after `requeue`.
async fn failed(
    ctx: &Context,
    object: &KluctlDeployment,
    status: &mut StatusWriter<'_>,
    reason: &str,
    message: &str,
    revision: Option<&str>,
    requeue: Duration,
) -> Outcome {
    tracing::info!(kluctldeployment = ?object.metadata.name, reason, message, "reconcile failed");
    status.failed(reason, message);
    status.finish();
    write(status, object).await;
    ctx.recorder
        .emit(object, Severity::Warning, reason, message, revision, false)
        .await;
    Outcome::from_status(status, Some(requeue))
}

/// A terminal failure: Stalled, a Warning event, no requeue until the object changes.
async fn stalled(
    ctx: &Context,
    object: &KluctlDeployment,
    status: &mut StatusWriter<'_>,
    reason: &str,
    message: &str,
) -> Outcome {
    tracing::info!(kluctldeployment = ?object.metadata.name, reason, message, "stalled");
    status.stalled(reason, message);
    status.finish();
    write(status, object).await;
    ctx.recorder
        .emit(object, Severity::Warning, reason, message, None, false)
        .await;
    Outcome::from_status(status, None)
}

/// `interval` spread by ±`jitter` (a fraction), so objects created together drift apart.
pub fn jittered(interval: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 {
        return interval;
    }
    let factor = 1.0 + (rand::random::<f64>() * 2.0 - 1.0) * jitter;
    interval.mul_f64(factor.max(0.0))
}

/// `5m0s`-style durations for messages, as Flux prints them.
pub fn humantime(duration: Duration) -> String {
    let total = duration.as_secs();
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if total == 0 {
        return format!("{}ms", duration.as_millis());
    }
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::crd::{DependencyReference, KluctlDeploymentSpec, SourceReference};

    #[test]
    fn jitter_stays_within_bounds() {
        let interval = Duration::from_secs(100);
        for _ in 0..200 {
            let d = jittered(interval, 0.05);
            assert!(d >= Duration::from_secs(95) && d <= Duration::from_secs(105), "{d:?}");
        }
        assert_eq!(jittered(interval, 0.0), interval);
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(humantime(Duration::from_secs(300)), "5m0s");
        assert_eq!(humantime(Duration::from_secs(30)), "30s");
        assert_eq!(humantime(Duration::from_secs(3725)), "1h2m5s");
        assert_eq!(humantime(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn references_outside_the_namespace_are_refused() {
        let mut object = KluctlDeployment::new(
            "app",
            KluctlDeploymentSpec {
                source_ref: SourceReference {
                    kind: "GitRepository".into(),
                    name: "repo".into(),
                    namespace: Some("team".into()),
                    ..Default::default()
                },
                interval: "1m".into(),
                ..Default::default()
            },
        );
        assert_eq!(foreign_reference(&object, "team"), None);
        object.spec.source_ref.namespace = Some("flux-system".into());
        assert!(
            foreign_reference(&object, "team")
                .unwrap()
                .contains("sourceRef GitRepository/repo")
        );
        object.spec.source_ref.namespace = None;
        object.spec.depends_on = vec![DependencyReference {
            name: "infra".into(),
            namespace: Some("other".into()),
        }];
        assert!(foreign_reference(&object, "team").unwrap().contains("dependsOn infra"));
    }
}
