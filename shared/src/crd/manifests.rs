//! Objects the plugin writes for GitOps: the agent's installation in one namespace
//! ([`agent_manifests`]: ServiceAccount, Role, RoleBindings, Deployment; namespaced RBAC only) and
//! the `KluctlDeployment` plus optional `GitRepository` of `gitops create` ([`gitops_objects`]).
//!
//! Input: typed options. Output: objects as `serde_json::Value`, in the order they must be applied.

use super::flux_source::{FluxSourceKind, SOURCE_GROUP};
use super::kluctl_deployment::{DependencyReference, KluctlDeployment, KluctlDeploymentSpec, SourceReference};
use super::{API_VERSION, GROUP, KIND, PLURAL};
use serde_json::{Map, Value, json};

/// Name of the ServiceAccount, Role, RoleBindings and Deployment of an agent installation.
pub const AGENT_NAME: &str = "kluctl-agent";

/// The image `agent install` deploys unless told otherwise.
pub fn default_agent_image() -> String {
    format!("ghcr.io/kubectl-kluctl/kluctl-agent:v{}", env!("CARGO_PKG_VERSION"))
}

/// What `agent install` creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentInstallOptions {
    /// The namespace the agent serves (and runs in).
    pub namespace: String,
    /// Container image.
    pub image: String,
    /// The built-in ClusterRole bound (by a RoleBinding, so only inside the namespace) to the
    /// agent's ServiceAccount for deploying; `None` when every KluctlDeployment impersonates its
    /// own `serviceAccountName`.
    pub deploy_cluster_role: Option<String>,
    /// `--artifact-host-allowlist` for the agent; empty keeps the agent's default.
    pub artifact_hosts: Vec<String>,
    /// `--concurrency` for the agent.
    pub concurrency: Option<u16>,
    /// Memory limit of the agent container (Kubernetes quantity).
    pub memory_limit: String,
}

impl AgentInstallOptions {
    /// Defaults for a namespace: the released image, namespace `admin` rights for deploying.
    pub fn new(namespace: impl Into<String>) -> Self {
        AgentInstallOptions {
            namespace: namespace.into(),
            image: default_agent_image(),
            deploy_cluster_role: Some("admin".to_string()),
            artifact_hosts: Vec::new(),
            concurrency: None,
            memory_limit: "128Mi".to_string(),
        }
    }
}

fn labels() -> Value {
    json!({
        "app.kubernetes.io/name": AGENT_NAME,
        "app.kubernetes.io/component": "gitops-agent",
        "app.kubernetes.io/managed-by": "kubectl-kluctl",
    })
}

/// The agent's Role: what it reads and writes itself, all inside its namespace. Deploy rights
/// come separately (the bound ClusterRole, or impersonated ServiceAccounts).
pub fn agent_role_rules() -> Value {
    let sources: Vec<&str> = FluxSourceKind::ALL.iter().map(|k| k.plural()).collect();
    json!([
        {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["get", "list", "watch", "patch", "update"]},
        {"apiGroups": [GROUP], "resources": [format!("{PLURAL}/status"), format!("{PLURAL}/finalizers")],
         "verbs": ["get", "patch", "update"]},
        {"apiGroups": [SOURCE_GROUP], "resources": sources, "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    ])
}

/// ServiceAccount, Role, RoleBinding(s) and Deployment of the agent for one namespace. No
/// ClusterRole or ClusterRoleBinding is created.
pub fn agent_manifests(options: &AgentInstallOptions) -> Vec<Value> {
    let ns = options.namespace.as_str();
    let meta = |name: &str| json!({"name": name, "namespace": ns, "labels": labels()});
    let subject = json!([{"kind": "ServiceAccount", "name": AGENT_NAME, "namespace": ns}]);
    let mut objects = vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(AGENT_NAME)}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(AGENT_NAME),
               "rules": agent_role_rules()}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(AGENT_NAME),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": AGENT_NAME},
               "subjects": subject}),
    ];
    if let Some(role) = &options.deploy_cluster_role {
        let name = format!("{AGENT_NAME}-deploy");
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(&name),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subject,
        }));
    }
    let mut args = vec![format!("--namespace={ns}"), "--json-logs".to_string()];
    if !options.artifact_hosts.is_empty() {
        args.push(format!(
            "--artifact-host-allowlist={}",
            options.artifact_hosts.join(",")
        ));
    }
    if let Some(concurrency) = options.concurrency {
        args.push(format!("--concurrency={concurrency}"));
    }
    let selector = json!({"app.kubernetes.io/name": AGENT_NAME});
    objects.push(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(AGENT_NAME),
        "spec": {
            "replicas": 1,
            // One agent per namespace: never two reconciling the same objects during a rollout.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels()},
                "spec": {
                    "serviceAccountName": AGENT_NAME,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                                        "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 60,
                    "containers": [{
                        "name": "agent",
                        "image": options.image,
                        "args": args,
                        "env": [
                            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                            {"name": "TMPDIR", "value": "/tmp"},
                        ],
                        "ports": [
                            {"name": "metrics", "containerPort": 8080, "protocol": "TCP"},
                            {"name": "health", "containerPort": 9440, "protocol": "TCP"},
                        ],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "health"}},
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"}},
                        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                                      "limits": {"memory": options.memory_limit}},
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    // Artifacts are extracted here; the size limit bounds what a bad artifact can fill.
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                },
            },
        },
    }));
    objects
}

