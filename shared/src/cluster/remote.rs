//! [`RemoteObjects`]: the live state of a target, collected once before anything is written
//! (Kluctl's `remote_objects_utils.go`).
//!
//! Input: the discriminator and the rendered objects. Output: every live object carrying the
//! discriminator (for orphans), plus the live version of every rendered object (for diffs and
//! initial-deploy detection), plus the existing namespaces.
//!
//! 1. LIST every listable resource cluster-wide with `kluctl.io/discriminator=<d>`; on `403`,
//!    list in each namespace the render uses instead, with a warning (orphans elsewhere cannot
//!    be seen).
//! 2. The rendered objects not found that way: GET each, or LIST their namespace when many
//!    objects of one resource are missing there (one request instead of hundreds on a first
//!    deploy).
//! 3. LIST the namespaces.
//!
//! A client restricted to one namespace ([`ClusterClient::restrict_to_namespace`]) lists only
//! the namespaced resources of that namespace in step 1 and skips step 3.

use super::ClusterError;
use super::client::ClusterClient;
use super::discovery::{ApiResource, Discovery};
use super::request::ApiError;
use crate::deploy::orphans::DISCRIMINATOR_LABEL;
use crate::objects::ObjectRef;
use crate::result::ResultBuilder;
use futures::future::join_all;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// From this many missing objects of one resource in one namespace on, list the namespace.
const LIST_INSTEAD_OF_GET: usize = 8;

/// Version-less identity with the namespace fixed for the resource's scope.
pub(crate) type Key = (String, String, Option<String>, String);

/// The identity of `r` as the cluster sees it: without version, without namespace for
/// cluster-scoped kinds, with the default namespace for namespaced ones that set none.
pub(crate) fn key_of(r: &ObjectRef, discovery: &Discovery, default_namespace: &str) -> Key {
    let namespace = match discovery.is_namespaced(&r.group, &r.kind) {
        Some(true) => Some(r.namespace.clone().unwrap_or_else(|| default_namespace.to_string())),
        Some(false) => None,
        None => r.namespace.clone(),
    };
    (r.group.clone(), r.kind.clone(), namespace, r.name.clone())
}

/// The live objects of a target (see the module docs).
#[derive(Debug, Default)]
pub struct RemoteObjects {
    objects: HashMap<Key, Value>,
    /// Keys of the objects found by discriminator, sorted.
    by_discriminator: BTreeSet<Key>,
    namespaces: HashSet<String>,
    default_namespace: String,
    discovery: Arc<Discovery>,
}

