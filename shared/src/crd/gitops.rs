//! The cluster side of `kubectl kluctl gitops ...`, `install-crds` and `agent install`: reading
//! `KluctlDeployment`s into table rows, suspending and resuming, requesting a reconcile and
//! waiting for the agent to handle it, deleting, and applying the objects of
//! [`super::manifests`].
//!
//! Input: a `kube::Client` and names. Output: typed objects, [`StatusRow`]s, or a [`GitopsError`]
//! that says what failed and what to do. Applies are server-side, as field manager `kluctl`.

use super::conditions::{self, READY};
use super::{API_VERSION, APPLY_FIELD_MANAGER, KIND, KluctlDeployment, REQUESTED_AT_ANNOTATION};
use chrono::{DateTime, Utc};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What a GitOps operation could not do.
#[derive(Debug, thiserror::Error)]
pub enum GitopsError {
    /// The KluctlDeployment does not exist.
    #[error(
        "failed to find KluctlDeployment {namespace}/{name} (list them with `kubectl kluctl gitops list -n {namespace}`)"
    )]
    NotFound {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The CRD is not installed.
    #[error(
        "failed to find the KluctlDeployment API: the CRD is not installed (run `kubectl kluctl install-crds` once, as cluster-admin)"
    )]
    NoCrd,
    /// An API call failed.
    #[error("failed to {action}: {cause}")]
    Api {
        /// What was being done.
        action: String,
        /// The API error.
        cause: String,
    },
    /// The object is not a valid KluctlDeployment.
    #[error("failed to read KluctlDeployment {name}: {cause}")]
    Parse {
        /// Name.
        name: String,
        /// What does not parse.
        cause: String,
    },
    /// The agent did not handle a request in time.
    #[error(
        "failed to wait for the reconcile of {namespace}/{name}: the agent did not handle it within {waited:?} (is `kluctl-agent` running in {namespace}? see `kubectl -n {namespace} logs deploy/kluctl-agent`)"
    )]
    NotHandled {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// How long it waited.
        waited: Duration,
    },
    /// An object to apply has no kind, name or API version.
    #[error("failed to apply an object: {0}")]
    InvalidObject(String),
}

fn api_error(action: impl Into<String>, e: kube::Error) -> GitopsError {
    if let kube::Error::Api(status) = &e
        && status.code == 404
        && status
            .message
            .contains("the server could not find the requested resource")
    {
        return GitopsError::NoCrd;
    }
    GitopsError::Api {
        action: action.into(),
        cause: e.to_string(),
    }
}

/// One line of `gitops list` / `gitops get`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRow {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Last applied revision (or the attempted one while nothing was applied).
    pub revision: String,
    /// Whether `spec.suspend` is set.
    pub suspended: bool,
    /// `True`, `False` or `Unknown`.
    pub ready: String,
    /// The Ready message.
    pub message: String,
    /// Age, as kubectl prints it (`5m`, `3h`, `2d`).
    pub age: String,
}

impl StatusRow {
    /// The row of an object now.
    pub fn now(kd: &KluctlDeployment) -> Self {
        Self::of(kd, Utc::now())
    }

    /// The row of an object, with its age relative to `now`.
    pub fn of(kd: &KluctlDeployment, now: DateTime<Utc>) -> Self {
        let status = kd.status.clone().unwrap_or_default();
        let ready = conditions::find(&status.conditions, READY);
        StatusRow {
            namespace: kd.metadata.namespace.clone().unwrap_or_default(),
            name: kd.metadata.name.clone().unwrap_or_default(),
            revision: status
                .last_applied_revision
                .or(status.last_attempted_revision)
                .unwrap_or_default(),
            suspended: kd.spec.suspend,
            ready: ready
                .map(|c| c.status.as_str().to_string())
                .unwrap_or_else(|| "Unknown".into()),
            message: ready
                .map(|c| c.message.replace('\n', " "))
                .unwrap_or_else(|| "waiting for the agent".into()),
            age: kd
                .metadata
                .creation_timestamp
                .as_ref()
                .and_then(|t| DateTime::parse_from_rfc3339(&t.0.to_string()).ok())
                .map(|t| age(now.signed_duration_since(t.with_timezone(&Utc))))
                .unwrap_or_default(),
        }
    }
}

