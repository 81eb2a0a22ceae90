//! The vars sources that need no cluster: `file`, `systemEnvVars` and `http`.

use super::{VarsError, VarsLoader, VarsOrigin, jsonpath};
use crate::types::{Located, SourceLocation, VarsSource};
use crate::yaml;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Finds `name` on the search path (nearest directory first). `./` is optional; `..` may be used
/// as long as the file stays inside the source root. `Err` carries a message for escapes.
pub(crate) fn find_on_search_path(
    loader: &VarsLoader<'_>,
    name: &str,
    search_dirs: &[PathBuf],
) -> Result<Option<PathBuf>, String> {
    let trimmed = name.strip_prefix("./").unwrap_or(name);
    for dir in search_dirs {
        let candidate = loader
            .paths
            .resolve(dir, trimmed)
            .map_err(|e| format!("{:?} leaves the project root", e.path))?;
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

pub(crate) fn load_file(
    loader: &VarsLoader<'_>,
    source: &VarsSource,
    index: usize,
    ignore_missing: bool,
    ctx: &Value,
    search_dirs: &[PathBuf],
    origin: &VarsOrigin<'_>,
) -> Result<Option<Value>, VarsError> {
    let name = source.file.as_deref().unwrap_or_default();
    let path = match find_on_search_path(loader, name, search_dirs) {
        Ok(Some(path)) => path,
        Ok(None) if ignore_missing => return Ok(None),
        Ok(None) => {
            let dirs: Vec<String> = search_dirs.iter().map(|d| loader.paths.display(d)).collect();
            return Err(VarsError::LoadFile(
                origin
                    .at(
                        index,
                        "file",
                        format!("file {name:?} not found (searched {})", dirs.join(", ")),
                    )
                    .with_hint("create the file, fix the name, or set ignoreMissing: true"),
            ));
        }
        Err(message) => {
            return Err(VarsError::LoadFile(
                origin
                    .at(index, "file", message)
                    .with_hint("vars files must be inside the project"),
            ));
        }
    };
    let display = loader.paths.display(&path);
    // Errors inside the file point into it; the chain starts at the entry that loaded it.
    let chain: Vec<SourceLocation> = std::iter::once(origin.at(index, "file", "").location.clone())
        .chain(origin.chain.iter().cloned())
        .collect();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        VarsError::LoadFile(
            Located::new(SourceLocation::file(&display), format!("cannot read: {e}")).with_chain(&chain),
        )
    })?;
    let rendered = loader
        .templater
        .render_file(&path, &text, ctx, search_dirs)
        .map_err(|e| {
            let mut located = super::template_located(&e);
            located.chain.extend(chain.iter().cloned());
            VarsError::LoadFile(located)
        })?;
    let located_yaml = |e: yaml::YamlError| {
        VarsError::LoadFile(
            Located::new(
                SourceLocation {
                    file: e.file.clone(),
                    line: e.line,
                    column: e.column,
                },
                e.message,
            )
            .with_chain(&chain),
        )
    };
    if source.multidoc.unwrap_or(false) {
        if source.target_path.is_none() {
            return Err(VarsError::Invalid(
                origin
                    .at(index, "multidoc", "multidoc needs a targetPath")
                    .with_hint("set targetPath to name the list"),
            ));
        }
        let docs = yaml::parse_documents(&rendered, &display).map_err(located_yaml)?;
        return Ok(Some(Value::Array(docs)));
    }
    let value = yaml::parse_single(&rendered, &display).map_err(located_yaml)?;
    Ok(Some(value))
}

pub(crate) fn load_env(
    source: &VarsSource,
    index: usize,
    ignore_missing: bool,
    origin: &VarsOrigin<'_>,
) -> Result<Option<Value>, VarsError> {
    let spec = source.system_env_vars.clone().unwrap_or_default();
    let mut out = Map::new();
    let mut path = Vec::new();
    collect_env(&spec, &mut path, &mut out, index, ignore_missing, origin)?;
    Ok(Some(Value::Object(out)))
}

