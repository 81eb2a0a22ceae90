//! Step 1 of a reconcile: `spec.sourceRef` → the Flux source object → its artifact.
//!
//! Input: a validated spec and the agent's namespace. Output: a [`SourceObject`] read straight
//! from the API (never from a cache, so a stale URL is never fetched) through the served
//! version of its kind: `v1`, or `v1beta2` on clusters with an older source-controller.

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use shared::crd::flux_source::{SOURCE_GROUP, SOURCE_VERSIONS};
use shared::crd::{FluxSourceKind, SourceObject};
use std::collections::BTreeMap;
use std::sync::RwLock;

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The cluster serves no version of the kind the agent reads.
    #[error(
        "failed to resolve the source: {kind} is not served by the cluster (is Flux's source-controller installed with its CRDs?)"
    )]
    NotServed {
        /// The kind.
        kind: FluxSourceKind,
    },
    /// The source does not exist.
    #[error("failed to get {kind}/{name}: not found in namespace {namespace}")]
    NotFound {
        /// The kind.
        kind: FluxSourceKind,
        /// The name.
        name: String,
        /// The namespace.
        namespace: String,
    },
    /// The API call failed.
    #[error("failed to get {kind}/{name}: {cause}")]
    Api {
        /// The kind.
        kind: FluxSourceKind,
        /// The name.
        name: String,
        /// The API error.
        cause: String,
    },
}

/// The served versions of the source kinds, found by discovery.
pub struct Sources {
    client: kube::Client,
    namespace: String,
    served: RwLock<BTreeMap<FluxSourceKind, Vec<ApiResource>>>,
}

impl Sources {
    /// Discovers which source kinds and versions the cluster serves (only the source group
    /// is queried; discovery needs no RBAC rule).
    pub async fn discover(client: kube::Client, namespace: &str) -> Self {
        let sources = Sources {
            client,
            namespace: namespace.to_string(),
            served: RwLock::new(BTreeMap::new()),
        };
        sources.refresh().await;
        sources
    }

    /// Runs discovery again (a source CRD may have been installed after start).
    pub async fn refresh(&self) {
        let mut served: BTreeMap<FluxSourceKind, Vec<ApiResource>> = BTreeMap::new();
        match kube::discovery::group(&self.client, SOURCE_GROUP).await {
            Ok(group) => {
                for version in SOURCE_VERSIONS {
                    for (resource, _) in group.versioned_resources(version) {
                        if let Some(kind) = FluxSourceKind::parse(&resource.kind) {
                            served.entry(kind).or_default().push(resource);
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "failed to discover Flux source kinds"),
        }
        *self.served.write().unwrap_or_else(|p| p.into_inner()) = served;
    }

    /// The API resource to read `kind` through: the version asked for, or the preferred one
    /// (`v1` before `v1beta2`).
    pub fn resource(&self, kind: FluxSourceKind, version: Option<&str>) -> Option<ApiResource> {
        let served = self.served.read().unwrap_or_else(|p| p.into_inner());
        let resources = served.get(&kind)?;
        match version {
            Some(version) => resources.iter().find(|r| r.version == version).cloned(),
            None => resources.first().cloned(),
        }
    }

    /// Every served kind with its preferred version (what the agent watches).
    pub fn watched(&self) -> Vec<(FluxSourceKind, ApiResource)> {
        let served = self.served.read().unwrap_or_else(|p| p.into_inner());
        served
            .iter()
            .filter_map(|(kind, resources)| resources.first().map(|r| (*kind, r.clone())))
            .collect()
    }

    /// Reads a source from the API.
    pub async fn get(
        &self,
        kind: FluxSourceKind,
        version: Option<&str>,
        name: &str,
    ) -> Result<SourceObject, SourceError> {
        let resource = match self.resource(kind, version) {
            Some(resource) => resource,
            None => {
                self.refresh().await;
                self.resource(kind, version).ok_or(SourceError::NotServed { kind })?
            }
        };
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &self.namespace, &resource);
        match api.get_opt(name).await {
            Ok(Some(object)) => {
                let value = serde_json::to_value(&object).unwrap_or_default();
                Ok(SourceObject::from_value(kind, &value))
            }
            Ok(None) => Err(SourceError::NotFound {
                kind,
                name: name.to_string(),
                namespace: self.namespace.clone(),
            }),
            Err(e) => Err(SourceError::Api {
                kind,
                name: name.to_string(),
                cause: e.to_string(),
            }),
        }
    }
}

/// The API resource of a source kind in a version, without discovery (for watches in tests).
pub fn api_resource(kind: FluxSourceKind, version: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(SOURCE_GROUP, version, kind.kind()),
        kind.plural(),
    )
}
