//! Variable sources (`vars:` entries of `deployment.yaml` and of items): where variables come
//! from and how they are merged. Exactly one source kind per entry.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One `vars:` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VarsSource {
    /// A missing file, object, key or URL gives no variables instead of an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing: Option<bool>,
    /// Variables already defined win over the new ones (defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_override: Option<bool>,
    /// Hint that the values are secret (defaults per source kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    /// Parse a multi-document YAML file into a list (requires `targetPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multidoc: Option<bool>,
    /// Where to put the loaded value (`a.b.c`); required when it is not a mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    /// A condition evaluated with the variables loaded so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,

    /// Inline values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Map<String, Value>>,
    /// A YAML file found on the template search path (rendered as a template first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A file in a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Value>,
    /// Files of git branches or tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_files: Option<Value>,
    /// A key of a ConfigMap in the target cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_config_map: Option<ClusterConfigMapOrSecret>,
    /// A key of a Secret in the target cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_secret: Option<ClusterConfigMapOrSecret>,
    /// A field of any object in the target cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_object: Option<ClusterObjectSource>,
    /// Environment variables: a nested map whose leaves are variable names (`NAME` or `NAME:default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_env_vars: Option<Map<String, Value>>,
    /// A YAML or JSON document fetched over HTTP(S).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSource>,
    /// AWS Secrets Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_secrets_manager: Option<Value>,
    /// GCP Secret Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_secret_manager: Option<Value>,
    /// HashiCorp Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<Value>,
    /// Azure Key Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_key_vault: Option<Value>,
}

/// The kind of a vars source, for messages and dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarsSourceKind {
    /// `values`
    Values,
    /// `file`
    File,
    /// `git`
    Git,
    /// `gitFiles`
    GitFiles,
    /// `clusterConfigMap`
    ClusterConfigMap,
    /// `clusterSecret`
    ClusterSecret,
    /// `clusterObject`
    ClusterObject,
    /// `systemEnvVars`
    SystemEnvVars,
    /// `http`
    Http,
    /// `awsSecretsManager`
    AwsSecretsManager,
    /// `gcpSecretManager`
    GcpSecretManager,
    /// `vault`
    Vault,
    /// `azureKeyVault`
    AzureKeyVault,
}

/// Vars source kinds a caller refuses, and what to tell the user who needs one (the agent refuses
/// the sources that reach outside the artifact unless allowed, spec F31).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefusedVarsSources {
    /// The refused kinds.
    pub kinds: Vec<VarsSourceKind>,
    /// Why they are refused and how to allow them, shown with the error.
    pub hint: String,
}

impl VarsSourceKind {
    /// Every kind, in the order of Kluctl's documentation.
    pub const ALL: [VarsSourceKind; 13] = [
        VarsSourceKind::Values,
        VarsSourceKind::File,
        VarsSourceKind::Git,
        VarsSourceKind::GitFiles,
        VarsSourceKind::ClusterConfigMap,
        VarsSourceKind::ClusterSecret,
        VarsSourceKind::ClusterObject,
        VarsSourceKind::SystemEnvVars,
        VarsSourceKind::Http,
        VarsSourceKind::AwsSecretsManager,
        VarsSourceKind::GcpSecretManager,
        VarsSourceKind::Vault,
        VarsSourceKind::AzureKeyVault,
    ];

    /// The kind whose YAML field name is `field`.
    pub fn from_field(field: &str) -> Option<VarsSourceKind> {
        VarsSourceKind::ALL.into_iter().find(|k| k.field() == field)
    }

    /// The YAML field name of this kind.
    pub fn field(self) -> &'static str {
        match self {
            VarsSourceKind::Values => "values",
            VarsSourceKind::File => "file",
            VarsSourceKind::Git => "git",
            VarsSourceKind::GitFiles => "gitFiles",
            VarsSourceKind::ClusterConfigMap => "clusterConfigMap",
            VarsSourceKind::ClusterSecret => "clusterSecret",
            VarsSourceKind::ClusterObject => "clusterObject",
            VarsSourceKind::SystemEnvVars => "systemEnvVars",
            VarsSourceKind::Http => "http",
            VarsSourceKind::AwsSecretsManager => "awsSecretsManager",
            VarsSourceKind::GcpSecretManager => "gcpSecretManager",
            VarsSourceKind::Vault => "vault",
            VarsSourceKind::AzureKeyVault => "azureKeyVault",
        }
    }
}

impl VarsSource {
    /// The source kinds set on this entry (valid entries have exactly one).
    pub fn kinds(&self) -> Vec<VarsSourceKind> {
        let mut kinds = Vec::new();
        let checks = [
            (self.values.is_some(), VarsSourceKind::Values),
            (self.file.is_some(), VarsSourceKind::File),
            (self.git.is_some(), VarsSourceKind::Git),
            (self.git_files.is_some(), VarsSourceKind::GitFiles),
            (self.cluster_config_map.is_some(), VarsSourceKind::ClusterConfigMap),
            (self.cluster_secret.is_some(), VarsSourceKind::ClusterSecret),
            (self.cluster_object.is_some(), VarsSourceKind::ClusterObject),
            (self.system_env_vars.is_some(), VarsSourceKind::SystemEnvVars),
            (self.http.is_some(), VarsSourceKind::Http),
            (self.aws_secrets_manager.is_some(), VarsSourceKind::AwsSecretsManager),
            (self.gcp_secret_manager.is_some(), VarsSourceKind::GcpSecretManager),
            (self.vault.is_some(), VarsSourceKind::Vault),
            (self.azure_key_vault.is_some(), VarsSourceKind::AzureKeyVault),
        ];
        for (set, kind) in checks {
            if set {
                kinds.push(kind);
            }
        }
        kinds
    }
}

/// `clusterConfigMap` / `clusterSecret`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterConfigMapOrSecret {
    /// Object name (exclusive with `labels`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label selector matching exactly one object (exclusive with `name`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Namespace of the object.
    pub namespace: String,
    /// Key in `data`.
    pub key: String,
    /// Deprecated location of `targetPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
}

/// `clusterObject`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterObjectSource {
    /// Kind of the object.
    pub kind: String,
    /// API version, needed when the kind is ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Namespace (empty for cluster-scoped kinds).
    #[serde(default)]
    pub namespace: String,
    /// Object name (exclusive with `labels`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label selector (exclusive with `name`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Return a list of all matching objects instead of exactly one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub list: bool,
    /// JSONPath of the field to load (`$` is the whole object).
    pub path: String,
    /// Render the value as a template.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub render: bool,
    /// Parse the value as YAML.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub parse_yaml: bool,
}

/// `http`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpSource {
    /// The URL.
    pub url: String,
    /// HTTP method, `GET` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// JSONPath selecting the part of the response to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
}
