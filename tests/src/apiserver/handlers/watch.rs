//! Watch: a chunked `application/json` stream of `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR",
//! "object":...}` lines. Starts with synthetic ADDED events (no `resourceVersion`, `0`, or
//! `sendInitialEvents=true`, then a BOOKMARK marked `k8s.io/initial-events-end`) or replays history after
//! a `resourceVersion` (`410 Expired` in an ERROR event when it is too old); honours selectors (objects
//! leaving a selector are DELETED), `allowWatchBookmarks`, `timeoutSeconds` and Table output.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::resources::selectors;
use super::{Context, Reply};
use crate::apiserver::errors::ApiError;
use crate::apiserver::meta;
use crate::apiserver::ops::in_request_version;
use crate::apiserver::registry::ResourceInfo;
use crate::apiserver::selectors::{FieldSelector, LabelSelector};
use crate::apiserver::state::ApiState;
use crate::apiserver::store::{EventType, StoreEvent};
use crate::apiserver::table::{self, IncludeObject};

/// Longest watch when the client gives no `timeoutSeconds` (kube-apiserver: 30 to 60 minutes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

struct Filter {
    info: Arc<ResourceInfo>,
    version: String,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    table: Option<IncludeObject>,
}

impl Filter {
    fn matches(&self, object: &Value) -> bool {
        if let Some(ns) = &self.namespace
            && meta::meta_str(object, "namespace") != ns
        {
            return false;
        }
        self.labels.matches(meta::labels(object)) && self.fields.matches(object)
    }

    fn encode(&self, event_type: &str, object: &Value) -> Bytes {
        let object = match self.table {
            Some(include) => std::borrow::Cow::Owned(table::table(
                &self.info,
                &self.version,
                &[object],
                include,
                json!({"resourceVersion": meta::meta_str(object, "resourceVersion")}),
            )),
            None => in_request_version(&self.info, &self.version, object),
        };
        #[derive(serde::Serialize)]
        struct Line<'a> {
            #[serde(rename = "type")]
            event_type: &'a str,
            object: &'a Value,
        }
        let mut line = serde_json::to_vec(&Line {
            event_type,
            object: &object,
        })
        .unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object =
            json!({"kind": self.info.kind, "apiVersion": self.info.api_version(&self.version), "metadata": metadata});
        let mut line = serde_json::to_vec(&json!({"type": "BOOKMARK", "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    /// The event a watcher sees for a store event, after namespace and selector filtering.
    fn translate(&self, event: &StoreEvent) -> Option<&'static str> {
        if event.resource.group != self.info.group || event.resource.resource != self.info.plural {
            return None;
        }
        let now = self.matches(&event.object);
        let before = event.previous.as_ref().is_some_and(|p| self.matches(p));
        match event.event_type {
            EventType::Added => now.then_some("ADDED"),
            EventType::Deleted => now.then_some("DELETED"),
            EventType::Modified => match (before, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            },
        }
    }
}

fn error_line(err: &ApiError) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": err.to_status()})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Starts a watch.
pub fn watch(state: Arc<ApiState>, ctx: Context) -> Reply {
    match start(state, &ctx) {
        Ok(reply) => reply,
        Err(err) => Reply::error(&err),
    }
}

fn start(state: Arc<ApiState>, ctx: &Context) -> Result<Reply, ApiError> {
    let req = &ctx.info;
    let info = state
        .registry
        .lookup(&req.group, &req.version, &req.resource)
        .ok_or_else(ApiError::path_not_found)?;
    if !info.allows("watch") {
        return Err(ApiError::method_not_allowed("watch", &info.group, &info.plural));
    }
    let (labels, mut fields) = selectors(ctx, &info)?;
    if !req.name.is_empty() {
        fields.requirements.push(crate::apiserver::selectors::FieldRequirement {
            field: "metadata.name".into(),
            value: req.name.clone(),
            negated: false,
        });
    }
    let accept = ctx.accept();
    let filter = Filter {
        version: req.version.clone(),
        namespace: req.namespace.clone().filter(|_| info.namespaced),
        labels,
        fields,
        table: table::wants_table(accept).then(|| IncludeObject::parse(ctx.query.include_object.as_deref())),
        info,
    };
    let query = &ctx.query;
    let requested_rv = query.resource_version.as_deref().filter(|rv| *rv != "0");
    let initial = query.send_initial_events.unwrap_or(requested_rv.is_none());
    let from = match requested_rv {
        Some(rv) if !initial => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}")))?,
        ),
        _ => None,
    };
    let (sender, receiver) = mpsc::channel::<Bytes>(256);
    let mut lines: Vec<Bytes> = Vec::new();
    let subscription = state.store.subscribe(from);
    let (replay, events, start_rv) = match subscription {
        Ok(parts) => parts,
        Err(too_old) => {
            lines.push(error_line(&ApiError::gone(too_old.to_string())));
            let body = StreamBody::new(futures::stream::iter(lines.into_iter().map(|b| Ok(Frame::data(b)))));
            return Ok(Reply::stream(StatusCode::OK, BodyExt::boxed(body), "application/json"));
        }
    };
    let mut last_rv = start_rv;
    if initial {
        let mut initial_objects = Vec::new();
        let list_rv = state.store.scan(
            &filter.info.group_resource(),
            filter.namespace.as_deref(),
            None,
            |_, object| {
                if filter.matches(object) {
                    initial_objects.push(object.clone());
                }
                true
            },
        );
        for object in initial_objects {
            lines.push(filter.encode("ADDED", &object));
        }
        last_rv = list_rv;
        if query.send_initial_events == Some(true) && query.allow_watch_bookmarks {
            lines.push(filter.bookmark(list_rv, true));
        }
    }
    for event in &replay {
        if let Some(kind) = filter.translate(event) {
            lines.push(filter.encode(kind, &event.object));
        }
        last_rv = last_rv.max(event.rv);
    }
    let timeout = query
        .timeout_seconds
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let bookmarks = query.allow_watch_bookmarks.then_some(state.options.bookmark_interval);
    let shutdown = state.shutdown_signal();
    tokio::spawn(stream_events(
        filter, lines, events, last_rv, timeout, bookmarks, sender, shutdown,
    ));
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|bytes| (Ok::<_, std::io::Error>(Frame::data(bytes)), receiver))
    });
    let body = StreamBody::new(stream);
    Ok(Reply::stream(StatusCode::OK, BodyExt::boxed(body), "application/json"))
}