impl RemoteObjects {
    /// Collects the live state (see the module docs). A failed list of one resource is a
    /// warning in `result`; only a failure to discover or to list namespaces stops the command.
    pub async fn load(
        client: &ClusterClient,
        discriminator: Option<&str>,
        rendered: &[&Value],
        result: &ResultBuilder,
    ) -> Result<Self, ClusterError> {
        let discovery = client.discovery().await?;
        let default_namespace = client.default_namespace().to_string();
        let mut remote = RemoteObjects {
            default_namespace: default_namespace.clone(),
            discovery: Arc::clone(&discovery),
            ..Default::default()
        };
        let rendered_refs: Vec<ObjectRef> = rendered.iter().filter_map(|o| ObjectRef::from_object(o)).collect();
        let rendered_namespaces: BTreeSet<String> = rendered_refs
            .iter()
            .filter(|r| discovery.is_namespaced(&r.group, &r.kind) == Some(true))
            .map(|r| r.namespace.clone().unwrap_or_else(|| default_namespace.clone()))
            .collect();

        let namespaces = discovery
            .preferred("", "Namespace")
            .cloned()
            .ok_or_else(|| ClusterError::ListRemote {
                message: "the cluster does not serve Namespaces".to_string(),
            })?;
        let scope = client.namespace_scope();
        let list_namespaces = async {
            match scope {
                // A namespace-scoped caller neither lists nor reads Namespaces: its own exists.
                Some(ns) => Ok(vec![serde_json::json!({"metadata": {"name": ns}})]),
                None => client.list_objects(&namespaces, None, None).await,
            }
        };
        // A namespace-scoped user lists in the namespaces the render uses, and in its own
        // default namespace (a delete renders nothing).
        let mut fallback_namespaces = rendered_namespaces.clone();
        fallback_namespaces.insert(default_namespace.clone());

        let listed = async {
            let Some(d) = discriminator.filter(|d| !d.is_empty()) else {
                return Vec::<Value>::new();
            };
            let selector = format!("{DISCRIMINATOR_LABEL}={d}");
            if let Some(ns) = scope {
                let lists = discovery
                    .listable()
                    .filter(|resource| resource.namespaced)
                    .map(|resource| client.list_objects(resource, Some(ns), Some(&selector)));
                let mut objects = Vec::new();
                for (resource, listed) in discovery.listable().filter(|r| r.namespaced).zip(join_all(lists).await) {
                    match listed {
                        Ok(listed) => objects.extend(listed),
                        Err(e) if e.is_forbidden() => {
                            result.add_warning(None, format!("may not list {} in {ns}: {e}", resource.plural))
                        }
                        Err(e) => tracing::debug!("listing {} in {ns} failed: {e}", resource.plural),
                    }
                }
                return objects;
            }
            let lists = discovery
                .listable()
                .map(|resource| list_with_fallback(client, resource, &selector, &fallback_namespaces, result));
            let listings = join_all(lists).await;
            warn_denied(&listings, result);
            listings.into_iter().flat_map(|l| l.objects).collect()
        };
        let (namespace_list, listed) = futures::join!(list_namespaces, listed);
        remote.namespaces = match namespace_list {
            Ok(list) => list
                .iter()
                .filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str))
                .map(str::to_string)
                .collect(),
            // A namespace-scoped user (the agent) may not list namespaces: ask for the ones the
            // render uses, and take those it may not read either as existing.
            Err(e) if e.is_forbidden() => {
                let gets = rendered_namespaces
                    .iter()
                    .map(|ns| client.get_object(&namespaces, None, ns));
                let mut found = HashSet::new();
                for (ns, got) in rendered_namespaces.iter().zip(join_all(gets).await) {
                    match got {
                        Ok(None) => {}
                        Ok(Some(_)) | Err(_) => {
                            found.insert(ns.clone());
                        }
                    }
                }
                found
            }
            Err(e) => {
                return Err(ClusterError::ListRemote {
                    message: format!("failed to list namespaces: {e}"),
                });
            }
        };
        for object in listed {
            if let Some(key) = remote.key(&object) {
                remote.by_discriminator.insert(key.clone());
                remote.objects.insert(key, object);
            }
        }
        remote.fetch_missing(client, &rendered_refs, result).await;
        Ok(remote)
    }

    fn key(&self, object: &Value) -> Option<Key> {
        ObjectRef::from_object(object).map(|r| key_of(&r, &self.discovery, &self.default_namespace))
    }

    async fn fetch_missing(&mut self, client: &ClusterClient, rendered: &[ObjectRef], result: &ResultBuilder) {
        let mut missing: BTreeMap<(ApiResource, Option<String>), Vec<String>> = BTreeMap::new();
        for r in rendered {
            let key = key_of(r, &self.discovery, &self.default_namespace);
            if self.objects.contains_key(&key) {
                continue;
            }
            let Some(resource) = self.discovery.resolve(&r.group, &r.version, &r.kind) else {
                // Unknown kinds (a CRD in the same render) cannot exist yet.
                continue;
            };
            missing
                .entry((resource.clone(), key.2.clone()))
                .or_default()
                .push(r.name.clone());
        }
        let namespaces = &self.namespaces;
        let fetches = missing.iter().map(|((resource, namespace), names)| async move {
            if namespace.as_ref().is_some_and(|ns| !namespaces.contains(ns)) {
                return Ok(Vec::new());
            }
            if names.len() >= LIST_INSTEAD_OF_GET && resource.supports("list") {
                let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
                let all = client.list_objects(resource, namespace.as_deref(), None).await?;
                return Ok(all
                    .into_iter()
                    .filter(|o| {
                        o.pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| wanted.contains(n))
                    })
                    .collect());
            }
            let gets = names
                .iter()
                .map(|name| client.get_object(resource, namespace.as_deref(), name));
            let mut found = Vec::new();
            for got in join_all(gets).await {
                if let Some(object) = got? {
                    found.push(object);
                }
            }
            Ok::<_, ApiError>(found)
        });
        let answers = join_all(fetches).await;
        for (((resource, namespace), _), answer) in missing.iter().zip(answers) {
            match answer {
                Ok(objects) => {
                    for mut object in objects {
                        if let Some(map) = object.as_object_mut() {
                            map.entry("apiVersion")
                                .or_insert_with(|| Value::String(resource.api_version()));
                            map.entry("kind")
                                .or_insert_with(|| Value::String(resource.kind.clone()));
                        }
                        if let Some(key) = self.key(&object) {
                            self.objects.insert(key, object);
                        }
                    }
                }
                Err(e) => result.add_warning(
                    None,
                    format!(
                        "failed to read the live {} objects in {}: {e}; they are treated as new",
                        resource.kind,
                        namespace.as_deref().unwrap_or("the cluster")
                    ),
                ),
            }
        }
    }

    /// The live version of an object (any API version), if it exists.
    pub fn get(&self, r: &ObjectRef) -> Option<&Value> {
        self.objects.get(&key_of(r, &self.discovery, &self.default_namespace))
    }

    /// Whether a namespace exists.
    pub fn namespace_exists(&self, name: &str) -> bool {
        self.namespaces.contains(name)
    }

    /// The live objects carrying the discriminator, in ref order (the orphan candidates).
    pub fn with_discriminator(&self) -> Vec<&Value> {
        self.by_discriminator
            .iter()
            .filter_map(|k| self.objects.get(k))
            .collect()
    }

    /// Every live object collected.
    pub fn all(&self) -> impl Iterator<Item = &Value> {
        self.objects.values()
    }

    /// How many live objects were collected.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The discovery the objects were collected with.
    pub fn discovery(&self) -> &Arc<Discovery> {
        &self.discovery
    }
}

