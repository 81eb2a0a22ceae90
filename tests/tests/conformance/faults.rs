//! Fault injection: kubectl sees injected 500s, retries 429s after `Retry-After`, and fails on dropped
//! connections; the same seed injects the same faults.

use kluctl_e2e::apiserver::ServerOptions;
use kluctl_e2e::apiserver::faults::{FaultSpec, Faults};

use crate::util::Cluster;

fn with_faults(spec: &str) -> Cluster {
    let spec: FaultSpec = spec.parse().expect("valid fault spec");
    Cluster::with(ServerOptions::default().faults(spec))
}

#[test]
fn injected_internal_errors_reach_kubectl() {
    let cluster = with_faults("seed=1;list:configmaps=1:500");
    let run = cluster.kubectl(&["get", "configmaps"]).fails();
    assert!(
        run.stderr
            .contains("Error from server (InternalError): an error on the server (\"injected fault\")"),
        "{}",
        run.stderr
    );
    assert!(cluster.server.injected_faults()[0] >= 1);
    cluster.kubectl(&["get", "secrets"]).ok();
}

#[test]
fn kubectl_retries_after_too_many_requests() {
    // A seed whose first decision injects and second does not: kubectl must retry once and succeed.
    let seed = (0u64..)
        .find(|seed| {
            let faults = Faults::new(&format!("seed={seed};list:configmaps=0.5:429@1").parse().unwrap());
            faults.decide("list", "configmaps").is_some() && faults.decide("list", "configmaps").is_none()
        })
        .unwrap();
    let cluster = with_faults(&format!("seed={seed};list:configmaps=0.5:429@1"));
    cluster.kubectl(&["create", "configmap", "one"]).ok();
    let run = cluster.kubectl(&["get", "configmaps", "-o", "name"]).ok();
    assert_eq!(run.stdout.trim(), "configmap/one");
    assert_eq!(cluster.server.injected_faults(), vec![1]);
}

#[test]
fn dropped_connections_fail_the_request() {
    let cluster = with_faults("seed=3;get:configmaps=1:drop");
    cluster.kubectl(&["create", "configmap", "one"]).ok();
    let run = cluster
        .kubectl(&["get", "configmap", "one", "--request-timeout=5s"])
        .fails();
    assert!(!run.stderr.is_empty());
    assert!(cluster.server.injected_faults()[0] >= 1);
}
