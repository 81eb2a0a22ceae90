//! The agent stays in its namespace with the real engine: the pre-flight refusal of foreign and
//! cluster-scoped objects, RBAC with only the agent's Role and an impersonated deployer, and
//! cluster vars read only from the namespace, and vars sources outside the artifact refused
//! unless allowed.

use super::*;
use crate::harness::*;
use kluctl_e2e::apiserver::{Gvr, ServerOptions};
use kluctl_e2e::servers::artifact::TreeFile;
use serde_json::json;

#[tokio::test]
async fn objects_outside_the_namespace_are_refused_before_any_apply() {
    let (cluster, artifacts, work) = setup().await;
    let mut files = project("greeting", false);
    files.push(TreeFile::new(
        "deploy/app/foreign.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: foreign\n  namespace: other\n",
    ));
    files.push(TreeFile::new(
        "deploy/app/cluster.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: new-namespace\n",
    ));
    publish(&cluster, &artifacts, 1, &files).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let (reason, message) = cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            let (status, reason, message) = ready(kd)?;
            (status == "False").then_some((reason, message))
        })
        .await;
    assert_eq!(reason, "BuildFailed", "{message}");
    assert!(message.contains("other/ConfigMap/foreign"), "{message}");
    assert!(message.contains("Namespace/new-namespace"), "{message}");
    // Nothing at all was applied, not even the objects in the namespace.
    assert!(config_map(&cluster, "settings").is_none());
    assert!(
        cluster
            .server
            .get_object(&Gvr::core("configmaps"), Some("other"), "foreign")
            .is_none()
    );
    drop(agent);
}

/// A cluster enforcing RBAC with the agent's Role only (no deploy role) and a ServiceAccount
/// `deployer` allowed `verbs` on ConfigMaps and Secrets of the namespace; the agent's
/// kubeconfig goes through a recording proxy.
async fn rbac_setup(
    verbs: serde_json::Value,
) -> (
    Cluster,
    Artifacts,
    tempfile::TempDir,
    crate::proxy::RecordingProxy,
    std::path::PathBuf,
) {
    let cluster = Cluster::start(ServerOptions::default().rbac()).await;
    cluster.create_namespace(NS);
    cluster.create_namespace("other");
    let artifacts = Artifacts::start();
    cluster.create_git_repository(NS, "repo", None).await;
    let work = tempfile::tempdir().unwrap();
    // Without a deploy role: the agent deploys only as the ServiceAccounts it impersonates.
    let mut install = shared::crd::manifests::AgentInstallOptions::new(NS);
    install.deploy_cluster_role = None;
    for object in shared::crd::manifests::agent_manifests(&install) {
        if object["kind"] != "Deployment" {
            cluster.server.create_object(object).expect("agent RBAC");
        }
    }
    // The deployer may touch ConfigMaps and Secrets of the namespace; the agent itself may not.
    for object in [
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer", "namespace": NS}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "deployer", "namespace": NS},
               "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": verbs}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "deployer", "namespace": NS},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
               "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": NS}]}),
    ] {
        cluster.server.create_object(object).expect("deployer RBAC");
    }
    let user = format!("system:serviceaccount:{NS}:kluctl-agent");
    let groups = ["system:serviceaccounts", &format!("system:serviceaccounts:{NS}")];
    let token = cluster.server.token_for(&user, &groups);
    let proxy = crate::proxy::RecordingProxy::start(cluster.server.url()).await;
    let kubeconfig = work.path().join("agent-kubeconfig");
    proxy.write_kubeconfig(&kubeconfig, &user, &token, NS);
    (cluster, artifacts, work, proxy, kubeconfig)
}

#[tokio::test]
async fn with_only_its_role_and_an_impersonated_deployer_the_agent_stays_in_its_namespace() {
    let (cluster, artifacts, work, proxy, kubeconfig) = rbac_setup(json!(["*"])).await;
    publish(&cluster, &artifacts, 1, &project("greeting", true)).await;
    let agent = AgentProcess::start_with_kubeconfig(&kubeconfig, &artifacts, work.path(), &[]);

    // As itself the agent may not deploy: the API server's answer is the failure.
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let message = wait_for(&cluster, "app", &agent, |kd| {
        let (status, reason, message) = ready(kd)?;
        (status == "False" && reason == "ReconciliationFailed").then_some(message)
    })
    .await;
    assert!(message.contains("forbidden"), "{message}");
    assert!(config_map(&cluster, "settings").is_none());

    cluster
        .patch_kd(NS, "app", json!({"spec": {"serviceAccountName": "deployer"}}))
        .await;
    ready_at(&cluster, "app", 1, &agent).await;
    let settings = config_map(&cluster, "settings").unwrap();
    assert_eq!(settings["metadata"]["labels"]["kluctl.io/discriminator"], "e2e-test");

    publish(&cluster, &artifacts, 2, &project("greeting", false)).await;
    ready_at(&cluster, "app", 2, &agent).await;
    assert!(config_map(&cluster, "extra").is_none(), "extra was not pruned");
    cluster.kds(NS).delete("app", &Default::default()).await.unwrap();
    cluster.wait_gone(NS, "app", WAIT).await;
    assert!(config_map(&cluster, "settings").is_none());

    let seen = proxy.seen();
    let outside: Vec<_> = seen
        .iter()
        .filter(|r| !crate::proxy::within_namespace(&r.path, NS))
        .collect();
    assert!(outside.is_empty(), "requests outside {NS}: {outside:#?}");
    drop(agent);
}

