//! Faults injected at 10% of requests: the deploy converges or reports each failed object,
//! never claiming success it did not have; replace-on-error.

use crate::util::*;
use kluctl_e2e::apiserver::{FaultSpec, Gvr, ServerOptions};
use serde_json::json;
use shared::commands::DeployCommandOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_under_ten_percent_faults_converges_or_reports_each_failure() {
    let spec: FaultSpec = "seed=7;*:*=0.1:500;patch:*=0.05:429@1;get|list:*=0.03:drop"
        .parse()
        .unwrap();
    let cluster = Cluster::start(ServerOptions::default().simulate_controllers().faults(spec)).await;
    let objects: Vec<serde_json::Value> = std::iter::once(namespace("faulty"))
        .chain((0..60).map(|i| config_map("faulty", &format!("cm-{i}"), json!({"i": i.to_string()}))))
        .collect();
    let t = target("faults", vec![item("x", objects)]);
    let result = cluster.deploy(&t).await;
    let failed: Vec<String> = result
        .errors
        .iter()
        .filter_map(|e| e.object_ref.as_ref().map(|r| r.name.clone()))
        .collect();
    let cms = Gvr::core("configmaps");
    for i in 0..60 {
        let name = format!("cm-{i}");
        let live = cluster.get(&cms, Some("faulty"), &name);
        let applied = result.objects.iter().any(|o| o.object_ref.name == name && o.applied);
        if applied {
            assert_eq!(live.unwrap()["data"]["i"], i.to_string(), "{name} claimed applied");
        } else {
            assert!(failed.contains(&name), "{name} neither applied nor reported failed");
        }
    }
    assert!(
        cluster.server.injected_faults().iter().sum::<u64>() > 0,
        "faults were injected"
    );
    assert!(
        result.errors.is_empty(),
        "retries converge at this rate: {:?}",
        result.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_on_error_and_force_replace_on_error() {
    let cluster = Cluster::with_controllers().await;
    let deployments = Gvr::new("apps", "v1", "deployments");
    let t = |selector: &str| {
        let mut d = deployment("default", "immutable", 1, "nginx");
        d["spec"]["selector"]["matchLabels"] = json!({"app": selector});
        d["spec"]["template"]["metadata"]["labels"] = json!({"app": selector});
        target("replace", vec![item("x", vec![d])])
    };
    assert!(cluster.deploy(&t("one")).await.errors.is_empty());
    let uid = |c: &Cluster| c.get(&deployments, Some("default"), "immutable").unwrap()["metadata"]["uid"].clone();
    let before = uid(&cluster);

    // The selector is immutable: the apply fails and a replace fails the same way.
    let result = cluster.deploy(&t("two")).await;
    assert!(
        messages(&result.errors)[0].contains("field is immutable"),
        "{:?}",
        result.errors
    );
    let mut replace = DeployCommandOptions {
        deploy: fast(),
        prune: false,
    };
    replace.deploy.apply.replace_on_error = true;
    let result = cluster.deploy_with(&t("two"), replace).await;
    assert!(
        messages(&result.errors)[0].contains("replacing it failed too"),
        "{:?}",
        result.errors
    );

    let mut force = replace;
    force.deploy.apply.force_replace_on_error = true;
    let result = cluster.deploy_with(&t("two"), force).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert!(messages(&result.warnings)[0].contains("deleted and re-created"));
    assert_ne!(uid(&cluster), before, "re-created");
    let live = cluster.get(&deployments, Some("default"), "immutable").unwrap();
    assert_eq!(live["spec"]["selector"]["matchLabels"]["app"], "two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_lower_the_concurrency_and_every_object_still_goes_out() {
    let spec: FaultSpec = "seed=3;patch:configmaps=0.25:429@1".parse().unwrap();
    let cluster = Cluster::start(ServerOptions::default().faults(spec)).await;
    let objects: Vec<serde_json::Value> = (0..24)
        .map(|i| config_map("default", &format!("throttled-{i}"), json!({})))
        .collect();
    let result = cluster.deploy(&target("throttled", vec![item("x", objects)])).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert_eq!(result.summary.new_objects, 24);
    assert!(cluster.server.injected_faults()[0] > 0);
    assert!(
        cluster.client.limiter().limit() < shared::cluster::DEFAULT_CONCURRENCY,
        "the limit went down: {}",
        cluster.client.limiter().limit()
    );
}