/// How listing one resource went, besides the objects.
#[derive(Default)]
struct Listing {
    objects: Vec<Value>,
    /// Denied cluster-wide, listed per namespace instead.
    per_namespace: Option<String>,
    /// Denied entirely.
    denied: Option<String>,
}

/// Lists one resource by selector; on 403 per namespace of the render.
async fn list_with_fallback(
    client: &ClusterClient,
    resource: &ApiResource,
    selector: &str,
    namespaces: &BTreeSet<String>,
    result: &ResultBuilder,
) -> Listing {
    match client.list_objects(resource, None, Some(selector)).await {
        Ok(objects) => Listing {
            objects,
            ..Default::default()
        },
        Err(e) if e.is_forbidden() && resource.namespaced => {
            let lists = namespaces
                .iter()
                .map(|ns| client.list_objects(resource, Some(ns), Some(selector)));
            let mut listing = Listing::default();
            let mut denied = Vec::new();
            for (ns, listed) in namespaces.iter().zip(join_all(lists).await) {
                match listed {
                    Ok(objects) => listing.objects.extend(objects),
                    Err(e) if e.is_forbidden() => denied.push(ns.as_str()),
                    Err(e) => result.add_warning(None, format!("failed to list {} in {ns}: {e}", resource.plural)),
                }
            }
            if denied.len() == namespaces.len() {
                listing.denied = Some(resource.plural.clone());
            } else if denied.is_empty() {
                listing.per_namespace = Some(resource.plural.clone());
            } else {
                listing.per_namespace = Some(format!("{} (denied in {})", resource.plural, denied.join(", ")));
            }
            listing
        }
        Err(e) if e.is_forbidden() => Listing {
            denied: Some(resource.plural.clone()),
            ..Default::default()
        },
        // Aggregated APIs that are down, or resources that refuse selectors: not fatal.
        Err(e) => {
            tracing::debug!("listing {} failed: {e}", resource.plural);
            if e.code().is_some_and(|c| c >= 500) || matches!(e, ApiError::Timeout(_) | ApiError::Transport(_)) {
                result.add_warning(None, format!("failed to list {}: {e}", resource.plural));
            }
            Listing::default()
        }
    }
}

/// One warning per kind of denial instead of one per resource (a namespaced user is denied
/// every cluster-scoped list).
fn warn_denied(listings: &[Listing], result: &ResultBuilder) {
    let per_namespace: Vec<&str> = listings.iter().filter_map(|l| l.per_namespace.as_deref()).collect();
    if !per_namespace.is_empty() {
        result.add_warning(
            None,
            format!(
                "no permission to list {} cluster-wide, listed them per namespace of the target instead; orphans in other namespaces are not detected",
                per_namespace.join(", ")
            ),
        );
    }
    let denied: Vec<&str> = listings.iter().filter_map(|l| l.denied.as_deref()).collect();
    if !denied.is_empty() {
        result.add_warning(
            None,
            format!(
                "no permission to list {}; orphans of these kinds are not detected",
                denied.join(", ")
            ),
        );
    }
}
