//! The cluster side of the `gitops` commands (`shared::crd::gitops`) against a running agent:
//! listing, suspend and resume, a requested reconcile waited for, deletion waited for.

use crate::controller::{NS, Setup, WAIT};
use crate::harness::*;
use shared::crd::gitops::{Gitops, GitopsError, StatusRow, format_table};
use std::time::Duration;

#[tokio::test]
async fn list_reconcile_suspend_resume_and_delete() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    s.ready_at("app", 1).await;
    let gitops = Gitops::new(s.cluster.admin.clone(), NS);

    let (listed, broken) = gitops.list(false).await.unwrap();
    assert!(broken.is_empty());
    let rows: Vec<StatusRow> = listed.iter().map(|kd| StatusRow::of(kd, chrono::Utc::now())).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].ready.as_str(), rows[0].revision.clone()),
        ("True", revision(1))
    );
    assert!(format_table(&rows, true).lines().nth(1).unwrap().starts_with("team"));

    let token = gitops.request_reconcile("app").await.unwrap();
    let handled = gitops.wait_handled("app", &token, WAIT).await.unwrap();
    assert_eq!(handled.status.unwrap().last_result.unwrap().applied_objects, 2);
    assert_eq!(s.engine.deploys_of("app").len(), 2);

    assert!(gitops.set_suspend("app", true).await.unwrap().spec.suspend);
    let token = gitops.request_reconcile("app").await.unwrap();
    // A suspended object still acknowledges requests, without deploying.
    gitops.wait_handled("app", &token, WAIT).await.unwrap();
    assert_eq!(s.engine.deploys_of("app").len(), 2);
    gitops.set_suspend("app", false).await.unwrap();

    gitops.delete("app", Some(WAIT)).await.unwrap();
    assert!(matches!(
        gitops.get("app").await.unwrap_err(),
        GitopsError::NotFound { .. }
    ));
    s.stop().await;
}

#[tokio::test]
async fn a_missing_agent_is_reported_clearly() {
    let cluster = Cluster::start(Default::default()).await;
    cluster.create_namespace(NS);
    cluster.create_kd(NS, &kd("app")).await;
    let gitops = Gitops::new(cluster.admin.clone(), NS);
    let token = gitops.request_reconcile("app").await.unwrap();
    let err = gitops
        .wait_handled("app", &token, Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is `kluctl-agent` running in team?"), "{err}");
    let err = Gitops::new(cluster.admin.clone(), NS).get("nope").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to find KluctlDeployment team/nope (list them with `kubectl kluctl gitops list -n team`)"
    );
}
