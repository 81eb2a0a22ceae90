//! Kubernetes Events about `KluctlDeployment`s, as Flux records them: reason = the Ready reason,
//! `Normal` for progress and success, `Warning` for failures, the artifact revision in the
//! `flux.kluctl.io/revision` annotation. An event is emitted only when the state changed (a new
//! reason, message or revision) or when a deploy changed objects, never on every unchanged
//! interval. Messages are bounded; callers pass only secret-free text.

use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use shared::crd::{KluctlDeployment, REVISION_EVENT_ANNOTATION};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Event type: `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Progress and success.
    Normal,
    /// Failures.
    Warning,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Normal => "Normal",
            Severity::Warning => "Warning",
        }
    }
}

/// Events are cut to this many characters (the API limit is 1 KiB for notes of events.k8s.io).
const MAX_EVENT_MESSAGE_CHARS: usize = 1000;

/// Emits events, remembering the last one per object to skip repeats.
pub struct Recorder {
    api: Api<Event>,
    instance: String,
    last: Mutex<HashMap<String, (Severity, String, String, String)>>,
}

impl Recorder {
    /// A recorder writing into `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        let instance = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "kluctl-agent".to_string());
        Recorder {
            api: Api::namespaced(client, namespace),
            instance,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Emits an event unless it repeats the object's previous one (same severity, reason,
    /// message and revision) and `force` is false. Failures to write are logged, never raised:
    /// an event is not worth failing a reconcile for.
    pub async fn emit(
        &self,
        object: &KluctlDeployment,
        severity: Severity,
        reason: &str,
        message: &str,
        revision: Option<&str>,
        force: bool,
    ) {
        let name = object.metadata.name.clone().unwrap_or_default();
        let message = truncate(message);
        let key = (
            severity,
            reason.to_string(),
            message.clone(),
            revision.unwrap_or_default().to_string(),
        );
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if !force && last.get(&name) == Some(&key) {
                return;
            }
            last.insert(name.clone(), key);
        }
        let now = chrono::Utc::now();
        let mut annotations = serde_json::Map::new();
        if let Some(revision) = revision.filter(|r| !r.is_empty()) {
            annotations.insert(REVISION_EVENT_ANNOTATION.to_string(), json!(revision));
        }
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": format!("{name}.{:x}", now.timestamp_nanos_opt().unwrap_or_default()),
                "namespace": object.metadata.namespace,
                "annotations": annotations,
            },
            "involvedObject": {
                "apiVersion": shared::crd::API_VERSION,
                "kind": shared::crd::KIND,
                "name": name,
                "namespace": object.metadata.namespace,
                "uid": object.metadata.uid,
                "resourceVersion": object.metadata.resource_version,
            },
            "reason": reason,
            "message": message,
            "type": severity.as_str(),
            "source": {"component": "kluctl-agent"},
            "reportingComponent": "kluctl-agent",
            "reportingInstance": self.instance,
            "firstTimestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "lastTimestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "count": 1,
        });
        let event: Event = match serde_json::from_value(event) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "failed to build an event");
                return;
            }
        };
        let created =
            tokio::time::timeout(Duration::from_secs(10), self.api.create(&PostParams::default(), &event)).await;
        match created {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(kluctldeployment = %name, %error, "failed to record an event"),
            Err(_) => tracing::warn!(kluctldeployment = %name, "failed to record an event: timed out"),
        }
    }

    /// Forgets a deleted object.
    pub fn forget(&self, name: &str) {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
    }
}

fn truncate(message: &str) -> String {
    if message.chars().count() <= MAX_EVENT_MESSAGE_CHARS {
        return message.to_string();
    }
    let mut cut: String = message.chars().take(MAX_EVENT_MESSAGE_CHARS).collect();
    cut.push('…');
    cut
}
