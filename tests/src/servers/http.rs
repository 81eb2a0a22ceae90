//! A minimal HTTP/1.1 server on 127.0.0.1 for test servers: each runs on its own thread and
//! runtime, so sync tests, async tests and code that starts its own runtime can all use it.
//!
//! Input: a handler from request to response; output: a running server with its base URL,
//! stopped when dropped.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

/// The body type test servers answer with.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A request as handlers see it: method, path with query, headers and the whole body.
#[derive(Clone, Debug)]
pub struct TestRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query (`/v2/a/tags/list?n=1`).
    pub uri: String,
    /// Request headers.
    pub headers: http::HeaderMap,
    /// The request body.
    pub body: Bytes,
}

impl TestRequest {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }

    /// A query parameter.
    pub fn query(&self, key: &str) -> Option<String> {
        let query = self.uri.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A complete response body.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).map_err(|never| match never {}).boxed()
}

/// A body that sends `data` and then breaks the connection, as a server failing half-way does.
pub fn broken_after(data: Bytes) -> Body {
    let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
        Ok(Frame::data(data)),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "test server fails half-way",
        )),
    ];
    StreamBody::new(futures::stream::iter(frames)).boxed()
}

/// A plain response with a status and text.
pub fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(full(message.to_string()));
    *response.status_mut() = status;
    response
}

/// Handles one request.
pub type Handler = Arc<dyn Fn(TestRequest) -> Response<Body> + Send + Sync>;

/// A running server; stops when dropped.
pub struct HttpServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Binds 127.0.0.1 on a free port and serves `handler` until dropped.
    pub fn start(handler: Handler) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                loop {
                    tokio::select! {
                        _ = &mut stop => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let handler = handler.clone();
                            tokio::spawn(async move {
                                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                                    let handler = handler.clone();
                                    async move {
                                        let (parts, body) = request.into_parts();
                                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                        let request = TestRequest {
                                            method: parts.method.to_string(),
                                            uri: parts.uri.to_string(),
                                            headers: parts.headers,
                                            body,
                                        };
                                        Ok::<_, Infallible>(handler(request))
                                    }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        HttpServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
