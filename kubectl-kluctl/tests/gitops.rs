//! `gitops`, `install-crds` and `agent install` in-process against the test API server; the
//! agent's side of `gitops reconcile` is played by a thread that answers requests as the agent
//! does (the agent itself is tested in `agent/tests`).

use kluctl_e2e::apiserver::{Gvr, ServerOptions, TestServer};
use kubectl_kluctl::io::Env;
use kubectl_kluctl::{Io, exit_for_error, run};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const NS: &str = "team";

struct Ran {
    code: ExitCode,
    stdout: String,
    stderr: String,
}

fn kluctl(args: &[&str], stdin: &str) -> Ran {
    let (io, captured) = Io::captured(Env::empty().with("HOME", "/nonexistent"), stdin);
    let mut argv = vec!["kubectl-kluctl"];
    argv.extend_from_slice(args);
    let code = match run(argv, io) {
        Ok(code) => code,
        Err(error) => {
            // As main.rs prints it.
            let _ = captured.stderr();
            let code: ExitCode = exit_for_error(&error).into();
            return Ran {
                code,
                stdout: captured.stdout(),
                stderr: format!("{}error: {error:#}\n", captured.stderr()),
            };
        }
    };
    Ran {
        code,
        stdout: captured.stdout(),
        stderr: captured.stderr(),
    }
}

fn kds() -> Gvr {
    Gvr::new("flux.kluctl.io", "v1alpha1", "kluctldeployments")
}

struct Cluster {
    server: TestServer,
    kubeconfig: PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let server = TestServer::start_blocking(ServerOptions::default()).unwrap();
        server
            .create_object(serde_json::to_value(shared::crd::crd()).unwrap())
            .unwrap();
        server
            .create_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
            .unwrap();
        let kubeconfig = server.kubeconfig_path().to_path_buf();
        Cluster { server, kubeconfig }
    }

    fn kluctl(&self, args: &[&str]) -> Ran {
        let kubeconfig = format!("--kubeconfig={}", self.kubeconfig.display());
        let mut all = vec![kubeconfig.as_str(), "-n", NS];
        all.extend_from_slice(args);
        kluctl(&all, "")
    }

    fn create_kd(&self, name: &str, suspend: bool) {
        self.server
            .create_object(json!({
                "apiVersion": "flux.kluctl.io/v1alpha1", "kind": "KluctlDeployment",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}, "target": "prod",
                         "interval": "5m", "suspend": suspend},
            }))
            .unwrap();
    }

    fn kd(&self, name: &str) -> Option<Value> {
        self.server.get_object(&kds(), Some(NS), name)
    }
}

