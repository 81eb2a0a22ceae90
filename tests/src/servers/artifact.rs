//! A Flux artifact server on 127.0.0.1 for agent tests: it serves tarballs exactly the way
//! source-controller's storage server does (`GET /<kind>/<namespace>/<name>/<file>`, plain HTTP,
//! no authentication) and can misbehave on demand: status codes with `Retry-After`, redirects,
//! throttled or cut transfers, missing files.
//!
//! Tarballs in source-controller's format come from [`source_tarball`] (gzip of a tar with no
//! wrapping directory, a `.` root entry, directories 0750, files 0600 or 0700, zeroed owners and
//! times). Hostile archives come from [`RawTar`], which writes any header the agent must refuse.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sha2::Digest as _;
use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Body = BoxBody<Bytes, std::io::Error>;

/// A misbehaviour for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and no body.
    Status(u16),
    /// Answer with this status and `Retry-After: <seconds>`.
    StatusRetryAfter(u16, u64),
    /// Answer `302 Found` to this location.
    Redirect(String),
    /// Send the headers (with the full `Content-Length`) and half the body, then close.
    CutMidBody,
}

/// Sends the body slowly: `chunk` bytes, then a pause of `delay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    /// Bytes per write.
    pub chunk: usize,
    /// Pause between writes.
    pub delay: Duration,
}

/// A file published on the server, with what a source's `status.artifact` says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// `http://127.0.0.1:<port>/<path>`.
    pub url: String,
    /// `<kind>/<namespace>/<name>/<file>`.
    pub path: String,
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// Byte length.
    pub size: u64,
}

#[derive(Default)]
struct Entry {
    body: Bytes,
    faults: VecDeque<Fault>,
    throttle: Option<Throttle>,
    /// A `Content-Length` that differs from the body (a lying server).
    declared_length: Option<u64>,
    /// Send without `Content-Length` (chunked).
    chunked: bool,
}

#[derive(Default)]
struct State {
    files: HashMap<String, Entry>,
    requests: HashMap<String, u64>,
    bytes_served: u64,
}

