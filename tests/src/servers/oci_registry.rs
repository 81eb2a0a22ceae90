//! A tiny OCI registry on 127.0.0.1 serving Helm charts through the distribution API (manifests,
//! blobs, tag lists with paging), anonymously, with basic auth, or with the bearer-token
//! handshake (a `/token` endpoint that checks basic credentials). Charts are added directly with
//! [`OciRegistryServer::push_chart`], which builds the config blob, layer and manifest Helm would.

use super::http::{Body, Handler, HttpServer, TestRequest, full, text};
use hyper::{Response, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// How the registry authenticates pulls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryAuth {
    /// Anyone may pull.
    Anonymous,
    /// `Authorization: Basic` with these credentials.
    Basic(String, String),
    /// Bearer tokens from `/token`, which needs these basic credentials (or none: anonymous tokens).
    Token(Option<(String, String)>),
}

#[derive(Default)]
struct Repository {
    /// tag -> manifest digest.
    tags: BTreeMap<String, String>,
    /// digest -> manifest bytes.
    manifests: HashMap<String, Vec<u8>>,
    /// digest -> blob bytes.
    blobs: HashMap<String, Vec<u8>>,
}

struct State {
    auth: RegistryAuth,
    repositories: HashMap<String, Repository>,
    /// Serve these bytes instead of the blob with this digest.
    corrupt_blobs: HashMap<String, Vec<u8>>,
    page_size: Option<usize>,
    base_url: String,
}

const TOKEN: &str = "test-registry-token";

/// A running registry.
pub struct OciRegistryServer {
    server: HttpServer,
    state: Arc<Mutex<State>>,
}

fn digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

impl OciRegistryServer {
    /// Starts an empty registry.
    pub fn start(auth: RegistryAuth) -> Self {
        let state = Arc::new(Mutex::new(State {
            auth,
            repositories: HashMap::new(),
            corrupt_blobs: HashMap::new(),
            page_size: None,
            base_url: String::new(),
        }));
        let handler_state = state.clone();
        let handler: Handler = Arc::new(move |request| serve(&handler_state, request));
        let server = HttpServer::start(handler);
        state.lock().unwrap_or_else(|p| p.into_inner()).base_url = server.url();
        OciRegistryServer { server, state }
    }

    /// `127.0.0.1:<port>`, the registry part of `oci://` URLs.
    pub fn host(&self) -> String {
        self.server.host()
    }

    /// Stores a packaged chart (`.tgz`) as `repository:version` (`+` becomes `_` in the tag, as
    /// Helm does). Returns the layer digest.
    pub fn push_chart(&self, repository: &str, version: &str, chart_tgz: &[u8]) -> String {
        let config = serde_json::json!({"name": repository.rsplit('/').next(), "version": version}).to_string();
        let config_digest = digest(config.as_bytes());
        let layer_digest = digest(chart_tgz);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.cncf.helm.config.v1+json",
                "digest": config_digest,
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                "digest": layer_digest,
                "size": chart_tgz.len(),
            }],
        })
        .to_string();
        let manifest_digest = digest(manifest.as_bytes());
        let mut state = self.lock();
        let repo = state.repositories.entry(repository.to_string()).or_default();
        repo.blobs.insert(config_digest, config.into_bytes());
        repo.blobs.insert(layer_digest.clone(), chart_tgz.to_vec());
        repo.manifests.insert(manifest_digest.clone(), manifest.into_bytes());
        repo.tags.insert(version.replace('+', "_"), manifest_digest);
        layer_digest
    }

    /// Serves `data` for the blob `digest` from now on (a corrupt or tampered registry).
    pub fn corrupt_blob(&self, digest: &str, data: Vec<u8>) {
        self.lock().corrupt_blobs.insert(digest.to_string(), data);
    }

    /// Pages tag lists with this many tags per page.
    pub fn set_page_size(&self, size: usize) {
        self.lock().page_size = Some(size);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn basic_ok(request: &TestRequest, user: &str, pass: &str) -> bool {
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    );
    request.header("authorization") == Some(expected.as_str())
}

