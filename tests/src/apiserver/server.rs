//! [`TestServer`]: a running in-memory API server on 127.0.0.1 with its kubeconfig, minted users and
//! direct store access for assertions. Start it from async tests with [`TestServer::start`] or from
//! sync tests with [`TestServer::start_blocking`] (its own runtime); it stops when dropped.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;

use super::controllers;
use super::errors::ApiError;
use super::handlers;
use super::meta;
use super::ops::{self, WriteOptions, to_request_version};
use super::options::ServerOptions;
use super::state::ApiState;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("failed to bind {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The kubeconfig could not be written.
    #[error("failed to write kubeconfig {path}: {source}")]
    WriteKubeconfig {
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The async runtime of a blocking server could not be built.
    #[error("failed to start runtime: {0}")]
    Runtime(std::io::Error),
    /// The bootstrap objects could not be created.
    #[error("failed to create bootstrap objects: {0}")]
    Bootstrap(String),
    /// The TLS certificate could not be generated.
    #[error("failed to set up TLS: {0}")]
    Tls(String),
}

/// Group, version and plural resource: how tests name what they look up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Gvr {
    /// API group, empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural resource name.
    pub resource: String,
}

impl Gvr {
    /// `Gvr::new("apps", "v1", "deployments")`.
    pub fn new(group: &str, version: &str, resource: &str) -> Self {
        Gvr {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
        }
    }

    /// A core (`v1`) resource: `Gvr::core("configmaps")`.
    pub fn core(resource: &str) -> Self {
        Gvr::new("", "v1", resource)
    }
}

/// A running server.
pub struct TestServer {
    state: Arc<ApiState>,
    url: String,
    https_url: String,
    kubeconfig_path: PathBuf,
    tempdir: Option<tempfile::TempDir>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Starts a server on the current tokio runtime.
    pub async fn start(options: ServerOptions) -> Result<TestServer, ServerError> {
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|source| ServerError::Bind {
                address: options.listen.to_string(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| ServerError::Bind {
            address: options.listen.to_string(),
            source,
        })?;
        // Fail early (before binding anything else) when certificates cannot be made.
        super::tls::material().map_err(ServerError::Tls)?;
        let state = Arc::new(ApiState::new(options.clone(), address));
        controllers::spawn(state.clone(), state.shutdown_signal());
        controllers::bootstrap(&state).map_err(|e| ServerError::Bootstrap(e.message))?;
        let url = format!("http://{address}");
        let (kubeconfig_path, tempdir) = match &options.kubeconfig_path {
            Some(path) => (path.clone(), None),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("test-apiserver-")
                    .tempdir()
                    .map_err(|source| ServerError::WriteKubeconfig {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                (dir.path().join("kubeconfig"), Some(dir))
            }
        };
        let https_url = format!("https://{address}");
        write_kubeconfig(&kubeconfig_path, &https_url, "admin", state.auth.admin_token())?;
        tokio::spawn(accept_loop(listener, state.clone()));
        Ok(TestServer {
            state,
            url,
            https_url,
            kubeconfig_path,
            tempdir,
            runtime: None,
        })
    }

    /// Starts a server on its own two-thread runtime, for sync tests and binaries.
    pub fn start_blocking(options: ServerOptions) -> Result<TestServer, ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-apiserver")
            .enable_all()
            .build()
            .map_err(ServerError::Runtime)?;
        let mut server = runtime.block_on(TestServer::start(options))?;
        server.runtime = Some(runtime);
        Ok(server)
    }

    /// `http://127.0.0.1:<port>` (plain HTTP; send `Authorization: Bearer <token>` yourself).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `https://127.0.0.1:<port>`: the same server over TLS, as the kubeconfig names it.
    pub fn https_url(&self) -> &str {
        &self.https_url
    }

    /// The CA certificate (PEM) that signed the server's certificate.
    pub fn ca_pem(&self) -> &'static str {
        super::tls::material().map(|m| m.ca_pem.as_str()).unwrap_or("")
    }

    /// The kubeconfig (context `test`, user `admin` with a bearer token, namespace `default`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The admin user's bearer token.
    pub fn admin_token(&self) -> &str {
        self.state.auth.admin_token()
    }

    /// Mints a bearer token for a user in the given groups.
    pub fn token_for(&self, user: &str, groups: &[&str]) -> String {
        self.state.auth.mint(user, groups)
    }

