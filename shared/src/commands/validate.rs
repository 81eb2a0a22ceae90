//! `validate`: the readiness of every deployed object of the target, once or, with `--wait`,
//! repeatedly until all are ready or the time is up (Kluctl's `validate`).

use super::{Session, Target};
use crate::cluster::wait::ReadinessWaiter;
use crate::cluster::{ClusterError, ProgressEvent};
use crate::deploy::hooks::parse_hook;
use crate::deploy::readiness::{Readiness, validate_results};
use crate::diff::Obfuscator;
use crate::diff::rules::bool_annotation;
use crate::objects::ObjectRef;
use crate::result::ValidateResult;
use futures::future::join_all;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// The flags of `validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidateOptions {
    /// `--wait`: validate again until everything is ready, at most this long.
    pub wait: Option<Duration>,
    /// `--sleep`: the pause between two rounds.
    pub sleep: Duration,
    /// `--warnings-as-errors`.
    pub warnings_as_errors: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            wait: None,
            sleep: Duration::from_secs(5),
            warnings_as_errors: false,
        }
    }
}

/// Validates the deployed objects of `target` (hooks and `kluctl.io/delete` objects are not
/// part of the deployed state and are skipped).
pub async fn validate(
    session: &Session<'_>,
    target: &Target,
    options: &ValidateOptions,
) -> Result<ValidateResult, ClusterError> {
    let obfuscator = Obfuscator::new();
    target.objects().for_each(|o| obfuscator.learn(o));
    let objects: Vec<(ObjectRef, &Value)> = target
        .objects()
        .filter(|o| !bool_annotation(o, "kluctl.io/delete", false) && parse_hook(o).hook.is_none())
        .filter_map(|o| Some((ObjectRef::from_object(o)?, o)))
        .collect();
    session.client.discovery().await?;
    let waiter = ReadinessWaiter::new(session.client, session.progress);
    let deadline = options.wait.map(|w| Instant::now() + w);
    loop {
        let last_round = deadline.is_none_or(|d| Instant::now() + options.sleep >= d);
        session.progress.event(ProgressEvent::Step("validating"));
        let mut result = validate_once(session, &waiter, &objects, deadline.is_some() && last_round).await;
        result.scrub(&obfuscator);
        let result = result.finish(options.warnings_as_errors);
        if result.ready || last_round {
            return Ok(result);
        }
        tokio::time::sleep(options.sleep).await;
    }
}

async fn validate_once(
    session: &Session<'_>,
    waiter: &ReadinessWaiter<'_>,
    objects: &[(ObjectRef, &Value)],
    not_ready_is_error: bool,
) -> ValidateResult {
    let checks = objects.iter().map(|(r, _)| async move {
        let resource = session.client.resource_for(&r.api_version(), &r.kind).await;
        let live = match &resource {
            Ok(resource) => {
                let namespace = resource
                    .namespaced
                    .then(|| r.namespace.as_deref().unwrap_or(session.client.default_namespace()));
                session
                    .client
                    .get_object(resource, namespace, &r.name)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let check = match &live {
            Ok(Some(object)) => Some(waiter.check(object).await),
            _ => None,
        };
        (r, live, check)
    });
    let mut result = ValidateResult::new();
    for (r, live, check) in join_all(checks).await {
        let object = match live {
            Ok(Some(object)) => object,
            Ok(None) => {
                result.add_error(r, "object not found (is the target deployed?)");
                continue;
            }
            Err(e) => {
                result.add_error(r, format!("failed to read the object: {e}"));
                continue;
            }
        };
        let Some((readiness, warnings)) = check else { continue };
        for w in warnings {
            result.add_warning(r, w);
        }
        match readiness {
            Readiness::Ready => {}
            Readiness::NotReady(reason) => result.add_not_ready(r, reason, not_ready_is_error),
            Readiness::Failed(reason) => result.add_error(r, reason),
        }
        for (annotation, message) in validate_results(&object) {
            result.add_result(r, annotation, message);
        }
    }
    result
}
