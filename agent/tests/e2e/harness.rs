//! Test harness: the in-memory API server with the Flux source CRDs and the generated
//! `KluctlDeployment` CRD, an artifact server on 127.0.0.1, builders for sources and
//! KluctlDeployments, and polling helpers.

use futures::future::BoxFuture;
use kluctl_agent::engine::{DeleteRequest, DeployRequest, Engine, EngineReport, Failure, Identity};
use kluctl_e2e::apiserver::{ServerOptions, TestServer};
use kluctl_e2e::servers::artifact::{ArtifactServer, Published, TreeFile, source_tarball};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use shared::crd::KluctlDeployment;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `shared/testdata`, found above the crate (or from `KLUCTL_TESTDATA`).
pub fn testdata() -> PathBuf {
    kluctl_e2e::fixtures::testdata().expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

/// A kube client for a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> kube::Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

/// The API server with the CRDs, plus an admin client.
pub struct Cluster {
    pub server: TestServer,
    pub admin: kube::Client,
}

impl Cluster {
    pub async fn start(options: ServerOptions) -> Cluster {
        shared::http::install_crypto_provider();
        let server = TestServer::start(options).await.expect("test API server");
        let crds = testdata().join("flux-crds");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&crds)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for doc in shared::yaml::parse_documents(&text, &file.to_string_lossy()).unwrap() {
                server.create_object(doc).expect("Flux CRD");
            }
        }
        server
            .create_object(serde_json::to_value(shared::crd::crd()).unwrap())
            .expect("KluctlDeployment CRD");
        let admin = client_for(server.kubeconfig_path()).await;
        Cluster { server, admin }
    }

    pub fn create_namespace(&self, name: &str) {
        self.server
            .create_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
            .expect("namespace");
    }

    pub fn kds(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.admin.clone(), namespace, &kluctl_agent::controller::kd_resource())
    }

    pub fn git_repositories(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.admin.clone(),
            namespace,
            &kluctl_agent::source::api_resource(shared::crd::FluxSourceKind::GitRepository, "v1"),
        )
    }

    /// Creates a GitRepository (optionally with an artifact in its status).
    pub async fn create_git_repository(&self, namespace: &str, name: &str, artifact: Option<Value>) {
        let object = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"url": "https://example.com/repo.git", "interval": "1m", "ref": {"branch": "main"}},
        });
        let object: DynamicObject = serde_json::from_value(object).unwrap();
        self.git_repositories(namespace)
            .create(&PostParams::default(), &object)
            .await
            .expect("create GitRepository");
        if let Some(artifact) = artifact {
            self.set_artifact(namespace, name, artifact).await;
        }
    }

    /// Writes `status.artifact` of a GitRepository, as source-controller would.
    pub async fn set_artifact(&self, namespace: &str, name: &str, artifact: Value) {
        let patch = json!({"status": {"artifact": artifact, "conditions": [{
            "type": "Ready", "status": "True", "reason": "Succeeded", "message": "stored artifact",
            "lastTransitionTime": "2024-01-01T00:00:00Z"}]}});
        self.git_repositories(namespace)
            .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("set artifact");
    }

    pub async fn create_kd(&self, namespace: &str, kd: &KluctlDeployment) {
        let mut value = serde_json::to_value(kd).unwrap();
        value.as_object_mut().unwrap().remove("status");
        let object: DynamicObject = serde_json::from_value(value).unwrap();
        self.kds(namespace)
            .create(&PostParams::default(), &object)
            .await
            .expect("create KluctlDeployment");
    }

    pub async fn patch_kd(&self, namespace: &str, name: &str, patch: Value) {
        self.kds(namespace)
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("patch KluctlDeployment");
    }

    pub async fn get_kd(&self, namespace: &str, name: &str) -> Option<KluctlDeployment> {
        let raw = self.kds(namespace).get_opt(name).await.expect("get KluctlDeployment")?;
        Some(serde_json::from_value(serde_json::to_value(raw).unwrap()).expect("typed KluctlDeployment"))
    }

    /// Polls until `check` returns `Some`, failing after `within` with the last state.
    pub async fn wait_kd<T>(
        &self,
        namespace: &str,
        name: &str,
        within: Duration,
        check: impl Fn(&KluctlDeployment) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            let kd = self.get_kd(namespace, name).await;
            if let Some(found) = kd.as_ref().and_then(&check) {
                return found;
            }
            if start.elapsed() > within {
                panic!(
                    "timed out waiting for {namespace}/{name}; last state: {}",
                    serde_json::to_string_pretty(&kd.map(|k| k.status)).unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_gone(&self, namespace: &str, name: &str, within: Duration) {
        let start = Instant::now();
        while self.get_kd(namespace, name).await.is_some() {
            assert!(start.elapsed() < within, "{namespace}/{name} still exists");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Events about an object: (type, reason, message, revision annotation).
    pub fn events(&self, namespace: &str, name: &str) -> Vec<(String, String, String, String)> {
        self.server
            .list_objects(&kluctl_e2e::apiserver::Gvr::core("events"), Some(namespace))
            .into_iter()
            .filter(|e| e.pointer("/involvedObject/name").and_then(Value::as_str) == Some(name))
            .map(|e| {
                let text = |p: &str| e.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
                (
                    text("/type"),
                    text("/reason"),
                    text("/message"),
                    text("/metadata/annotations/flux.kluctl.io~1revision"),
                )
            })
            .collect()
    }
}

/// The Ready condition as (status, reason, message).
pub fn ready(kd: &KluctlDeployment) -> Option<(String, String, String)> {
    let status = kd.status.as_ref()?;
    shared::crd::conditions::find(&status.conditions, "Ready")
        .map(|c| (c.status.as_str().to_string(), c.reason.clone(), c.message.clone()))
}

/// A condition's (status, reason) by type.
pub fn condition(kd: &KluctlDeployment, type_: &str) -> Option<(String, String)> {
    let status = kd.status.as_ref()?;
    shared::crd::conditions::find(&status.conditions, type_).map(|c| (c.status.as_str().to_string(), c.reason.clone()))
}

/// An artifact server plus what a GitRepository's status says about a published tarball.
pub struct Artifacts {
    pub server: ArtifactServer,
}

impl Artifacts {
    pub fn start() -> Artifacts {
        Artifacts {
            server: ArtifactServer::start().expect("artifact server"),
        }
    }

    /// Publishes a tree for `namespace/name` and returns the `status.artifact` to write.
    pub fn publish(&self, namespace: &str, name: &str, revision: &str, files: &[TreeFile]) -> (Published, Value) {
        let published = self
            .server
            .publish("gitrepository", namespace, name, source_tarball(files));
        let artifact = artifact_status(&published, revision);
        (published, artifact)
    }
}

pub fn artifact_status(published: &Published, revision: &str) -> Value {
    json!({
        "url": published.url, "path": published.path, "revision": revision,
        "digest": published.digest, "size": published.size,
        "lastUpdateTime": "2024-01-01T00:00:00Z",
    })
}

/// A revision string as source-controller writes it for a branch.
pub fn revision(n: u32) -> String {
    format!("main@sha1:{n:040x}")
}

/// A call the scripted engine received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Deploy {
        name: String,
        /// Content of the `REVISION` file of the project directory.
        revision: String,
        identity: Identity,
    },
    Delete {
        name: String,
        discriminator: String,
    },
}

/// A test double of the render-and-deploy engine: records calls and answers from a script, so
/// the controller's behaviour is tested without a Kluctl project.
#[derive(Default)]
pub struct ScriptedEngine {
    pub calls: Mutex<Vec<Call>>,
    failures: Mutex<VecDeque<Failure>>,
    delete_failures: Mutex<VecDeque<Failure>>,
    delay: Mutex<Option<Duration>>,
}

impl ScriptedEngine {
    pub fn fail_next(&self, reason: &'static str, message: &str) {
        self.failures.lock().unwrap().push_back(Failure {
            reason,
            message: message.to_string(),
        });
    }

    pub fn fail_next_delete(&self, message: &str) {
        self.delete_failures.lock().unwrap().push_back(Failure {
            reason: shared::crd::reasons::DELETION_FAILED,
            message: message.to_string(),
        });
    }

    pub fn set_delay(&self, delay: Option<Duration>) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn deploys_of(&self, name: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Deploy { name: n, revision, .. } if n == name => Some(revision),
                _ => None,
            })
            .collect()
    }
}