fn collect_env(
    spec: &Map<String, Value>,
    path: &mut Vec<String>,
    out: &mut Map<String, Value>,
    index: usize,
    ignore_missing: bool,
    origin: &VarsOrigin<'_>,
) -> Result<(), VarsError> {
    for (key, value) in spec {
        path.push(key.clone());
        let field = format!("systemEnvVars/{}", path.join("/"));
        match value {
            Value::Object(inner) => collect_env(inner, path, out, index, ignore_missing, origin)?,
            Value::String(entry) => {
                let (name, default) = match entry.split_once(':') {
                    Some((name, default)) => (name, Some(default)),
                    None => (entry.as_str(), None),
                };
                let text = match (std::env::var(name), default) {
                    (Ok(v), _) => v,
                    // An empty default means the empty string, not null.
                    (Err(_), Some("")) => "\"\"".to_string(),
                    (Err(_), Some(d)) => d.to_string(),
                    (Err(_), None) if ignore_missing => {
                        path.pop();
                        continue;
                    }
                    (Err(_), None) => {
                        return Err(VarsError::LoadEnv(
                            origin
                                .at(index, &field, format!("environment variable {name} is not set"))
                                .with_hint(format!(
                                    "set it, give a default with `{name}:<default>`, or set ignoreMissing: true"
                                )),
                        ));
                    }
                };
                // The value may be secret: report where, never what.
                let parsed = yaml::parse_single(&text, name).map_err(|_| {
                    VarsError::LoadEnv(
                        origin
                            .at(
                                index,
                                &field,
                                format!("the value of environment variable {name} is not valid YAML"),
                            )
                            .with_hint("quote it inside the variable to make it a string"),
                    )
                })?;
                super::set_path(out, path, parsed);
            }
            other => {
                return Err(VarsError::Invalid(origin.at(
                    index,
                    &field,
                    format!(
                        "expected an environment variable name, found a {}",
                        super::type_name(other)
                    ),
                )));
            }
        }
        path.pop();
    }
    Ok(())
}

/// `scheme://host[:port]/path` of a URL, without credentials or query (which may hold tokens).
pub(crate) fn safe_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or_default();
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{host}{port}{}", u.scheme(), u.path())
        }
        Err(_) => "<invalid url>".to_string(),
    }
}

pub(crate) async fn load_http(
    source: &VarsSource,
    index: usize,
    ignore_missing: bool,
    origin: &VarsOrigin<'_>,
) -> Result<Option<Value>, VarsError> {
    let http = source.http.clone().unwrap_or_default();
    let shown = safe_url(&http.url);
    let fail = |message: String| VarsError::LoadHttp(origin.at(index, "http", message));
    let url = url::Url::parse(&http.url).map_err(|e| fail(format!("invalid url {shown}: {e}")))?;
    let method = http.method.as_deref().unwrap_or("GET").to_uppercase();
    let method =
        reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| fail(format!("invalid method {method}")))?;
    let client = crate::http::client_builder()
        .build()
        .map_err(|e| fail(format!("cannot create an http client: {e}")))?;
    let mut request = client.request(method, url);
    for (name, value) in &http.headers {
        request = request.header(name, value);
    }
    if let Some(body) = &http.body {
        request = request.body(body.clone());
    }
    let response = request
        .send()
        .await
        .map_err(|e| fail(format!("request to {shown} failed: {}", without_url(e))))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND && ignore_missing {
        return Ok(None);
    }
    if !status.is_success() {
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
            "add an Authorization header to the source"
        } else {
            "check the url and the server"
        };
        return Err(VarsError::LoadHttp(
            origin
                .at(index, "http", format!("{shown} answered {status}"))
                .with_hint(hint),
        ));
    }
    let text = response
        .text()
        .await
        .map_err(|e| fail(format!("reading the response of {shown} failed: {}", without_url(e))))?;
    let document = yaml::parse_single(&text, &shown)
        .map_err(|e| fail(format!("the response of {shown} is not YAML or JSON: {}", e.message)))?;
    match &http.json_path {
        None => Ok(Some(document)),
        Some(path) => {
            let matches = jsonpath::query(&document, path).map_err(|e| fail(format!("invalid jsonPath: {e}")))?;
            match matches.as_slice() {
                [value] => Ok(Some(match value {
                    // A string selected from JSON often holds a YAML document of its own.
                    Value::String(s) => yaml::parse_single(s, &shown).unwrap_or_else(|_| (*value).clone()),
                    other => (*other).clone(),
                })),
                [] if ignore_missing => Ok(None),
                [] => Err(fail(format!(
                    "jsonPath {path:?} matches nothing in the response of {shown}"
                ))),
                _ => Err(fail(format!(
                    "jsonPath {path:?} matches more than one value in the response of {shown}"
                ))),
            }
        }
    }
}

/// A reqwest error message without the URL it embeds (which may carry credentials).
fn without_url(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