/// The Flux `GitRepository` that `gitops create --git-url` writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitRepositoryOptions {
    /// Repository URL.
    pub url: String,
    /// `spec.ref.branch`.
    pub branch: Option<String>,
    /// `spec.ref.tag`.
    pub tag: Option<String>,
    /// `spec.ref.semver`.
    pub semver: Option<String>,
    /// `spec.ref.commit`.
    pub commit: Option<String>,
    /// Poll interval of source-controller.
    pub interval: String,
    /// Secret with the credentials, in the same namespace.
    pub secret_ref: Option<String>,
}

/// What `gitops create` writes.
#[derive(Clone, Debug, PartialEq)]
pub struct GitopsObjectsOptions {
    /// Name of the KluctlDeployment (and of the GitRepository it creates).
    pub name: String,
    /// Namespace of both.
    pub namespace: String,
    /// The spec; `source_ref` is filled in when `git` is given.
    pub spec: KluctlDeploymentSpec,
    /// Create a GitRepository too.
    pub git: Option<GitRepositoryOptions>,
}

/// The GitRepository (when asked for) followed by the KluctlDeployment.
pub fn gitops_objects(options: &GitopsObjectsOptions) -> Vec<Value> {
    let mut objects = Vec::new();
    let mut spec = options.spec.clone();
    if let Some(git) = &options.git {
        let mut reference = Map::new();
        for (key, value) in [
            ("branch", &git.branch),
            ("tag", &git.tag),
            ("semver", &git.semver),
            ("commit", &git.commit),
        ] {
            if let Some(value) = value {
                reference.insert(key.to_string(), json!(value));
            }
        }
        let mut git_spec = json!({"url": git.url, "interval": git.interval});
        if !reference.is_empty() {
            git_spec["ref"] = Value::Object(reference);
        }
        if let Some(secret) = &git.secret_ref {
            git_spec["secretRef"] = json!({"name": secret});
        }
        objects.push(json!({
            "apiVersion": format!("{SOURCE_GROUP}/v1"), "kind": "GitRepository",
            "metadata": {"name": options.name, "namespace": options.namespace},
            "spec": git_spec,
        }));
        spec.source_ref = SourceReference {
            api_version: None,
            kind: FluxSourceKind::GitRepository.kind().to_string(),
            name: options.name.clone(),
            namespace: None,
        };
    }
    let mut deployment = KluctlDeployment::new(&options.name, spec);
    deployment.metadata.namespace = Some(options.namespace.clone());
    let mut value = serde_json::to_value(&deployment).unwrap_or(Value::Null);
    // `status: null` and empty metadata maps are noise in exported YAML and rejected by nothing,
    // but users diff these files.
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
        map.insert("apiVersion".into(), json!(API_VERSION));
        map.insert("kind".into(), json!(KIND));
    }
    objects.push(value);
    objects
}

/// `dependsOn` entries from names.
pub fn depends_on(names: &[String]) -> Vec<DependencyReference> {
    names
        .iter()
        .map(|name| DependencyReference {
            name: name.clone(),
            namespace: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_installation_is_namespaced_only() {
        let objects = agent_manifests(&AgentInstallOptions::new("team-a"));
        let kinds: Vec<&str> = objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["ServiceAccount", "Role", "RoleBinding", "RoleBinding", "Deployment"]
        );
        for object in &objects {
            assert_eq!(object["metadata"]["namespace"], "team-a", "{object}");
        }
        assert!(!kinds.iter().any(|k| k.starts_with("Cluster")));
        let container = &objects[4]["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["args"][0], "--namespace=team-a");
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
        let mut options = AgentInstallOptions::new("team-a");
        options.deploy_cluster_role = None;
        assert_eq!(agent_manifests(&options).len(), 4);
    }

    #[test]
    fn gitops_objects_reference_the_created_source() {
        let options = GitopsObjectsOptions {
            name: "app".into(),
            namespace: "team-a".into(),
            spec: KluctlDeploymentSpec {
                interval: "5m".into(),
                target: Some("prod".into()),
                prune: true,
                ..Default::default()
            },
            git: Some(GitRepositoryOptions {
                url: "https://example.com/repo.git".into(),
                branch: Some("main".into()),
                interval: "1m".into(),
                ..Default::default()
            }),
        };
        let objects = gitops_objects(&options);
        assert_eq!(objects[0]["kind"], "GitRepository");
        assert_eq!(objects[0]["spec"]["ref"], json!({"branch": "main"}));
        let kd = &objects[1];
        assert_eq!(kd["apiVersion"], API_VERSION);
        assert_eq!(kd["spec"]["sourceRef"], json!({"kind": "GitRepository", "name": "app"}));
        assert_eq!(kd["metadata"]["namespace"], "team-a");
        assert!(kd.get("status").is_none());
    }
}