fn unauthorized(challenge: String) -> Response<Body> {
    let mut response = text(StatusCode::UNAUTHORIZED, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}");
    if let Ok(value) = http::HeaderValue::from_str(&challenge) {
        response.headers_mut().insert("www-authenticate", value);
    }
    response
}

fn serve(state: &Mutex<State>, request: TestRequest) -> Response<Body> {
    let state = state.lock().unwrap_or_else(|p| p.into_inner());
    let path = request.path().to_string();

    if path == "/token" {
        if let RegistryAuth::Token(Some((user, pass))) = &state.auth
            && !basic_ok(&request, user, pass)
        {
            return text(StatusCode::UNAUTHORIZED, "bad credentials");
        }
        return Response::new(full(format!("{{\"token\":\"{TOKEN}\"}}")));
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let repository_of = |rest: &str| -> String {
        ["/manifests/", "/blobs/", "/tags/list"]
            .iter()
            .find_map(|marker| rest.rfind(marker).map(|i| rest[..i].to_string()))
            .unwrap_or_default()
    };
    match &state.auth {
        RegistryAuth::Anonymous => {}
        RegistryAuth::Basic(user, pass) => {
            if !basic_ok(&request, user, pass) {
                return unauthorized("Basic realm=\"test-registry\"".to_string());
            }
        }
        RegistryAuth::Token(_) => {
            if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                return unauthorized(format!(
                    "Bearer realm=\"{}/token\",service=\"test-registry\",scope=\"repository:{}:pull\"",
                    state.base_url,
                    repository_of(rest)
                ));
            }
        }
    }
    if rest.is_empty() {
        return Response::new(full("{}"));
    }
    let repository = repository_of(rest);
    let Some(repo) = state.repositories.get(&repository) else {
        return text(StatusCode::NOT_FOUND, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}");
    };
    if let Some(reference) = rest.strip_prefix(&format!("{repository}/manifests/")) {
        let digest = repo
            .tags
            .get(reference)
            .cloned()
            .unwrap_or_else(|| reference.to_string());
        let Some(manifest) = repo.manifests.get(&digest) else {
            return text(StatusCode::NOT_FOUND, "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}");
        };
        let mut response = Response::new(full(manifest.clone()));
        let headers = response.headers_mut();
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
        );
        if let Ok(value) = http::HeaderValue::from_str(&digest) {
            headers.insert("docker-content-digest", value);
        }
        return response;
    }
    if let Some(digest) = rest.strip_prefix(&format!("{repository}/blobs/")) {
        if let Some(data) = state.corrupt_blobs.get(digest) {
            return Response::new(full(data.clone()));
        }
        return match repo.blobs.get(digest) {
            Some(data) => Response::new(full(data.clone())),
            None => text(StatusCode::NOT_FOUND, "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\"}]}"),
        };
    }
    // Tag list, paged like registries do: `?n=<size>&last=<tag>` and a `Link` to the next page.
    let all: Vec<&String> = repo.tags.keys().collect();
    let last = request.query("last");
    let start = last
        .as_ref()
        .and_then(|l| all.iter().position(|t| *t == l).map(|i| i + 1))
        .unwrap_or(0);
    let size = request
        .query("n")
        .and_then(|n| n.parse().ok())
        .or(state.page_size)
        .unwrap_or(all.len().max(1));
    let page: Vec<&String> = all.iter().skip(start).take(size).copied().collect();
    let body = serde_json::json!({"name": repository, "tags": page}).to_string();
    let mut response = Response::new(full(body));
    if start + page.len() < all.len()
        && let Some(last) = page.last()
    {
        let link = format!("</v2/{repository}/tags/list?n={size}&last={last}>; rel=\"next\"");
        if let Ok(value) = http::HeaderValue::from_str(&link) {
            response.headers_mut().insert("link", value);
        }
    }
    response
}