impl Engine for ScriptedEngine {
    fn deploy<'a>(&'a self, request: DeployRequest<'a>) -> BoxFuture<'a, EngineReport> {
        Box::pin(async move {
            let revision = std::fs::read_to_string(request.project_dir.join("REVISION")).unwrap_or_default();
            self.calls.lock().unwrap().push(Call::Deploy {
                name: request.name.to_string(),
                revision: revision.trim().to_string(),
                identity: request.identity.clone(),
            });
            let delay = *self.delay.lock().unwrap();
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let failure = self.failures.lock().unwrap().pop_front();
            EngineReport {
                discriminator: Some(format!("{}-{}", request.namespace, request.name)),
                summary: shared::crd::RunSummary {
                    command: "deploy".into(),
                    applied_objects: 2,
                    new_objects: 1,
                    errors: u8::from(failure.is_some()).into(),
                    ..Default::default()
                },
                waited: !request.spec.no_wait,
                changes: Some("ConfigMap/cm created".into()),
                failure,
            }
        })
    }

    fn delete<'a>(&'a self, request: DeleteRequest<'a>) -> BoxFuture<'a, EngineReport> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(Call::Delete {
                name: request.name.to_string(),
                discriminator: request.discriminator.to_string(),
            });
            EngineReport {
                failure: self.delete_failures.lock().unwrap().pop_front(),
                ..Default::default()
            }
        })
    }
}

/// A project tree whose `REVISION` file names the revision (what the scripted engine reports).
pub fn project_files(revision: &str) -> Vec<TreeFile> {
    vec![
        TreeFile::new("REVISION", revision),
        TreeFile::new(".kluctl.yaml", "targets:\n- name: test\n"),
        TreeFile::new("deployment.yaml", "deployments:\n- path: app\n"),
        TreeFile::new(
            "app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
    ]
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Default KluctlDeployment for tests: GitRepository `repo`, interval 1h (timers stay out of
/// the way unless a test sets them).
pub fn kd(name: &str) -> KluctlDeployment {
    KluctlDeployment::new(
        name,
        shared::crd::KluctlDeploymentSpec {
            source_ref: shared::crd::SourceReference {
                kind: "GitRepository".into(),
                name: "repo".into(),
                ..Default::default()
            },
            target: Some("test".into()),
            interval: "1h".into(),
            retry_interval: Some("1s".into()),
            timeout: Some("30s".into()),
            ..Default::default()
        },
    )
}

/// The Engine the in-process agent uses, shared with the test for assertions.
pub type SharedEngine = Arc<ScriptedEngine>;
