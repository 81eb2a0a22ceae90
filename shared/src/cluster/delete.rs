//! Deleting objects: background propagation, `404` counted as done, and waiting until an
//! object is really gone (finalizers, namespace teardown) unless the caller does not want to.

use super::client::ClusterClient;
use super::discovery::ApiResource;
use super::ops::Propagation;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// Longest pause between two checks while waiting.
const MAX_POLL: Duration = Duration::from_secs(1);

/// Whether the deletion was real and whether the object is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The object did not exist.
    NotFound,
    /// The delete was accepted (and, when waited for, the object is gone).
    Deleted,
}

/// Deletes one object with background propagation; waits until it is gone when `wait` is
/// given (the timeout). Errors are messages for the result.
pub async fn delete_object(
    client: &ClusterClient,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    dry_run: bool,
    wait: Option<Duration>,
) -> Result<Deleted, String> {
    let existed = client
        .delete_object(resource, namespace, name, Propagation::Background, dry_run)
        .await
        .map_err(|e| format!("failed to delete: {e}"))?;
    if !existed {
        return Ok(Deleted::NotFound);
    }
    if let (Some(timeout), false) = (wait, dry_run) {
        wait_gone(client, resource, namespace, name, None, timeout).await?;
    }
    Ok(Deleted::Deleted)
}

/// Waits until the object is gone (or replaced by one with another uid than `uid`).
pub async fn wait_gone(
    client: &ClusterClient,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    uid: Option<&str>,
    timeout: Duration,
) -> Result<(), String> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match client.get_object(resource, namespace, name).await {
            Ok(None) => return Ok(()),
            Ok(Some(object)) => {
                let current = object.pointer("/metadata/uid").and_then(Value::as_str);
                if uid.is_some() && current != uid {
                    return Ok(());
                }
            }
            Err(e) => return Err(format!("failed to check whether the object is gone: {e}")),
        }
        if start.elapsed() >= timeout {
            return Err(format!(
                "timed out after {} waiting for the deletion to finish (finalizers still pending?)",
                humantime::format_duration(Duration::from_secs(timeout.as_secs()))
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}