#[allow(clippy::too_many_arguments)] // the watch loop's whole state, handed over once
async fn stream_events(
    filter: Filter,
    initial: Vec<Bytes>,
    mut events: tokio::sync::broadcast::Receiver<Arc<StoreEvent>>,
    mut last_rv: u64,
    timeout: Duration,
    bookmarks: Option<Duration>,
    sender: mpsc::Sender<Bytes>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    for line in initial {
        if sender.send(line).await.is_err() {
            return;
        }
    }
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(bookmarks.unwrap_or(Duration::from_secs(3600)));
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = shutdown.changed() => return,
            _ = sender.closed() => return,
            _ = ticker.tick(), if bookmarks.is_some() => {
                if sender.send(filter.bookmark(last_rv, false)).await.is_err() {
                    return;
                }
            }
            event = events.recv() => match event {
                Ok(event) => {
                    if event.rv <= last_rv {
                        continue;
                    }
                    last_rv = event.rv;
                    if let Some(kind) = filter.translate(&event)
                        && sender.send(filter.encode(kind, &event.object)).await.is_err()
                    {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let err = ApiError::gone(format!("too old resource version: {last_rv} (the watch fell behind)"));
                    let _ = sender.send(error_line(&err)).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::registry::{GroupResource, Registry};

    fn filter(labels: &str) -> Filter {
        let registry = Registry::with_builtins();
        Filter {
            info: registry.lookup("", "v1", "configmaps").unwrap(),
            version: "v1".into(),
            namespace: Some("ns".into()),
            labels: LabelSelector::parse(labels).unwrap(),
            fields: FieldSelector::default(),
            table: None,
        }
    }

    fn event(event_type: EventType, labels: Value, previous: Option<Value>) -> StoreEvent {
        let object = json!({"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "a", "namespace": "ns", "labels": labels}});
        StoreEvent {
            rv: 2,
            resource: GroupResource::new("", "configmaps"),
            event_type,
            object: Arc::new(object),
            previous: previous
                .map(|labels| Arc::new(json!({"metadata": {"name": "a", "namespace": "ns", "labels": labels}}))),
        }
    }

    #[test]
    fn objects_entering_and_leaving_a_selector_become_added_and_deleted() {
        let f = filter("app=web");
        let web = json!({"app": "web"});
        let other = json!({"app": "other"});
        assert_eq!(f.translate(&event(EventType::Added, web.clone(), None)), Some("ADDED"));
        assert_eq!(f.translate(&event(EventType::Added, other.clone(), None)), None);
        assert_eq!(
            f.translate(&event(EventType::Modified, web.clone(), Some(other.clone()))),
            Some("ADDED")
        );
        assert_eq!(
            f.translate(&event(EventType::Modified, other.clone(), Some(web.clone()))),
            Some("DELETED")
        );
        assert_eq!(
            f.translate(&event(EventType::Modified, web.clone(), Some(web))),
            Some("MODIFIED")
        );
    }

    #[test]
    fn bookmarks_name_the_kind_and_mark_the_end_of_initial_events() {
        let f = filter("");
        let line: Value = serde_json::from_slice(&f.bookmark(7, true)).unwrap();
        assert_eq!(line["type"], "BOOKMARK");
        assert_eq!(line["object"]["kind"], "ConfigMap");
        assert_eq!(line["object"]["metadata"]["resourceVersion"], "7");
        assert_eq!(
            line["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
    }
}