/// A running artifact server; it stops when dropped.
pub struct ArtifactServer {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ArtifactServer {
    /// Starts a server on a free port of 127.0.0.1, on its own thread and runtime (so it works
    /// from sync and async tests alike and outlives any test runtime).
    pub fn start() -> std::io::Result<ArtifactServer> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let served = state.clone();
        let thread = std::thread::Builder::new()
            .name("artifact-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = accept_loop(listener, served) => {}
                        _ = stop => {}
                    }
                });
            })?;
        Ok(ArtifactServer {
            address,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `127.0.0.1:<port>`: what the agent's allow-list must hold.
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// Publishes `bytes` as the artifact of a source, at `<kind>/<ns>/<name>/<sha256>.tar.gz`.
    pub fn publish(&self, kind_lowercase: &str, namespace: &str, name: &str, bytes: Vec<u8>) -> Published {
        let digest = sha256_hex(&bytes);
        let path = format!("{kind_lowercase}/{namespace}/{name}/{digest}.tar.gz");
        self.publish_at(&path, bytes)
    }

    /// Publishes (or replaces) `bytes` at `path`, keeping its faults and throttle.
    pub fn publish_at(&self, path: &str, bytes: Vec<u8>) -> Published {
        let path = path.trim_start_matches('/').to_string();
        let size = bytes.len() as u64;
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        let mut state = self.lock();
        let entry = state.files.entry(path.clone()).or_default();
        entry.body = Bytes::from(bytes);
        Published {
            url: format!("http://{}/{path}", self.address),
            path,
            digest,
            size,
        }
    }

    /// Removes a file (later requests get 404).
    pub fn remove(&self, path: &str) {
        self.lock().files.remove(path.trim_start_matches('/'));
    }

    /// Queues a fault for the next request of `path` (one fault per request, in order).
    pub fn push_fault(&self, path: &str, fault: Fault) {
        let mut state = self.lock();
        let entry = state.files.entry(path.trim_start_matches('/').to_string()).or_default();
        entry.faults.push_back(fault);
    }

    /// Throttles the transfers of `path` (or stops throttling with `None`).
    pub fn set_throttle(&self, path: &str, throttle: Option<Throttle>) {
        let mut state = self.lock();
        let entry = state.files.entry(path.trim_start_matches('/').to_string()).or_default();
        entry.throttle = throttle;
    }

    /// Makes `path` announce this `Content-Length` whatever its body is.
    pub fn set_declared_length(&self, path: &str, length: Option<u64>) {
        let mut state = self.lock();
        let entry = state.files.entry(path.trim_start_matches('/').to_string()).or_default();
        entry.declared_length = length;
    }

    /// Sends `path` without `Content-Length` (chunked transfer), so only counting bytes bounds it.
    pub fn set_chunked(&self, path: &str, chunked: bool) {
        let mut state = self.lock();
        let entry = state.files.entry(path.trim_start_matches('/').to_string()).or_default();
        entry.chunked = chunked;
    }

    /// How many requests `path` received.
    pub fn requests(&self, path: &str) -> u64 {
        self.lock()
            .requests
            .get(path.trim_start_matches('/'))
            .copied()
            .unwrap_or(0)
    }

    /// Body bytes sent in total.
    pub fn bytes_served(&self) -> u64 {
        self.lock().bytes_served
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for ArtifactServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| serve(state.clone(), request));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve(
    state: Arc<Mutex<State>>,
    request: http::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, std::io::Error> {
    let path = request.uri().path().trim_start_matches('/').to_string();
    let (body, fault, throttle, declared, chunked) = {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        *state.requests.entry(path.clone()).or_default() += 1;
        match state.files.get_mut(&path) {
            Some(entry) => (
                entry.body.clone(),
                entry.faults.pop_front(),
                entry.throttle,
                entry.declared_length,
                entry.chunked,
            ),
            None => return Ok(status(StatusCode::NOT_FOUND)),
        }
    };
    match fault {
        Some(Fault::Status(code)) => return Ok(status(StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT))),
        Some(Fault::StatusRetryAfter(code, seconds)) => {
            let mut response = status(StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT));
            response
                .headers_mut()
                .insert("retry-after", http::HeaderValue::from(seconds));
            return Ok(response);
        }
        Some(Fault::Redirect(location)) => {
            let mut response = status(StatusCode::FOUND);
            if let Ok(value) = http::HeaderValue::from_str(&location) {
                response.headers_mut().insert("location", value);
            }
            return Ok(response);
        }
        Some(Fault::CutMidBody) => {
            let half = body.slice(..body.len() / 2);
            let full_length = body.len() as u64;
            let stream = futures::stream::iter(vec![
                Ok(Frame::data(half)),
                Err(std::io::Error::other("connection cut by the test server")),
            ]);
            return Ok(with_length(StreamBody::new(stream).boxed(), full_length));
        }
        None => {}
    }
    state.lock().unwrap_or_else(|p| p.into_inner()).bytes_served += body.len() as u64;
    let length = declared.unwrap_or(body.len() as u64);
    let throttle = match (throttle, chunked) {
        (None, true) => Some(Throttle {
            chunk: 64 * 1024,
            delay: Duration::ZERO,
        }),
        (throttle, _) => throttle,
    };
    let response_body = match throttle {
        None => Full::new(body).map_err(|never| match never {}).boxed(),
        Some(throttle) => {
            let chunks: Vec<Bytes> = body.chunks(throttle.chunk.max(1)).map(Bytes::copy_from_slice).collect();
            let stream = futures::stream::unfold((chunks.into_iter(), true), move |(mut rest, first)| async move {
                let chunk = rest.next()?;
                if !first {
                    tokio::time::sleep(throttle.delay).await;
                }
                Some((Ok(Frame::data(chunk)), (rest, false)))
            });
            StreamBody::new(stream).boxed()
        }
    };
    if chunked {
        let mut response = Response::new(response_body);
        response
            .headers_mut()
            .insert("content-type", http::HeaderValue::from_static("application/gzip"));
        return Ok(response);
    }
    Ok(with_length(response_body, length))
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()).map_err(|never| match never {}).boxed());
    *response.status_mut() = code;
    response
}

