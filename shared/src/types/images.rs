//! Fixed images (`target.images`, `--fixed-images-file`, vars `images`): what `images.get_image(...)`
//! placeholders resolve to.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One fixed-image rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixedImage {
    /// The image name as passed to `get_image` (exclusive with `imageRegex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A regular expression matched against the image name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_regex: Option<String>,
    /// The image to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_image: Option<String>,
    /// Informational: the image currently deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_image: Option<String>,
    /// Informational: the image found in a registry (legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_image: Option<String>,
    /// Only for objects in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only for this object (`{group, kind, name, namespace}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
    /// Only for this workload, as `Kind/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Only for this container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Legacy version filter, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_filter: Option<String>,
    /// Informational: tags of the deployment item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploy_tags: Vec<String>,
    /// Informational: the deployment item directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_dir: Option<String>,
}
