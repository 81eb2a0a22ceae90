//! RBAC under `--rbac`: `kubectl auth can-i` for users bound to roles, impersonation, and the 403
//! answers of denied requests.

use kluctl_e2e::apiserver::ServerOptions;

use crate::util::{Cluster, configmaps};

fn with_team_binding() -> Cluster {
    let cluster = Cluster::with(ServerOptions::default().rbac());
    cluster.kubectl(&["create", "namespace", "team"]).ok();
    cluster
        .kubectl(&[
            "create",
            "rolebinding",
            "alice-edit",
            "--clusterrole=edit",
            "--user=alice",
            "-n",
            "team",
        ])
        .ok();
    cluster
}

#[test]
fn can_i_answers_from_role_bindings() {
    let cluster = with_team_binding();
    let alice = cluster.user_kubeconfig("alice", &[]);
    let yes = cluster.kubectl_with(&alice, &["auth", "can-i", "create", "deployments", "-n", "team"], None);
    assert_eq!((yes.code, yes.stdout.trim()), (0, "yes"));
    let no = cluster.kubectl_with(
        &alice,
        &["auth", "can-i", "create", "deployments", "-n", "default"],
        None,
    );
    assert_eq!((no.code, no.stdout.trim()), (1, "no"));
    let roles = cluster.kubectl_with(&alice, &["auth", "can-i", "create", "roles", "-n", "team"], None);
    assert_eq!(roles.stdout.trim(), "no", "edit does not grant RBAC objects");
}

#[test]
fn admins_impersonate_with_as() {
    let cluster = with_team_binding();
    let run = cluster.kubectl(&["auth", "can-i", "list", "secrets", "-n", "team", "--as=alice"]);
    assert_eq!(run.stdout.trim(), "yes");
    let run = cluster.kubectl(&["auth", "can-i", "list", "secrets", "-n", "default", "--as=alice"]);
    assert_eq!(run.stdout.trim(), "no");
    let whoami = cluster.kubectl(&[
        "auth",
        "whoami",
        "--as=alice",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(whoami.ok().stdout, "alice");
}

#[test]
fn denied_requests_get_the_real_servers_403() {
    let cluster = with_team_binding();
    let bob = cluster.user_kubeconfig("bob", &[]);
    let run = cluster
        .kubectl_with(&bob, &["get", "configmaps", "-n", "team"], None)
        .fails();
    assert_eq!(
        run.stderr.trim(),
        "Error from server (Forbidden): configmaps is forbidden: User \"bob\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"team\""
    );
    let alice = cluster.user_kubeconfig("alice", &[]);
    cluster
        .kubectl_with(&alice, &["create", "configmap", "mine", "-n", "team"], None)
        .ok();
    assert!(cluster.object(&configmaps(), Some("team"), "mine").is_some());
    let impersonate = cluster
        .kubectl_with(&alice, &["get", "pods", "-n", "team", "--as=admin"], None)
        .fails();
    assert!(
        impersonate
            .stderr
            .contains("users \"admin\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"),
        "{}",
        impersonate.stderr
    );
}

#[test]
fn can_i_list_shows_the_rules_of_the_bindings() {
    let cluster = with_team_binding();
    let out = cluster
        .kubectl(&["auth", "can-i", "--list", "-n", "team", "--as=alice"])
        .ok()
        .stdout;
    let deployments = out
        .lines()
        .find(|l| l.starts_with("deployments.apps "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        deployments.contains("create") && deployments.contains("delete"),
        "{deployments}"
    );
}
