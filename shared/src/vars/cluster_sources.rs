//! The vars sources that read the target cluster: `clusterConfigMap`, `clusterSecret` and
//! `clusterObject`, through a [`ClusterReader`](super::ClusterReader).

use super::{ListQuery, ObjectQuery, VarsError, VarsLoader, VarsOrigin, jsonpath};
use crate::types::{VarsSource, VarsSourceKind};
use crate::yaml;
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;

fn offline_error(origin: &VarsOrigin<'_>, index: usize, field: &str) -> VarsError {
    VarsError::LoadClusterObject(
        origin
            .at(
                index,
                field,
                "loading vars from the cluster is disabled (rendering offline)",
            )
            .with_hint("render against a cluster (without --offline-kubernetes), or guard the entry with `when`"),
    )
}

fn describe(namespace: &str, name: Option<&str>, labels: &BTreeMap<String, String>) -> String {
    match name {
        Some(name) => format!("{namespace}/{name}"),
        None => {
            let selector: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{namespace} with labels {}", selector.join(","))
        }
    }
}

pub(crate) async fn load_config_map_or_secret(
    loader: &VarsLoader<'_>,
    source: &VarsSource,
    kind: VarsSourceKind,
    index: usize,
    ignore_missing: bool,
    ctx: &Value,
    origin: &VarsOrigin<'_>,
) -> Result<Option<Value>, VarsError> {
    let field = kind.field();
    let (spec, object_kind, is_secret) = match kind {
        VarsSourceKind::ClusterSecret => (source.cluster_secret.clone().unwrap_or_default(), "Secret", true),
        _ => (
            source.cluster_config_map.clone().unwrap_or_default(),
            "ConfigMap",
            false,
        ),
    };
    let Some(cluster) = loader.cluster else {
        return Err(offline_error(origin, index, field));
    };
    let fail = |message: String| VarsError::LoadClusterObject(origin.at(index, field, message));
    let name = spec.name.as_deref().filter(|n| !n.is_empty());
    if name.is_some() != spec.labels.is_empty() {
        return Err(VarsError::Invalid(origin.at(
            index,
            field,
            "exactly one of name and labels must be set",
        )));
    }
    let what = format!("{object_kind} {}", describe(&spec.namespace, name, &spec.labels));
    let object = match name {
        Some(name) => {
            let query = ObjectQuery {
                api_version: Some("v1".to_string()),
                kind: object_kind.to_string(),
                namespace: Some(spec.namespace.clone()),
                name: name.to_string(),
            };
            cluster
                .get_object(&query)
                .await
                .map_err(|e| fail(format!("cannot read {what}: {e}")))?
        }
        None => {
            let query = ListQuery {
                api_version: Some("v1".to_string()),
                kind: object_kind.to_string(),
                namespace: Some(spec.namespace.clone()),
                labels: spec.labels.clone(),
            };
            let mut objects = cluster
                .list_objects(&query)
                .await
                .map_err(|e| fail(format!("cannot list {what}: {e}")))?;
            if objects.len() > 1 {
                return Err(fail(format!("more than one {what} exists")));
            }
            objects.pop()
        }
    };
    let Some(object) = object else {
        if ignore_missing {
            return Ok(None);
        }
        return Err(VarsError::LoadClusterObject(
            origin
                .at(index, field, format!("{what} not found"))
                .with_hint("create it, or set ignoreMissing: true"),
        ));
    };
    let Some(raw) = object
        .get("data")
        .and_then(|d| d.get(&spec.key))
        .and_then(Value::as_str)
    else {
        if ignore_missing {
            return Ok(None);
        }
        return Err(fail(format!("key {:?} not found in {what}", spec.key)));
    };
    let text = if is_secret {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|_| fail(format!("key {:?} of {what} is not valid base64", spec.key)))?;
        String::from_utf8(bytes).map_err(|_| fail(format!("key {:?} of {what} is not UTF-8 text", spec.key)))?
    } else {
        raw.to_string()
    };
    let display = format!("{what} key {}", spec.key);
    let rendered = loader.templater.render(&display, &text, ctx, &[]).map_err(|e| {
        // Secret content stays out of messages: only the kind of failure and its line.
        let detail = if is_secret {
            format!("{:?} error", e.kind)
        } else {
            e.message
        };
        fail(format!("cannot render {display}: {detail}"))
    })?;
    let value = yaml::parse_single(&rendered, &display).map_err(|e| {
        let at = e.line.map(|l| format!(" at line {l}")).unwrap_or_default();
        if is_secret {
            fail(format!("{display} is not valid YAML{at}"))
        } else {
            fail(format!("{display} is not valid YAML{at}: {}", e.message))
        }
    })?;
    Ok(Some(value))
}

