//! A recording reverse proxy in front of the test API server: the agent talks to it over plain
//! HTTP, it forwards every request (watches stream through) and records method, path and the
//! answer's status, so tests can assert what the agent never even tried.

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request seen by the proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub status: u16,
}

pub struct RecordingProxy {
    pub address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingProxy {
    /// Starts a proxy forwarding to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str) -> RecordingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let client: Client<_, hyper::body::Incoming> = Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.trim_end_matches('/').to_string();
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (client, upstream, log) = (client.clone(), upstream.clone(), log.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                        let (client, upstream, log) = (client.clone(), upstream.clone(), log.clone());
                        async move {
                            let method = request.method().to_string();
                            let path = request
                                .uri()
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default();
                            let (mut parts, body) = request.into_parts();
                            parts.uri = format!("{upstream}{path}").parse().unwrap();
                            parts.headers.remove(http::header::HOST);
                            let answer = client.request(http::Request::from_parts(parts, body)).await;
                            let response = match answer {
                                Ok(response) => response.map(|b| b.map_err(std::io::Error::other).boxed()),
                                Err(e) => {
                                    let mut r = http::Response::new(
                                        http_body_util::Full::new(bytes::Bytes::from(e.to_string()))
                                            .map_err(|never| match never {})
                                            .boxed(),
                                    );
                                    *r.status_mut() = http::StatusCode::BAD_GATEWAY;
                                    r
                                }
                            };
                            log.lock().unwrap().push(Seen {
                                method,
                                path: path.split('?').next().unwrap_or_default().to_string(),
                                status: response.status().as_u16(),
                            });
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        RecordingProxy { address, seen, task }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Writes a kubeconfig pointing at the proxy with a bearer token.
    pub fn write_kubeconfig(&self, path: &std::path::Path, user: &str, token: &str, namespace: &str) {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster:\n    server: http://{}\n\
             contexts:\n- name: proxy\n  context:\n    cluster: proxy\n    user: {user:?}\n    namespace: {namespace}\n\
             current-context: proxy\nusers:\n- name: {user:?}\n  user:\n    token: {token}\n",
            self.address
        );
        std::fs::write(path, text).unwrap();
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether a request path stays inside `namespace` (or is discovery, which every authenticated
/// user may read and which touches no object).
pub fn within_namespace(path: &str, namespace: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let namespaced =
        |rest: &[&str]| rest.first() == Some(&"namespaces") && rest.get(1) == Some(&namespace) && rest.len() > 2;
    match segments.as_slice() {
        // Discovery: /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, /version.
        ["api"] | ["api", _] | ["apis"] | ["apis", _] | ["apis", _, _] | ["version"] => true,
        ["api", _, rest @ ..] => namespaced(rest),
        ["apis", _, _, rest @ ..] => namespaced(rest),
        _ => false,
    }
}

#[test]
fn namespace_scope_of_paths() {
    assert!(within_namespace(
        "/apis/flux.kluctl.io/v1alpha1/namespaces/team/kluctldeployments",
        "team"
    ));
    assert!(within_namespace("/api/v1/namespaces/team/events", "team"));
    assert!(within_namespace("/apis/source.toolkit.fluxcd.io", "team"));
    assert!(!within_namespace("/api/v1/namespaces/other/configmaps", "team"));
    assert!(!within_namespace("/api/v1/namespaces", "team"));
    assert!(!within_namespace("/api/v1/namespaces/team", "team"));
    assert!(!within_namespace(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "team"
    ));
    assert!(!within_namespace(
        "/apis/flux.kluctl.io/v1alpha1/kluctldeployments",
        "team"
    ));
}