fn with_length(body: Body, length: u64) -> Response<Body> {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static("application/gzip"));
    response
        .headers_mut()
        .insert("content-length", http::HeaderValue::from(length));
    response
}

/// `sha256` of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_encode(&sha2::Sha256::digest(bytes))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file of a source tree: path (`/`-separated, relative), content, executable bit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Relative path.
    pub path: String,
    /// Content.
    pub content: Vec<u8>,
    /// Whether any exec bit is set.
    pub executable: bool,
}

impl TreeFile {
    /// A non-executable file.
    pub fn new(path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        TreeFile {
            path: path.into(),
            content: content.into(),
            executable: false,
        }
    }
}

/// A tarball in source-controller's exact format holding `files` (directories are derived).
pub fn source_tarball(files: &[TreeFile]) -> Vec<u8> {
    let mut tar = RawTar::new();
    tar.dir_with_mode(".", 0o750);
    let mut sorted: Vec<&TreeFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut dirs_written = std::collections::BTreeSet::new();
    for file in sorted {
        let parts: Vec<&str> = file.path.split('/').collect();
        for depth in 1..parts.len() {
            let dir = parts[..depth].join("/");
            if dirs_written.insert(dir.clone()) {
                tar.dir_with_mode(&dir, 0o750);
            }
        }
        let mode = if file.executable { 0o700 } else { 0o600 };
        tar.file_with_mode(&file.path, &file.content, mode);
    }
    gzip(&tar.finish())
}

/// A tarball in source-controller's format of every regular file under `dir` (symlinks and other
/// special files are skipped, as source-controller does).
pub fn tarball_from_dir(dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    Ok(source_tarball(&files))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<TreeFile>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            collect_files(root, &path, out)?;
        } else if kind.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let relative = path
                .strip_prefix(root)
                .map_err(std::io::Error::other)?
                .to_string_lossy()
                .replace('\\', "/");
            out.push(TreeFile {
                path: relative,
                content: std::fs::read(&path)?,
                executable: entry.metadata()?.permissions().mode() & 0o111 != 0,
            });
        }
    }
    Ok(())
}

/// gzip with one member, as Go's `compress/gzip` writes it.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// gzip with one member per part (concatenated members, which Go's reader accepts).
pub fn gzip_members(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|part| gzip(part)).collect()
}

/// A tar writer that writes any header, including the ones a safe extractor must refuse.
#[derive(Default)]
pub struct RawTar {
    bytes: Vec<u8>,
}

impl RawTar {
    /// An empty archive.
    pub fn new() -> Self {
        RawTar::default()
    }

    /// A regular file, mode 0600.
    pub fn file(&mut self, name: &str, content: &[u8]) -> &mut Self {
        self.file_with_mode(name, content, 0o600)
    }

    /// A regular file with a mode.
    pub fn file_with_mode(&mut self, name: &str, content: &[u8], mode: u32) -> &mut Self {
        self.entry(b'0', name.as_bytes(), mode, content, None, "")
    }

