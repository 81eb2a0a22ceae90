//! Connecting: token and exec auth from kubeconfig, contexts, discovery once per run.

use crate::util::*;
use kluctl_e2e::apiserver::ServerOptions;
use shared::cluster::{ConnectOptions, connect};

fn kubeconfig_with_user(cluster: &Cluster, user: &str) -> String {
    let original = std::fs::read_to_string(cluster.server.kubeconfig_path()).unwrap();
    let users = original.find("users:").unwrap();
    let mut text = original[..users].to_string();
    text = text.replace("current-context: test", "current-context: exec");
    text = text.replace("- name: test\n  context:", "- name: exec\n  context:");
    text.push_str("users:\n");
    text.push_str(user);
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_credential_plugins_authenticate() {
    let cluster = Cluster::start(ServerOptions::default().rbac()).await;
    let token = cluster.server.token_for("exec-user", &["system:masters"]);
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("credential-plugin");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n"
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&plugin).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&plugin, permissions).unwrap();
    let user = format!(
        "- name: admin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        plugin.display()
    );
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, kubeconfig_with_user(&cluster, &user)).unwrap();

    let client = connect(&ConnectOptions::from_kubeconfig(&kubeconfig)).await.unwrap();
    assert_eq!(client.context(), "exec");
    let discovery = client.discovery().await.expect("authenticated through the plugin");
    assert!(discovery.preferred("apps", "Deployment").is_some());

    // A token the server does not know is refused, and the error says so.
    let bad = dir.path().join("bad");
    std::fs::write(
        &bad,
        kubeconfig_with_user(&cluster, "- name: admin\n  user:\n    token: nope\n"),
    )
    .unwrap();
    let client = connect(&ConnectOptions::from_kubeconfig(&bad)).await.unwrap();
    let err = client.discovery().await.unwrap_err().to_string();
    assert!(
        err.starts_with("failed to discover the API resources of https://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("Unauthorized"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_context_is_named_with_the_alternatives() {
    let cluster = Cluster::start(Default::default()).await;
    let options = ConnectOptions::from_kubeconfig(cluster.server.kubeconfig_path()).with_context(None, Some("prod"));
    let err = connect(&options).await.unwrap_err().to_string();
    assert!(
        err.starts_with("failed to select kubeconfig context \"prod\": no such context in")
            && err.ends_with("(available: test)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_is_fetched_once_and_refreshed_only_for_unknown_kinds() {
    let cluster = Cluster::with_controllers().await;
    let t = target(
        "disc",
        vec![item("x", vec![config_map("default", "a", serde_json::json!({}))])],
    );
    cluster.deploy(&t).await;
    cluster.diff(&t).await;
    assert_eq!(cluster.client.discovery().await.unwrap().generation(), 1);
    let err = cluster
        .client
        .resource_for("example.com/v1", "Nothing")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is its CRD installed?"), "{err}");
    assert_eq!(cluster.client.discovery().await.unwrap().generation(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_limited_to_one_namespace_deploys_and_prunes_there() {
    let cluster = Cluster::start(ServerOptions::default().rbac()).await;
    cluster.create(namespace("team"));
    cluster.create(
        serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "deployer", "namespace": "team"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]}),
    );
    cluster.create(
        serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "deployer", "namespace": "team"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "User", "name": "alice"}]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("alice");
    cluster.server.write_kubeconfig_for("alice", &[], &kubeconfig).unwrap();
    let alice = Cluster {
        client: connect(&ConnectOptions::from_kubeconfig(&kubeconfig)).await.unwrap(),
        server: cluster.server,
    };
    let cms = |names: &[&str]| {
        target(
            "team",
            vec![item(
                "x",
                names
                    .iter()
                    .map(|n| config_map("team", n, serde_json::json!({})))
                    .collect(),
            )],
        )
    };
    let result = alice.deploy(&cms(&["one", "two"])).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let warnings = messages(&result.warnings);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("no permission to list") && w.contains("configmaps") && w.contains("per namespace")),
        "{warnings:?}"
    );
    assert_eq!(
        warnings.len(),
        3,
        "cluster id, and denials summarised in two lines: {warnings:?}"
    );

    let session = alice.session("prune");
    let plan = shared::commands::plan_prune(&session, &cms(&["one"])).await.unwrap();
    let planned: Vec<String> = plan.objects.iter().map(|r| r.to_string()).collect();
    assert_eq!(planned, vec!["team/ConfigMap/two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_reported_at_once_with_its_cause() {
    let cluster = Cluster::start(Default::default()).await;
    // A port nobody listens on: bind one, learn its number, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let original = std::fs::read_to_string(cluster.server.kubeconfig_path()).unwrap();
    let address = original
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        original.replace(&address, &format!("https://127.0.0.1:{port}")),
    )
    .unwrap();

    let client = connect(&ConnectOptions::from_kubeconfig(&kubeconfig)).await.unwrap();
    let err = client.discovery().await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("failed to reach the API server https://127.0.0.1:{port}"))
            && err.contains("(context test)")
            && err.to_lowercase().contains("connection refused"),
        "the server, the context and the root cause are named: {err}"
    );
}
