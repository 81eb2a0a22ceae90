//! `.kluctl.yaml` (or `.kluctl.yml`): the project configuration with targets, declared args and
//! the discriminator, plus `.kluctl-library.yaml`, which marks an included project as a library.
//!
//! Unknown fields are rejected, as Kluctl's strict YAML reader does.

use super::images::FixedImage;
use crate::template::EngineKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The content of `.kluctl.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KluctlProjectConfig {
    /// Default discriminator for targets that set none (a template over `target` and `args`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<String>,
    /// The targets; when non-empty, one must be selected with `-t`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetConfig>,
    /// Declared args; an arg without `default` is required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgDecl>,
    /// Default AWS settings (kept for compatibility; used by AWS-backed vars sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsConfig>,
    /// The template language of every file of the project: `jinja2` (default) or `handlebars`.
    /// Not a Kluctl field; projects that leave it out render exactly as with Kluctl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_engine: Option<EngineKind>,
}

/// One entry of `targets`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetConfig {
    /// Unique name, selected with `-t`.
    #[serde(default)]
    pub name: Option<String>,
    /// kubeconfig context; the current context when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Arg values of this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Map<String, Value>>,
    /// Fixed images for `images.get_image`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<FixedImage>,
    /// Overrides the project's discriminator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<String>,
    /// Overrides the project's AWS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsConfig>,
}

/// A declared arg (`args[]` of `.kluctl.yaml` or `.kluctl-library.yaml`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArgDecl {
    /// Name, possibly dotted (`a.b` declares `args.a.b`).
    pub name: String,
    /// Default value of any YAML type; without one the arg is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// AWS settings for AWS-backed vars sources and SOPS KMS keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsConfig {
    /// Profile name from the AWS config files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// A service account whose IRSA role is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountRef>,
}

/// A reference to a ServiceAccount.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccountRef {
    /// Name of the service account.
    pub name: String,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The content of `.kluctl-library.yaml`: the args a library project accepts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KluctlLibraryConfig {
    /// Declared args of the library.
    #[serde(default)]
    pub args: Vec<ArgDecl>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_typed;

    #[test]
    fn parses_targets_args_and_the_engine_field() {
        let text = "discriminator: d-{{ target.name }}\ntemplateEngine: handlebars\ntargets:\n  - name: prod\n    context: kind\n    args: {env: prod}\nargs:\n  - name: env\n  - name: nested.x\n    default: {a: 1}\n";
        let config: KluctlProjectConfig = parse_typed(text, ".kluctl.yaml").unwrap();
        assert_eq!(config.template_engine, Some(EngineKind::Handlebars));
        assert_eq!(config.targets[0].name.as_deref(), Some("prod"));
        assert_eq!(config.args[0].default, None);
        assert_eq!(config.args[1].default, Some(serde_json::json!({"a": 1})));
    }

    #[test]
    fn unknown_fields_are_rejected_with_position() {
        let err =
            parse_typed::<KluctlProjectConfig>("targets:\n  - name: a\n    contxt: x\n", ".kluctl.yaml").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("unknown field `contxt`"), "{err}");
    }
}