/// kubectl's age format: `45s`, `5m`, `3h`, `2d`.
pub fn age(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    match seconds {
        0..=119 => format!("{seconds}s"),
        120..=7199 => format!("{}m", seconds / 60),
        7200..=172_799 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// The rows as an aligned table like `flux get` prints (NAMESPACE first with `all_namespaces`).
pub fn format_table(rows: &[StatusRow], all_namespaces: bool) -> String {
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE", "AGE"];
    if all_namespaces {
        header.insert(0, "NAMESPACE");
    }
    lines.push(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        let mut line = vec![
            row.name.clone(),
            row.revision.clone(),
            row.suspended.to_string(),
            row.ready.clone(),
            row.message.clone(),
            row.age.clone(),
        ];
        if all_namespaces {
            line.insert(0, row.namespace.clone());
        }
        lines.push(line);
    }
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i + 1 == columns {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// GitOps operations in one namespace (or all, for listing).
pub struct Gitops {
    client: kube::Client,
    namespace: String,
}

fn kd_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(super::GROUP, super::VERSION, KIND),
        super::PLURAL,
    )
}

fn parse(raw: &DynamicObject) -> Result<KluctlDeployment, GitopsError> {
    let name = raw.metadata.name.clone().unwrap_or_default();
    serde_json::to_value(raw)
        .and_then(serde_json::from_value)
        .map_err(|e| GitopsError::Parse {
            name,
            cause: e.to_string(),
        })
}

impl Gitops {
    /// Operations on `namespace` through `client`.
    pub fn new(client: kube::Client, namespace: impl Into<String>) -> Self {
        Gitops {
            client,
            namespace: namespace.into(),
        }
    }

    fn api(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &kd_resource())
    }

    /// Every KluctlDeployment of the namespace (or of all namespaces), sorted by namespace and
    /// name. Objects that do not parse are skipped with their names in the second list.
    pub async fn list(&self, all_namespaces: bool) -> Result<(Vec<KluctlDeployment>, Vec<String>), GitopsError> {
        let api = if all_namespaces {
            Api::all_with(self.client.clone(), &kd_resource())
        } else {
            self.api()
        };
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| api_error(format!("list KluctlDeployments in {}", self.namespace), e))?;
        let mut parsed = Vec::new();
        let mut broken = Vec::new();
        for raw in &list.items {
            match parse(raw) {
                Ok(kd) => parsed.push(kd),
                Err(_) => broken.push(raw.metadata.name.clone().unwrap_or_default()),
            }
        }
        parsed
            .sort_by(|a, b| (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name)));
        Ok((parsed, broken))
    }

    /// One KluctlDeployment.
    pub async fn get(&self, name: &str) -> Result<KluctlDeployment, GitopsError> {
        let raw = self
            .api()
            .get_opt(name)
            .await
            .map_err(|e| api_error(format!("get KluctlDeployment {}/{name}", self.namespace), e))?
            .ok_or_else(|| GitopsError::NotFound {
                namespace: self.namespace.clone(),
                name: name.to_string(),
            })?;
        parse(&raw)
    }

    /// Sets `spec.suspend`.
    pub async fn set_suspend(&self, name: &str, suspend: bool) -> Result<KluctlDeployment, GitopsError> {
        self.get(name).await?;
        let raw = self
            .api()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"suspend": suspend}})),
            )
            .await
            .map_err(|e| api_error(format!("patch KluctlDeployment {}/{name}", self.namespace), e))?;
        parse(&raw)
    }

    /// Sets `reconcile.fluxcd.io/requestedAt` to a new token (the current time, as `flux`
    /// writes it) and returns the token.
    pub async fn request_reconcile(&self, name: &str) -> Result<String, GitopsError> {
        self.get(name).await?;
        let token = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let patch = json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: token}}});
        self.api()
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|e| api_error(format!("annotate KluctlDeployment {}/{name}", self.namespace), e))?;
        Ok(token)
    }

    /// Waits until the agent handled `token` (`status.lastHandledReconcileAt`), polling.
    pub async fn wait_handled(
        &self,
        name: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<KluctlDeployment, GitopsError> {
        let started = Instant::now();
        loop {
            let kd = self.get(name).await?;
            let handled = kd.status.as_ref().and_then(|s| s.last_handled_reconcile_at.as_deref()) == Some(token);
            if handled {
                return Ok(kd);
            }
            if started.elapsed() >= timeout {
                return Err(GitopsError::NotHandled {
                    namespace: self.namespace.clone(),
                    name: name.to_string(),
                    waited: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Deletes a KluctlDeployment; with `wait`, until the agent removed its finalizer (and,
    /// with `spec.delete`, the deployed objects).
    pub async fn delete(&self, name: &str, wait: Option<Duration>) -> Result<(), GitopsError> {
        self.get(name).await?;
        self.api()
            .delete(name, &DeleteParams::default())
            .await
            .map_err(|e| api_error(format!("delete KluctlDeployment {}/{name}", self.namespace), e))?;
        let Some(timeout) = wait else { return Ok(()) };
        let started = Instant::now();
        loop {
            let gone = self
                .api()
                .get_opt(name)
                .await
                .map_err(|e| api_error(format!("get KluctlDeployment {}/{name}", self.namespace), e))?
                .is_none();
            if gone {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(GitopsError::NotHandled {
                    namespace: self.namespace.clone(),
                    name: name.to_string(),
                    waited: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Applies objects server-side as field manager `kluctl` (creating or updating them), in order.
/// Namespaced objects without a namespace go to `default_namespace`.
pub async fn apply_objects(
    client: &kube::Client,
    objects: &[Value],
    default_namespace: &str,
) -> Result<(), GitopsError> {
    let discovery = kube::Discovery::new(client.clone())
        .run_aggregated()
        .await
        .map_err(|e| api_error("discover the API resources", e))?;
    for object in objects {
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(GitopsError::InvalidObject(
                "apiVersion, kind and metadata.name are required".into(),
            ));
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let Some((resource, capabilities)) = discovery.resolve_gvk(&gvk) else {
            if kind == KIND && api_version == API_VERSION {
                return Err(GitopsError::NoCrd);
            }
            return Err(GitopsError::InvalidObject(format!(
                "the cluster does not serve {kind} in {api_version} (is its CRD installed?)"
            )));
        };
        let api: Api<DynamicObject> = if capabilities.scope == kube::discovery::Scope::Namespaced {
            let namespace = object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or(default_namespace);
            Api::namespaced_with(client.clone(), namespace, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        };
        api.patch(name, &PatchParams::apply(APPLY_FIELD_MANAGER), &Patch::Apply(object))
            .await
            .map_err(|e| api_error(format!("apply {kind}/{name}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{Condition, ConditionStatus, KluctlDeploymentSpec, KluctlDeploymentStatus, reasons};

    #[test]
    fn rows_show_revision_readiness_and_age() {
        let mut kd = KluctlDeployment::new(
            "app",
            KluctlDeploymentSpec {
                interval: "5m".into(),
                suspend: true,
                ..Default::default()
            },
        );
        kd.metadata.namespace = Some("team".into());
        let created = Utc::now() - chrono::Duration::minutes(7);
        kd.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            created.to_rfc3339().parse().unwrap(),
        ));
        kd.status = Some(KluctlDeploymentStatus {
            conditions: vec![Condition::new(
                READY,
                ConditionStatus::False,
                reasons::ARTIFACT_FAILED,
                "artifact\nnot found",
                None,
            )],
            last_attempted_revision: Some("main@sha1:abc".into()),
            ..Default::default()
        });
        let row = StatusRow::of(&kd, Utc::now());
        assert_eq!(row.revision, "main@sha1:abc");
        assert_eq!(
            (row.ready.as_str(), row.message.as_str()),
            ("False", "artifact not found")
        );
        assert_eq!(row.age, "7m");
        assert!(row.suspended);
        let table = format_table(&[row], false);
        let mut lines = table.lines();
        assert_eq!(
            lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
            ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE", "AGE"]
        );
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("app    main@sha1:abc   true        False   artifact not found   7m"),
            "{row}"
        );
    }

    #[test]
    fn ages_print_like_kubectl() {
        assert_eq!(age(chrono::Duration::seconds(45)), "45s");
        assert_eq!(age(chrono::Duration::minutes(5)), "5m");
        assert_eq!(age(chrono::Duration::hours(3)), "3h");
        assert_eq!(age(chrono::Duration::days(2)), "2d");
    }
}