#[tokio::test]
async fn cluster_vars_are_read_only_from_the_agents_namespace() {
    let (cluster, artifacts, work) = setup().await;
    for ns in [NS, "other"] {
        cluster
            .server
            .create_object(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "env-vars", "namespace": ns},
                "data": {"vars": format!("greeting: from-{ns}\n")}}))
            .unwrap();
    }
    let with_vars = |namespace: &str| {
        let mut files = project("greeting", false);
        files[1] = TreeFile::new(
            "deploy/deployment.yaml",
            format!(
                "vars:\n- clusterConfigMap:\n    name: env-vars\n    namespace: {namespace}\n    key: vars\n    targetPath: fromCluster\n\
                 deployments:\n- path: app\n"
            ),
        );
        files[2] = TreeFile::new(
            "deploy/app/objects.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {NS}\ndata:\n  greeting: \"{{{{ fromCluster.greeting }}}}\"\n"
            ),
        );
        files
    };
    publish(&cluster, &artifacts, 1, &with_vars("other")).await;
    let agent = AgentProcess::start(
        &cluster,
        &artifacts,
        work.path(),
        &["--allow-vars-source", "clusterConfigMap"],
    );
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let message = wait_for(&cluster, "app", &agent, |kd| {
        let (status, reason, message) = ready(kd)?;
        (status == "False" && reason == "BuildFailed").then_some(message)
    })
    .await;
    assert!(message.contains("only objects of namespace team"), "{message}");
    assert!(config_map(&cluster, "settings").is_none());

    publish(&cluster, &artifacts, 2, &with_vars(NS)).await;
    ready_at(&cluster, "app", 2, &agent).await;
    assert_eq!(
        config_map(&cluster, "settings").unwrap()["data"]["greeting"],
        "from-team"
    );
}

#[tokio::test]
async fn a_prune_the_deployer_may_not_do_is_a_prune_failure() {
    let (cluster, artifacts, work, _proxy, kubeconfig) =
        rbac_setup(json!(["get", "list", "watch", "create", "patch", "update"])).await;
    publish(&cluster, &artifacts, 1, &project("greeting", true)).await;
    let agent = AgentProcess::start_with_kubeconfig(&kubeconfig, &artifacts, work.path(), &[]);
    let mut object = kluctl_deployment("app");
    object.spec.service_account_name = Some("deployer".into());
    cluster.create_kd(NS, &object).await;
    ready_at(&cluster, "app", 1, &agent).await;
    publish(&cluster, &artifacts, 2, &project("greeting", false)).await;
    let (message, kd) = wait_for(&cluster, "app", &agent, |kd| {
        let (status, reason, message) = ready(kd)?;
        (status == "False" && reason == "PruneFailed").then(|| (message, kd.clone()))
    })
    .await;
    assert!(message.contains("ConfigMap/extra"), "{message}");
    assert!(config_map(&cluster, "extra").is_some());
    let status = kd.status.unwrap();
    // The deploy itself went through; the revision is not recorded as applied.
    assert_eq!(status.last_attempted_revision.as_deref(), Some(revision(2).as_str()));
    assert_eq!(status.last_applied_revision.as_deref(), Some(revision(1).as_str()));
}

#[tokio::test]
async fn vars_sources_outside_the_artifact_are_refused_unless_allowed() {
    let (cluster, artifacts, work) = setup().await;
    let mut files = project("greeting", false);
    files[1] = TreeFile::new(
        "deploy/deployment.yaml",
        "vars:\n- systemEnvVars:\n    fromEnv: AGENT_SECRET_TOKEN\ndeployments:\n- path: app\n",
    );
    publish(&cluster, &artifacts, 1, &files).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let message = wait_for(&cluster, "app", &agent, |kd| {
        let (status, reason, message) = ready(kd)?;
        (status == "False" && reason == "BuildFailed").then_some(message)
    })
    .await;
    assert!(
        message.contains("`systemEnvVars` vars sources are not allowed here")
            && message.contains("--allow-vars-source"),
        "{message}"
    );
    assert!(config_map(&cluster, "settings").is_none(), "nothing is applied");
    drop(agent);

    // Allowed, the same artifact deploys (the variable is simply absent from the environment).
    let mut files = project("greeting", false);
    files[1] = TreeFile::new(
        "deploy/deployment.yaml",
        "vars:\n- systemEnvVars:\n    fromEnv: AGENT_SECRET_TOKEN\n  ignoreMissing: true\ndeployments:\n- path: app\n",
    );
    publish(&cluster, &artifacts, 2, &files).await;
    let agent = AgentProcess::start(
        &cluster,
        &artifacts,
        work.path(),
        &["--allow-vars-source", "systemEnvVars"],
    );
    ready_at(&cluster, "app", 2, &agent).await;
    assert!(config_map(&cluster, "settings").is_some());
}