    /// A directory, mode 0750, without a trailing slash (as Go writes it).
    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.dir_with_mode(name, 0o750)
    }

    /// A directory with a mode.
    pub fn dir_with_mode(&mut self, name: &str, mode: u32) -> &mut Self {
        self.entry(b'5', name.as_bytes(), mode, &[], None, "")
    }

    /// A symbolic link.
    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(b'2', name.as_bytes(), 0o777, &[], None, target)
    }

    /// A hard link.
    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(b'1', name.as_bytes(), 0o644, &[], None, target)
    }

    /// An entry of any type byte (`'3'` char device, `'6'` FIFO, `'S'` sparse, ...).
    pub fn special(&mut self, type_byte: u8, name: &str) -> &mut Self {
        self.entry(type_byte, name.as_bytes(), 0o644, &[], None, "")
    }

    /// A file whose header declares `declared` bytes while `content` follows (padded to blocks).
    pub fn file_declaring(&mut self, name: &str, content: &[u8], declared: u64) -> &mut Self {
        self.entry(b'0', name.as_bytes(), 0o600, content, Some(declared), "")
    }

    /// A file with a long name, through a GNU `L` header (as GNU tar writes names over 100 bytes).
    pub fn long_name_file(&mut self, name: &str, content: &[u8]) -> &mut Self {
        let mut long = name.as_bytes().to_vec();
        long.push(0);
        self.entry(b'L', b"././@LongLink", 0o644, &long, None, "");
        self.entry(b'0', &name.as_bytes()[..name.len().min(99)], 0o600, content, None, "")
    }

    /// A PAX extended header with these records, followed by a file named `header_name`.
    pub fn pax_file(&mut self, records: &[(&str, &[u8])], header_name: &str, content: &[u8]) -> &mut Self {
        let mut data = Vec::new();
        for (key, value) in records {
            let body_len = key.len() + value.len() + 3; // ' ', '=', '\n'
            let mut total = body_len + 1;
            while total != body_len + total.to_string().len() {
                total = body_len + total.to_string().len();
            }
            data.extend_from_slice(format!("{total} {key}=").as_bytes());
            data.extend_from_slice(value);
            data.push(b'\n');
        }
        self.entry(b'x', b"PaxHeaders/x", 0o644, &data, None, "");
        self.entry(b'0', header_name.as_bytes(), 0o600, content, None, "")
    }

    /// Raw bytes appended as they are (e.g. garbage after the entries).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// The archive with its two zero end blocks.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.bytes);
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    fn entry(
        &mut self,
        type_byte: u8,
        name: &[u8],
        mode: u32,
        content: &[u8],
        declared: Option<u64>,
        link: &str,
    ) -> &mut Self {
        let mut header = [0u8; 512];
        let name = &name[..name.len().min(100)];
        header[..name.len()].copy_from_slice(name);
        octal(&mut header[100..108], u64::from(mode));
        octal(&mut header[108..116], 0);
        octal(&mut header[116..124], 0);
        octal(&mut header[124..136], declared.unwrap_or(content.len() as u64));
        octal(&mut header[136..148], 0);
        header[156] = type_byte;
        let link = &link.as_bytes()[..link.len().min(100)];
        header[157..157 + link.len()].copy_from_slice(link);
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u64 = header.iter().map(|b| u64::from(*b)).sum();
        let checksum = format!("{sum:06o}\0 ");
        header[148..156].copy_from_slice(checksum.as_bytes());
        self.bytes.extend_from_slice(&header);
        self.bytes.extend_from_slice(content);
        let padding = (512 - content.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0u8, padding));
        self
    }
}

fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let text = &text.as_bytes()[text.len().saturating_sub(width)..];
    field[..width].copy_from_slice(text);
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_tarballs_have_the_source_controller_layout() {
        let bytes = source_tarball(&[
            TreeFile::new("deploy/app/cm.yaml", "a: b\n"),
            TreeFile {
                path: "run.sh".into(),
                content: b"#!/bin/sh\n".to_vec(),
                executable: true,
            },
        ]);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let entries: Vec<(String, u8, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    String::from_utf8(h.path_bytes().into_owned()).unwrap(),
                    h.entry_type().as_byte(),
                    h.mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                (".".into(), b'5', 0o750),
                ("deploy".into(), b'5', 0o750),
                ("deploy/app".into(), b'5', 0o750),
                ("deploy/app/cm.yaml".into(), b'0', 0o600),
                ("run.sh".into(), b'0', 0o700),
            ]
        );
    }
}
