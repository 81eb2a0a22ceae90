//! Prometheus metrics of the agent, rendered in the text exposition format on `/metrics`.
//!
//! - `gotk_reconcile_duration_seconds{kind,name,namespace}`: histogram, Flux's name and buckets,
//!   so existing Flux dashboards work; series are dropped when the object is deleted.
//! - `gotk_reconcile_condition{kind,name,namespace,type,status}`: the Ready condition as 0/1.
//! - `kluctl_agent_reconciles_total{result,reason}`: outcomes (success or failure, by reason).
//! - `kluctl_agent_artifact_fetches_total{outcome}` and `kluctl_agent_artifact_fetched_bytes_total`.
//! - `kluctl_agent_reconciles_in_flight`.
//!
//! The exposition is written by hand: a handful of metrics with fixed names does not warrant a
//! metrics framework in a binary whose size and idle memory are budgeted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the duration histogram, in seconds (10ms to 30min).
const BUCKETS: [f64; 12] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0];

const KIND: &str = "KluctlDeployment";

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    durations: BTreeMap<String, Histogram>,
    ready: BTreeMap<String, &'static str>,
    reconciles: BTreeMap<(String, String), u64>,
    fetches: BTreeMap<String, u64>,
    fetched_bytes: u64,
    in_flight: i64,
}

/// The agent's metrics registry (cheap to share behind an `Arc`).
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records one reconcile of `name`: its duration, outcome and resulting Ready status.
    pub fn reconciled(&self, name: &str, duration: Duration, success: bool, reason: &str, ready: &'static str) {
        let mut inner = self.lock();
        let seconds = duration.as_secs_f64();
        let histogram = inner.durations.entry(name.to_string()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                histogram.counts[i] += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
        inner.ready.insert(name.to_string(), ready);
        let result = if success { "success" } else { "failure" };
        *inner
            .reconciles
            .entry((result.to_string(), reason.to_string()))
            .or_default() += 1;
    }

    /// Records an artifact fetch: `ok` or the error's label, and the bytes downloaded.
    pub fn fetched(&self, outcome: &str, bytes: u64) {
        let mut inner = self.lock();
        *inner.fetches.entry(outcome.to_string()).or_default() += 1;
        inner.fetched_bytes += bytes;
    }

    /// Adds `delta` to the number of reconciles running.
    pub fn in_flight(&self, delta: i64) {
        self.lock().in_flight += delta;
    }

    /// Drops the per-object series of a deleted object.
    pub fn forget(&self, name: &str) {
        let mut inner = self.lock();
        inner.durations.remove(name);
        inner.ready.remove(name);
    }

    /// The text exposition of every metric, for the namespace the agent serves.
    pub fn render(&self, namespace: &str) -> String {
        let inner = self.lock();
        let mut out = String::new();
        let labels = |name: &str| {
            format!(
                "kind=\"{KIND}\",name=\"{}\",namespace=\"{}\"",
                escape(name),
                escape(namespace)
            )
        };
        out.push_str("# HELP gotk_reconcile_duration_seconds The duration in seconds of a reconciliation.\n");
        out.push_str("# TYPE gotk_reconcile_duration_seconds histogram\n");
        for (name, h) in &inner.durations {
            let labels = labels(name);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "gotk_reconcile_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "gotk_reconcile_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "gotk_reconcile_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "gotk_reconcile_duration_seconds_count{{{labels}}} {}", h.count);
        }
        out.push_str("# HELP gotk_reconcile_condition The current condition status of a KluctlDeployment.\n");
        out.push_str("# TYPE gotk_reconcile_condition gauge\n");
        for (name, current) in &inner.ready {
            for status in ["True", "False", "Unknown"] {
                let value = u8::from(*current == status);
                let _ = writeln!(
                    out,
                    "gotk_reconcile_condition{{{},type=\"Ready\",status=\"{status}\"}} {value}",
                    labels(name)
                );
            }
        }
        out.push_str("# HELP kluctl_agent_reconciles_total Reconciles by result and reason.\n");
        out.push_str("# TYPE kluctl_agent_reconciles_total counter\n");
        for ((result, reason), count) in &inner.reconciles {
            let _ = writeln!(
                out,
                "kluctl_agent_reconciles_total{{result=\"{result}\",reason=\"{}\"}} {count}",
                escape(reason)
            );
        }
        out.push_str("# HELP kluctl_agent_artifact_fetches_total Artifact fetches by outcome.\n");
        out.push_str("# TYPE kluctl_agent_artifact_fetches_total counter\n");
        for (outcome, count) in &inner.fetches {
            let _ = writeln!(
                out,
                "kluctl_agent_artifact_fetches_total{{outcome=\"{}\"}} {count}",
                escape(outcome)
            );
        }
        out.push_str("# HELP kluctl_agent_artifact_fetched_bytes_total Compressed artifact bytes downloaded.\n");
        out.push_str("# TYPE kluctl_agent_artifact_fetched_bytes_total counter\n");
        let _ = writeln!(out, "kluctl_agent_artifact_fetched_bytes_total {}", inner.fetched_bytes);
        out.push_str("# HELP kluctl_agent_reconciles_in_flight Reconciles running now.\n");
        out.push_str("# TYPE kluctl_agent_reconciles_in_flight gauge\n");
        let _ = writeln!(out, "kluctl_agent_reconciles_in_flight {}", inner.in_flight);
        out
    }
}

/// Label values escape backslash, quote and newline (the exposition format's rules).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_flux_names_and_drops_deleted_objects() {
        let metrics = Metrics::default();
        metrics.reconciled(
            "app",
            Duration::from_millis(300),
            true,
            "ReconciliationSucceeded",
            "True",
        );
        metrics.reconciled("app", Duration::from_secs(20), false, "ArtifactFailed", "False");
        metrics.fetched("ok", 1234);
        metrics.fetched("digest_mismatch", 10);
        let text = metrics.render("team");
        let labels = "kind=\"KluctlDeployment\",name=\"app\",namespace=\"team\"";
        for line in [
            format!("gotk_reconcile_duration_seconds_bucket{{{labels},le=\"0.5\"}} 1"),
            format!("gotk_reconcile_duration_seconds_bucket{{{labels},le=\"30\"}} 2"),
            format!("gotk_reconcile_duration_seconds_count{{{labels}}} 2"),
            format!("gotk_reconcile_condition{{{labels},type=\"Ready\",status=\"False\"}} 1"),
            "kluctl_agent_reconciles_total{result=\"failure\",reason=\"ArtifactFailed\"} 1".to_string(),
            "kluctl_agent_artifact_fetches_total{outcome=\"digest_mismatch\"} 1".to_string(),
            "kluctl_agent_artifact_fetched_bytes_total 1244".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        metrics.forget("app");
        assert!(!metrics.render("team").contains("name=\"app\""));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
