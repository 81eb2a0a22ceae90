//! A classic Helm chart repository on 127.0.0.1: serves the files of a directory (charts packaged
//! with `helm package`, `index.yaml` from `helm repo index`), optionally behind basic auth, with
//! faults injected per path (corrupt bytes, a connection that breaks half-way, an error status).
//! Every request is logged so tests can check what was asked for and whether credentials were sent.

use super::http::{Body, Handler, HttpServer, TestRequest, broken_after, full, text};
use bytes::Bytes;
use hyper::{Response, StatusCode};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A fault injected for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Serve the file with some bytes flipped (same length).
    Corrupt,
    /// Serve these bytes instead of the file.
    Replace(Vec<u8>),
    /// Announce the full length, send half, then break the connection.
    FailHalfWay,
    /// Answer with this status.
    Status(u16),
}

/// One logged request.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    /// The path requested.
    pub path: String,
    /// Whether an `Authorization` header came with it.
    pub had_authorization: bool,
}

#[derive(Default)]
struct State {
    faults: HashMap<String, Fault>,
    log: Vec<LoggedRequest>,
}

/// A running chart repository.
pub struct ChartRepoServer {
    server: HttpServer,
    state: Arc<Mutex<State>>,
}

impl ChartRepoServer {
    /// Serves the files below `root`; with `basic_auth` every request needs those credentials.
    pub fn start(root: PathBuf, basic_auth: Option<(String, String)>) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let handler_state = state.clone();
        let handler: Handler = Arc::new(move |request: TestRequest| serve(&root, &basic_auth, &handler_state, request));
        ChartRepoServer {
            server: HttpServer::start(handler),
            state,
        }
    }

    /// The repository URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.server.host()
    }

    /// Injects a fault for `path` (e.g. `/app-1.0.0.tgz`).
    pub fn set_fault(&self, path: &str, fault: Fault) {
        self.lock().faults.insert(path.to_string(), fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// The requests served so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn serve(
    root: &std::path::Path,
    basic_auth: &Option<(String, String)>,
    state: &Mutex<State>,
    request: TestRequest,
) -> Response<Body> {
    let path = request.path().to_string();
    let fault = {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        state.log.push(LoggedRequest {
            path: path.clone(),
            had_authorization: request.header("authorization").is_some(),
        });
        state.faults.get(&path).cloned()
    };
    if let Some((user, pass)) = basic_auth {
        use base64::Engine as _;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        );
        if request.header("authorization") != Some(expected.as_str()) {
            let mut response = text(StatusCode::UNAUTHORIZED, "unauthorized");
            response.headers_mut().insert(
                "www-authenticate",
                http::HeaderValue::from_static("Basic realm=\"charts\""),
            );
            return response;
        }
    }
    if let Some(Fault::Status(code)) = fault {
        return text(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "injected",
        );
    }
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|part| part == "..") {
        return text(StatusCode::BAD_REQUEST, "bad path");
    }
    let Ok(mut data) = std::fs::read(root.join(relative)) else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    match fault {
        Some(Fault::Corrupt) => {
            let middle = data.len() / 2;
            for byte in data.iter_mut().skip(middle).take(16) {
                *byte ^= 0xff;
            }
        }
        Some(Fault::Replace(bytes)) => data = bytes,
        Some(Fault::FailHalfWay) => {
            let total = data.len();
            let half = Bytes::from(data[..total / 2].to_vec());
            let mut response = Response::new(broken_after(half));
            response
                .headers_mut()
                .insert("content-length", http::HeaderValue::from(total as u64));
            return response;
        }
        _ => {}
    }
    Response::new(full(data))
}
