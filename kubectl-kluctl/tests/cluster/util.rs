//! Helpers: a test API server with a connected client, object builders, and the commands run
//! in-process.

use kluctl_e2e::apiserver::{Gvr, ServerOptions, TestServer};
use serde_json::{Value, json};
use shared::cluster::{ClusterClient, ConnectOptions, DeployItem, DeployOptions, NoProgress, connect};
use shared::commands::{self, DeployCommandOptions, Session, Target};
use shared::result::{CommandInfo, CommandResult, ResultOptions};
use std::time::Duration;

pub const DISCRIMINATOR_LABEL: &str = "kluctl.io/discriminator";

/// A running server and a client connected to it through its kubeconfig.
pub struct Cluster {
    pub server: TestServer,
    pub client: ClusterClient,
}

impl Cluster {
    pub async fn start(options: ServerOptions) -> Cluster {
        let server = TestServer::start(options).await.expect("test server starts");
        let client = connect(&ConnectOptions::from_kubeconfig(server.kubeconfig_path()))
            .await
            .expect("client connects");
        Cluster { server, client }
    }

    /// A server that simulates controllers quickly.
    pub async fn with_controllers() -> Cluster {
        Self::start(
            ServerOptions::default()
                .simulate_controllers()
                .controller_delay(Duration::from_millis(50)),
        )
        .await
    }

    pub fn session(&self, command: &str) -> Session<'_> {
        Session {
            client: &self.client,
            info: CommandInfo::new(command),
            result_options: ResultOptions::default(),
            progress: &NoProgress,
        }
    }

    pub async fn diff(&self, target: &Target) -> CommandResult {
        commands::diff(&self.session("diff"), target, &fast())
            .await
            .expect("diff runs")
    }

    pub async fn deploy(&self, target: &Target) -> CommandResult {
        self.deploy_with(
            target,
            DeployCommandOptions {
                deploy: fast(),
                prune: false,
            },
        )
        .await
    }

    pub async fn deploy_with(&self, target: &Target, options: DeployCommandOptions) -> CommandResult {
        commands::deploy(&self.session("deploy"), target, &options)
            .await
            .expect("deploy runs")
    }

    pub fn get(&self, gvr: &Gvr, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.server.get_object(gvr, namespace, name)
    }

    pub fn create(&self, object: Value) -> Value {
        self.server.create_object(object).expect("object created")
    }
}

/// Deploy options with a short readiness timeout (tests never wait minutes).
pub fn fast() -> DeployOptions {
    DeployOptions {
        readiness_timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

/// Adds the discriminator label (what the render stage does).
pub fn owned(mut object: Value, discriminator: &str) -> Value {
    object["metadata"]["labels"][DISCRIMINATOR_LABEL] = json!(discriminator);
    object
}

pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub fn config_map(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

pub fn secret(ns: &str, name: &str, string_data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "Opaque",
        "stringData": string_data})
}

pub fn deployment(ns: &str, name: &str, replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image, "ports": [{"containerPort": 80}]}]}}}})
}

pub fn job(ns: &str, name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns, "annotations": annotations},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox", "command": ["true"]}]}}}})
}

pub fn crd(group: &str, kind: &str, plural: &str) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})
}

/// A target whose objects all carry its discriminator.
pub fn target(discriminator: &str, items: Vec<DeployItem>) -> Target {
    let items = items
        .into_iter()
        .map(|mut item| {
            item.objects = item.objects.into_iter().map(|o| owned(o, discriminator)).collect();
            item
        })
        .collect();
    Target {
        name: Some(discriminator.to_string()),
        discriminator: Some(discriminator.to_string()),
        items,
        ..Default::default()
    }
}

pub fn item(name: &str, objects: Vec<Value>) -> DeployItem {
    DeployItem::new(name, objects)
}

/// `ns/Kind/name` of the objects with a flag.
pub fn refs(result: &CommandResult, flag: impl Fn(&shared::result::ResultObject) -> bool) -> Vec<String> {
    result.refs_where(flag).iter().map(|r| r.to_string()).collect()
}

pub fn messages(list: &[shared::result::ResultMessage]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

pub fn resource_version(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("resourceVersion")
}