    /// Writes a kubeconfig for a new token of `user` to `path`.
    pub fn write_kubeconfig_for(&self, user: &str, groups: &[&str], path: &Path) -> Result<(), ServerError> {
        let token = self.token_for(user, groups);
        write_kubeconfig(path, &self.https_url, user, &token)
    }

    /// An object straight from the store, in the given version (`None` when missing).
    pub fn get_object(&self, gvr: &Gvr, namespace: Option<&str>, name: &str) -> Option<Value> {
        let info = self.state.registry.lookup(&gvr.group, &gvr.version, &gvr.resource)?;
        let key = ops::object_key(&info, namespace, name);
        let object = self.state.store.get(&info.group_resource(), &key.0, &key.1)?;
        Some(to_request_version(&info, &gvr.version, &object))
    }

    /// Objects of a resource (in one namespace, or all), in name order.
    pub fn list_objects(&self, gvr: &Gvr, namespace: Option<&str>) -> Vec<Value> {
        let Some(info) = self.state.registry.lookup(&gvr.group, &gvr.version, &gvr.resource) else {
            return Vec::new();
        };
        let (objects, _) = self.state.store.list(&info.group_resource(), namespace);
        objects
            .iter()
            .map(|o| to_request_version(&info, &gvr.version, o))
            .collect()
    }

    /// Creates an object as the admin would (defaults and validation apply), bypassing HTTP.
    pub fn create_object(&self, object: Value) -> Result<Value, ApiError> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        let (group, version) = meta::split_api_version(&api_version);
        let (group, version) = (group.to_string(), version.to_string());
        let info = self
            .state
            .registry
            .lookup_kind(&group, &version, &kind)
            .ok_or_else(|| ApiError::bad_request(format!("no resource serves {api_version} {kind}")))?;
        let namespace = meta::meta_str(&object, "namespace").to_string();
        let namespace = if info.namespaced {
            Some(if namespace.is_empty() {
                "default".to_string()
            } else {
                namespace
            })
        } else {
            None
        };
        let opts = WriteOptions::system("test");
        let written = ops::create(&self.state, &info, &version, namespace.as_deref(), object, &opts)?;
        Ok(to_request_version(&info, &version, &written.object))
    }

    /// How many faults each `--faults` rule injected so far.
    pub fn injected_faults(&self) -> Vec<u64> {
        self.state.faults.as_ref().map(|f| f.injected()).unwrap_or_default()
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.store.current_rv()
    }

    /// Stops the server (also done on drop).
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.state.shut_down();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_millis(500));
        }
        // The temp dir (with the kubeconfig) goes with the server.
        self.tempdir.take();
    }
}

/// Writes a kubeconfig with context `test` for one user.
fn write_kubeconfig(path: &Path, url: &str, user: &str, token: &str) -> Result<(), ServerError> {
    use base64::Engine;
    let ca = super::tls::material().map_err(ServerError::Tls)?;
    let ca = base64::engine::general_purpose::STANDARD.encode(&ca.ca_pem);
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {url}\n\
         \x20   certificate-authority-data: {ca}\n\
         contexts:\n- name: test\n  context:\n    cluster: test\n    user: {user:?}\n    namespace: default\n\
         current-context: test\nusers:\n- name: {user:?}\n  user:\n    token: {token}\npreferences: {{}}\n"
    );
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ServerError::WriteKubeconfig {
            path: path.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| ServerError::WriteKubeconfig {
        path: path.to_path_buf(),
        source,
    })
}

async fn accept_loop(listener: TcpListener, state: Arc<ApiState>) {
    let mut shutdown = state.shutdown_signal();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        // Small request/response pairs: Nagle's delay would dominate latency.
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, state.clone()));
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, state: Arc<ApiState>) {
    let mut first = [0u8; 1];
    let tls = matches!(stream.peek(&mut first).await, Ok(1) if first[0] == super::tls::TLS_HANDSHAKE);
    if !tls {
        return serve_http(stream, state).await;
    }
    let Ok(material) = super::tls::material() else { return };
    let Ok(Ok(stream)) =
        tokio::time::timeout(std::time::Duration::from_secs(10), material.acceptor.accept(stream)).await
    else {
        return;
    };
    serve_http(stream, state).await;
}

async fn serve_http<S>(stream: S, state: Arc<ApiState>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut shutdown = state.shutdown_signal();
    let service = hyper::service::service_fn(move |request| handlers::serve(state.clone(), request));
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_millis(200), connection).await;
        }
    }
}
