//! kube-rs against the server (the agent's client): typed CRUD over the generated kubeconfig (TLS with
//! the server's CA, bearer token) and the `watcher` with list-then-watch and streaming lists.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kluctl_e2e::apiserver::{ServerOptions, TestServer};
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Config};
use std::collections::BTreeMap;
use std::time::Duration;

async fn client(server: &TestServer) -> Client {
    let kubeconfig = Kubeconfig::read_from(server.kubeconfig_path()).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

fn configmap(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), "v".to_string())])),
        ..Default::default()
    }
}

/// Events as (kind, name): `init`, `init-apply`, `init-done`, `apply`, `delete`.
fn summary(event: &Event<ConfigMap>) -> (&'static str, String) {
    let name = |cm: &ConfigMap| cm.metadata.name.clone().unwrap_or_default();
    match event {
        Event::Init => ("init", String::new()),
        Event::InitApply(cm) => ("init-apply", name(cm)),
        Event::InitDone => ("init-done", String::new()),
        Event::Apply(cm) => ("apply", name(cm)),
        Event::Delete(cm) => ("delete", name(cm)),
    }
}

async fn watch_scenario(config: watcher::Config) {
    let server = TestServer::start(ServerOptions::default()).await.expect("server");
    let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    api.create(&PostParams::default(), &configmap("existing"))
        .await
        .expect("create");
    let mut events = watcher::watcher(api.clone(), config).boxed();
    let mut seen = Vec::new();
    while seen.last().map(|(k, _): &(&str, String)| *k) != Some("init-done") {
        let event = tokio::time::timeout(Duration::from_secs(5), events.try_next())
            .await
            .expect("initial events in time")
            .expect("no watch error")
            .expect("stream continues");
        seen.push(summary(&event));
    }
    api.create(&PostParams::default(), &configmap("added"))
        .await
        .expect("create");
    api.delete("existing", &DeleteParams::default()).await.expect("delete");
    for _ in 0..2 {
        let event = tokio::time::timeout(Duration::from_secs(5), events.try_next())
            .await
            .expect("events in time")
            .expect("no watch error")
            .expect("stream continues");
        seen.push(summary(&event));
    }
    let expected: Vec<(&str, String)> = vec![
        ("init", String::new()),
        ("init-apply", "existing".into()),
        ("init-done", String::new()),
        ("apply", "added".into()),
        ("delete", "existing".into()),
    ];
    assert_eq!(seen, expected);
    assert!(
        server
            .get_object(
                &kluctl_e2e::apiserver::Gvr::core("configmaps"),
                Some("default"),
                "existing"
            )
            .is_none()
    );
}

#[tokio::test]
async fn kube_watcher_lists_then_watches() {
    watch_scenario(watcher::Config::default()).await;
}

#[tokio::test]
async fn kube_watcher_streams_initial_events_with_a_bookmark() {
    watch_scenario(watcher::Config::default().streaming_lists()).await;
}

#[tokio::test]
async fn typed_crud_round_trips_and_conflicts_on_stale_versions() {
    let server = TestServer::start(ServerOptions::default()).await.expect("server");
    let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    let created = api
        .create(&PostParams::default(), &configmap("cfg"))
        .await
        .expect("create");
    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.data = Some(BTreeMap::from([("k".to_string(), "new".to_string())]));
    let updated = api
        .replace("cfg", &PostParams::default(), &fresh)
        .await
        .expect("replace");
    assert_ne!(updated.metadata.resource_version, created.metadata.resource_version);
    stale.data = Some(BTreeMap::from([("k".to_string(), "stale".to_string())]));
    let err = api.replace("cfg", &PostParams::default(), &stale).await.unwrap_err();
    match err {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409);
            assert_eq!(status.reason, "Conflict");
        }
        other => panic!("expected a conflict, got {other}"),
    }
    let listed = api.list(&Default::default()).await.expect("list");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].data.as_ref().unwrap()["k"], "new");
}

#[tokio::test]
async fn watches_from_a_compacted_version_get_410_and_idle_watches_get_bookmarks() {
    use kube::api::{WatchEvent, WatchParams};
    let options = ServerOptions::default()
        .history_limit(16)
        .bookmark_interval(Duration::from_millis(100));
    let server = TestServer::start(options).await.expect("server");
    let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    let first = api
        .create(&PostParams::default(), &configmap("c0"))
        .await
        .expect("create");
    let old_rv = first.metadata.resource_version.clone().unwrap();
    for i in 1..40 {
        api.create(&PostParams::default(), &configmap(&format!("c{i}")))
            .await
            .expect("create");
    }
    let mut stale = api
        .watch(&WatchParams::default(), &old_rv)
        .await
        .expect("watch")
        .boxed();
    match stale.try_next().await.expect("no transport error") {
        Some(WatchEvent::Error(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
            assert!(
                status.message.starts_with("too old resource version"),
                "{}",
                status.message
            );
        }
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    let current = api
        .list(&Default::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .unwrap();
    let mut idle = api
        .watch(&WatchParams::default().timeout(5), &current)
        .await
        .expect("watch")
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(3), idle.try_next())
        .await
        .expect("a bookmark in time")
        .expect("no transport error");
    match event {
        Some(WatchEvent::Bookmark(bookmark)) => assert_eq!(bookmark.metadata.resource_version, current),
        other => panic!("expected a bookmark, got {other:?}"),
    }
}

#[tokio::test]
async fn kube_server_side_apply_and_delete_collection() {
    use kube::api::{ListParams, Patch, PatchParams};
    let server = TestServer::start(ServerOptions::default()).await.expect("server");
    let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    for name in ["a", "b", "keep"] {
        let applied = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"batch": if name == "keep" { "no" } else { "yes" }}},
            "data": {"k": "v"}});
        let params = PatchParams::apply("kluctl").force();
        let stored = api.patch(name, &params, &Patch::Apply(&applied)).await.expect("apply");
        let managers: Vec<_> = stored
            .metadata
            .managed_fields
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m.manager.unwrap_or_default(), m.operation.unwrap_or_default()))
            .collect();
        assert_eq!(managers, vec![("kluctl".to_string(), "Apply".to_string())]);
    }
    api.delete_collection(&Default::default(), &ListParams::default().labels("batch=yes"))
        .await
        .expect("deletecollection");
    let left: Vec<String> = api
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|cm| cm.metadata.name)
        .collect();
    assert_eq!(left, vec!["keep"]);
}