pub(crate) async fn load_object(
    loader: &VarsLoader<'_>,
    source: &VarsSource,
    index: usize,
    ignore_missing: bool,
    ctx: &Value,
    origin: &VarsOrigin<'_>,
) -> Result<Option<Value>, VarsError> {
    let spec = source.cluster_object.clone().unwrap_or_default();
    let Some(cluster) = loader.cluster else {
        return Err(offline_error(origin, index, "clusterObject"));
    };
    let fail = |message: String| VarsError::LoadClusterObject(origin.at(index, "clusterObject", message));
    let name = spec.name.as_deref().filter(|n| !n.is_empty());
    if name.is_some() != spec.labels.is_empty() {
        return Err(VarsError::Invalid(origin.at(
            index,
            "clusterObject",
            "exactly one of name and labels must be set",
        )));
    }
    let namespace = Some(spec.namespace.clone()).filter(|n| !n.is_empty());
    let what = format!(
        "{} {}",
        spec.kind,
        describe(namespace.as_deref().unwrap_or("(cluster)"), name, &spec.labels)
    );
    let mut objects = match name {
        Some(name) => {
            let query = ObjectQuery {
                api_version: spec.api_version.clone(),
                kind: spec.kind.clone(),
                namespace: namespace.clone(),
                name: name.to_string(),
            };
            cluster
                .get_object(&query)
                .await
                .map_err(|e| fail(format!("cannot read {what}: {e}")))?
                .into_iter()
                .collect::<Vec<_>>()
        }
        None => {
            let query = ListQuery {
                api_version: spec.api_version.clone(),
                kind: spec.kind.clone(),
                namespace: namespace.clone(),
                labels: spec.labels.clone(),
            };
            cluster
                .list_objects(&query)
                .await
                .map_err(|e| fail(format!("cannot list {what}: {e}")))?
        }
    };
    // Lists come back in server order; sort so the variables are stable between runs.
    objects.sort_by_key(|o| {
        let meta = &o["metadata"];
        (
            meta["namespace"].as_str().unwrap_or_default().to_string(),
            meta["name"].as_str().unwrap_or_default().to_string(),
        )
    });
    if objects.is_empty() {
        if ignore_missing {
            return Ok(None);
        }
        return Err(VarsError::LoadClusterObject(
            origin
                .at(index, "clusterObject", format!("{what} not found"))
                .with_hint("create it, or set ignoreMissing: true"),
        ));
    }
    if !spec.list && objects.len() > 1 {
        return Err(fail(format!(
            "{} objects match {what}; set list: true to load all",
            objects.len()
        )));
    }
    let mut results = Vec::with_capacity(objects.len());
    for object in &objects {
        let matches = jsonpath::query(object, &spec.path).map_err(|e| fail(format!("invalid path: {e}")))?;
        let value = match matches.as_slice() {
            [value] => (*value).clone(),
            [] if ignore_missing => continue,
            [] => return Err(fail(format!("path {:?} matches nothing in {what}", spec.path))),
            _ => {
                return Err(fail(format!(
                    "path {:?} matches more than one value in {what}",
                    spec.path
                )));
            }
        };
        let value = match value {
            Value::String(text) if spec.render || spec.parse_yaml => {
                let text = if spec.render {
                    loader
                        .templater
                        .render(&what, &text, ctx, &[])
                        .map_err(|e| fail(format!("cannot render {what}: {}", e.message)))?
                } else {
                    text
                };
                if spec.parse_yaml {
                    yaml::parse_single(&text, &what)
                        .map_err(|e| fail(format!("the value of {what} is not valid YAML: {}", e.message)))?
                } else {
                    Value::String(text)
                }
            }
            other => other,
        };
        results.push(value);
    }
    if spec.list {
        Ok(Some(Value::Array(results)))
    } else {
        Ok(results.pop())
    }
}