/// Plays the agent: answers each new `requestedAt` token with a status (Ready as `ready`).
struct FakeAgent {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeAgent {
    fn start(cluster: &Cluster, name: &'static str, ready: &'static str) -> FakeAgent {
        let stop = Arc::new(AtomicBool::new(false));
        let url = format!(
            "{}/apis/flux.kluctl.io/v1alpha1/namespaces/{NS}/kluctldeployments/{name}/status",
            cluster.server.url()
        );
        let token = cluster.server.admin_token().to_string();
        let base = cluster.server.url().to_string();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let client = reqwest_like::Client::new(base, token);
                while !flag.load(Ordering::SeqCst) {
                    let object = client.get(&format!("/apis/flux.kluctl.io/v1alpha1/namespaces/{NS}/kluctldeployments/{name}")).await;
                    let requested = object["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].as_str().map(str::to_string);
                    let handled = object["status"]["lastHandledReconcileAt"].as_str().map(str::to_string);
                    if let Some(requested) = requested.filter(|r| Some(r) != handled.as_ref()) {
                        let mut updated = object.clone();
                        updated["status"] = json!({
                            "lastHandledReconcileAt": requested,
                            "lastAppliedRevision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
                            "conditions": [{"type": "Ready", "status": ready, "reason": if ready == "True" { "ReconciliationSucceeded" } else { "ReconciliationFailed" },
                                            "message": "from the fake agent", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
                            "lastResult": {"command": "deploy", "appliedObjects": 3, "newObjects": 1, "errors": if ready == "True" { 0 } else { 1 },
                                           "errorMessages": if ready == "True" { json!([]) } else { json!(["team/ConfigMap/cm: denied"]) }},
                        });
                        client.put(&url, &updated).await;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        });
        FakeAgent {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeAgent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The few plain-HTTP calls the fake agent makes, over hyper.
mod reqwest_like {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::{Client as Hyper, connect::HttpConnector};
    use serde_json::Value;

    pub struct Client {
        base: String,
        token: String,
        http: Hyper<HttpConnector, Full<bytes::Bytes>>,
    }

    impl Client {
        pub fn new(base: String, token: String) -> Self {
            Client {
                base,
                token,
                http: Hyper::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
            }
        }

        async fn send(&self, method: &str, url: &str, body: Option<&Value>) -> Value {
            let request = http::Request::builder()
                .method(method)
                .uri(url)
                .header("authorization", format!("Bearer {}", self.token))
                .header("content-type", "application/json")
                .body(Full::new(bytes::Bytes::from(
                    body.map(|b| b.to_string()).unwrap_or_default(),
                )))
                .unwrap();
            let response = self.http.request(request).await.unwrap();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        }

        pub async fn get(&self, path: &str) -> Value {
            self.send("GET", &format!("{}{path}", self.base), None).await
        }

        pub async fn put(&self, url: &str, body: &Value) -> Value {
            self.send("PUT", url, Some(body)).await
        }
    }
}

#[test]
fn exports_are_valid_objects_without_a_cluster() {
    let out = kluctl(
        &[
            "gitops",
            "create",
            "app",
            "-n",
            NS,
            "--git-url",
            "https://example.com/r.git",
            "--git-tag",
            "v1.2.3",
            "--path",
            "deploy",
            "-t",
            "prod",
            "-a",
            "replicas=3",
            "--prune",
            "--delete",
            "--depends-on",
            "infra",
            "-I",
            "apps",
            "-F",
            "nginx=nginx:1.27",
            "--export",
        ],
        "",
    );
    assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
    let docs = shared::yaml::parse_documents(&out.stdout, "stdout").unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["spec"]["ref"], json!({"tag": "v1.2.3"}));
    let spec = &docs[1]["spec"];
    assert_eq!(spec["sourceRef"], json!({"kind": "GitRepository", "name": "app"}));
    assert_eq!(spec["args"], json!({"replicas": 3}));
    assert_eq!(spec["dependsOn"], json!([{"name": "infra"}]));
    assert_eq!(spec["includeTags"], json!(["apps"]));
    assert_eq!(spec["images"], json!([{"image": "nginx", "resultImage": "nginx:1.27"}]));
    assert_eq!(
        (spec["prune"].clone(), spec["delete"].clone()),
        (json!(true), json!(true))
    );

    let out = kluctl(
        &[
            "agent",
            "install",
            "-n",
            NS,
            "--deploy-cluster-role",
            "none",
            "--export",
        ],
        "",
    );
    let docs = shared::yaml::parse_documents(&out.stdout, "stdout").unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ServiceAccount", "Role", "RoleBinding", "Deployment"]);

    let out = kluctl(&["install-crds", "--export"], "");
    assert_eq!(
        shared::yaml::parse_single(&out.stdout, "stdout").unwrap(),
        serde_json::to_value(shared::crd::crd()).unwrap()
    );
}

#[test]
fn bad_create_flags_are_usage_errors() {
    let out = kluctl(&["gitops", "create", "app", "-n", NS, "--export"], "");
    assert_eq!(out.code, ExitCode::from(2));
    assert!(out.stderr.contains("pass --git-url"), "{}", out.stderr);
    let out = kluctl(
        &[
            "gitops",
            "create",
            "app",
            "-n",
            NS,
            "--source-name",
            "r",
            "--interval",
            "0s",
            "--export",
        ],
        "",
    );
    assert_eq!(out.code, ExitCode::from(1));
    assert!(out.stderr.contains("spec.interval"), "{}", out.stderr);
    let out = kluctl(&["agent", "install", "--export"], "");
    assert_eq!(out.code, ExitCode::from(2));
    assert!(out.stderr.contains("needs -n NAMESPACE"), "{}", out.stderr);
}

#[test]
fn list_get_suspend_resume_reconcile_and_delete() {
    let cluster = Cluster::start();
    cluster.create_kd("app", false);
    cluster.create_kd("other", true);

    let out = cluster.kluctl(&["gitops", "list"]);
    assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE", "AGE"]
    );
    assert!(
        lines[1].starts_with("app ") && lines[1].contains("waiting for the agent"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("other ") && lines[2].contains("true"),
        "{}",
        lines[2]
    );
    let json_out = cluster.kluctl(&["gitops", "list", "-o", "json"]);
    let parsed: Value = serde_json::from_str(&json_out.stdout).unwrap();
    assert_eq!(parsed["kind"], "KluctlDeploymentList");
    assert_eq!(parsed["items"][1]["suspended"], true);

    let out = cluster.kluctl(&["gitops", "get", "app", "-o", "yaml"]);
    let object = shared::yaml::parse_single(&out.stdout, "stdout").unwrap();
    assert_eq!(
        (object["kind"].as_str(), object["apiVersion"].as_str()),
        (Some("KluctlDeployment"), Some("flux.kluctl.io/v1alpha1"))
    );
    let out = cluster.kluctl(&["gitops", "get", "nope"]);
    assert_eq!(out.code, ExitCode::from(1));
    assert!(
        out.stderr.contains("failed to find KluctlDeployment team/nope"),
        "{}",
        out.stderr
    );

    let out = cluster.kluctl(&["gitops", "suspend", "app"]);
    assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
    assert_eq!(cluster.kd("app").unwrap()["spec"]["suspend"], true);

    {
        let _agent = FakeAgent::start(&cluster, "app", "True");
        let out = cluster.kluctl(&["gitops", "resume", "app"]);
        assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
        assert_eq!(cluster.kd("app").unwrap()["spec"]["suspend"], false);
        assert!(
            out.stdout.contains("Ready=True (ReconciliationSucceeded)"),
            "{}",
            out.stdout
        );
        let out = cluster.kluctl(&["gitops", "reconcile", "app", "-o", "json"]);
        assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
        let outcome: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(outcome["kind"], "ReconcileOutcome");
        assert_eq!(outcome["lastResult"]["appliedObjects"], 3);
    }
    {
        let _agent = FakeAgent::start(&cluster, "other", "False");
        let out = cluster.kluctl(&["gitops", "reconcile", "other"]);
        assert_eq!(out.code, ExitCode::from(1), "{}", out.stderr);
        assert!(out.stderr.contains("is suspended"), "{}", out.stderr);
        assert!(
            out.stdout.contains("error: team/ConfigMap/cm: denied"),
            "{}",
            out.stdout
        );
    }
    let out = cluster.kluctl(&["gitops", "reconcile", "app", "--timeout", "1s"]);
    assert_eq!(out.code, ExitCode::from(1));
    assert!(
        out.stderr.contains("is `kluctl-agent` running in team?"),
        "{}",
        out.stderr
    );

    // No terminal, no --yes: refused.
    let out = cluster.kluctl(&["gitops", "delete", "app"]);
    assert_eq!(out.code, ExitCode::from(1));
    assert!(
        out.stderr
            .contains("refusing to delete without confirmation (pass --yes)"),
        "{}",
        out.stderr
    );
    assert!(cluster.kd("app").is_some());
    let out = cluster.kluctl(&["gitops", "delete", "app", "--yes"]);
    assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
    assert!(cluster.kd("app").is_none());
}

#[test]
fn a_missing_crd_says_how_to_install_it() {
    let server = TestServer::start_blocking(ServerOptions::default()).unwrap();
    let kubeconfig = format!("--kubeconfig={}", server.kubeconfig_path().display());
    let out = kluctl(&[&kubeconfig, "gitops", "list"], "");
    assert_eq!(out.code, ExitCode::from(1));
    assert!(out.stderr.contains("kubectl kluctl install-crds"), "{}", out.stderr);
}

fn testdata() -> PathBuf {
    kluctl_e2e::fixtures::testdata().expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

#[test]
fn install_crds_agent_install_and_create_apply_server_side() {
    let server = TestServer::start_blocking(ServerOptions::default()).unwrap();
    server
        .create_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .unwrap();
    let kubeconfig = format!("--kubeconfig={}", server.kubeconfig_path().display());
    let cluster_roles = || {
        server
            .list_objects(&Gvr::new("rbac.authorization.k8s.io", "v1", "clusterroles"), None)
            .len()
    };
    let before = cluster_roles();

    let out = kluctl(&[&kubeconfig, "install-crds"], "");
    assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
    assert!(
        out.stderr.contains("kluctldeployments.flux.kluctl.io installed"),
        "{}",
        out.stderr
    );
    let crd = server
        .get_object(
            &Gvr::new("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
            None,
            "kluctldeployments.flux.kluctl.io",
        )
        .unwrap();
    assert_eq!(crd["metadata"]["managedFields"][0]["manager"], "kluctl");

    let out = kluctl(&[&kubeconfig, "agent", "install", "-n", NS, "--concurrency", "2"], "");
    assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
    assert!(out.stderr.contains("source-controller (port 9090)"), "{}", out.stderr);
    let deployment = server
        .get_object(&Gvr::new("apps", "v1", "deployments"), Some(NS), "kluctl-agent")
        .unwrap();
    let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(args.as_array().unwrap().contains(&json!("--concurrency=2")), "{args}");
    assert!(
        server
            .get_object(
                &Gvr::new("rbac.authorization.k8s.io", "v1", "roles"),
                Some(NS),
                "kluctl-agent"
            )
            .is_some()
    );
    assert_eq!(cluster_roles(), before, "agent install must not create ClusterRoles");
    assert!(
        server
            .list_objects(
                &Gvr::new("rbac.authorization.k8s.io", "v1", "clusterrolebindings"),
                None
            )
            .iter()
            .all(|b| b["metadata"]["name"] != "kluctl-agent")
    );

    // Flux's CRDs for the GitRepository `create` writes.
    let path = testdata().join("flux-crds/source.toolkit.fluxcd.io_gitrepositories.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    for doc in shared::yaml::parse_documents(&text, "crd").unwrap() {
        server.create_object(doc).unwrap();
    }
    let create = |extra: &[&str]| {
        let mut args = vec![
            kubeconfig.as_str(),
            "-n",
            NS,
            "gitops",
            "create",
            "app",
            "--git-url",
            "https://example.com/r.git",
            "--git-branch",
            "main",
            "-t",
            "prod",
        ];
        args.extend_from_slice(extra);
        kluctl(&args, "")
    };
    let out = create(&["--interval", "10m"]);
    assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
    let repo = server
        .get_object(
            &Gvr::new("source.toolkit.fluxcd.io", "v1", "gitrepositories"),
            Some(NS),
            "app",
        )
        .unwrap();
    assert_eq!(repo["spec"]["ref"]["branch"], "main");
    let kd = server.get_object(&kds(), Some(NS), "app").unwrap();
    assert_eq!(kd["spec"]["interval"], "10m");
    // Running it again updates in place.
    let out = create(&["--interval", "2m", "--prune"]);
    assert_eq!(out.code, ExitCode::SUCCESS, "{}", out.stderr);
    let kd = server.get_object(&kds(), Some(NS), "app").unwrap();
    assert_eq!(
        (kd["spec"]["interval"].clone(), kd["spec"]["prune"].clone()),
        (json!("2m"), json!(true))
    );
}
