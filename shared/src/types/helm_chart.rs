//! `helm-chart.yaml` (or `.yml`): one Helm release rendered into a deployment item.
//!
//! The file holds a single `helmChart:` mapping. Unknown fields are errors, as in Kluctl (which
//! reads it with a strict YAML decoder), so a typo such as `chartVerison` is caught instead of
//! silently rendering the wrong chart.

use serde::{Deserialize, Serialize};

/// The whole file: `helmChart: {...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmChartFile {
    /// The release.
    pub helm_chart: HelmChartConfig,
}

/// One Helm release: where the chart comes from and how it is rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmChartConfig {
    /// A classic Helm repository (`https://...`) or an OCI chart (`oci://host/path/chart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// A local chart directory, relative to the `helm-chart.yaml`, inside the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A chart in a git repository (recognised so the error can say it is not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<serde_json::Value>,
    /// Deprecated Kluctl credentials reference, matched against `--helm-username <id>:<user>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_id: Option<String>,
    /// The chart's name in a classic repository (not allowed for OCI and local charts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_name: Option<String>,
    /// The chart version to render (required with `repo`). A YAML number (`1.10`) is refused
    /// with a hint to quote it: the number has already lost its trailing zeros.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "version_text")]
    pub chart_version: Option<String>,
    /// Semver constraint that `helm-update` must respect (e.g. `~1.2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_constraints: Option<String>,
    /// The Helm release name.
    pub release_name: String,
    /// The release namespace (Helm's default, `default`, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The file the rendered manifests are written to, next to `helm-chart.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Leave the chart's `crds/` out of the render.
    #[serde(default, skip_serializing_if = "is_false", rename = "skipCRDs")]
    pub skip_crds: bool,
    /// Exclude the release from `helm-update`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_update: bool,
    /// Pull the chart into the user cache at render time instead of requiring `.helm-charts`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_pre_pull: bool,
}

fn version_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    use serde::de::Error;
    match Option::<serde_yaml::Value>::deserialize(deserializer)? {
        None | Some(serde_yaml::Value::Null) => Ok(None),
        Some(serde_yaml::Value::String(s)) => Ok(Some(s)),
        Some(serde_yaml::Value::Number(n)) => Err(D::Error::custom(format!(
            "chartVersion {n} is a YAML number, not a version; quote it (chartVersion: \"{n}\")"
        ))),
        Some(serde_yaml::Value::Mapping(_)) => Err(D::Error::custom(
            "chartVersion must be a version string; an unquoted {{ ... }} template is read as a YAML mapping",
        )),
        Some(_) => Err(D::Error::custom("chartVersion must be a version string")),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The output file name when `output` is not set.
pub const DEFAULT_HELM_OUTPUT: &str = "helm-rendered.yaml";

impl HelmChartConfig {
    /// The output file name (`output`, or `helm-rendered.yaml`).
    pub fn output_name(&self) -> &str {
        self.output.as_deref().unwrap_or(DEFAULT_HELM_OUTPUT)
    }

    /// The release namespace, `default` when none is set (Helm's own default).
    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }

    /// Checks the combinations Kluctl rejects; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let non_empty = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        let sources = [non_empty(&self.repo), non_empty(&self.path), self.git.is_some()];
        match sources.iter().filter(|s| **s).count() {
            0 => return Err("one of repo, path or git must be specified".into()),
            1 => {}
            _ => return Err("only one of repo, path and git can be specified".into()),
        }
        if self.release_name.is_empty() {
            return Err("releaseName must not be empty".into());
        }
        if let Some(repo) = self.repo.as_deref().filter(|r| !r.is_empty()) {
            if !non_empty(&self.chart_version) {
                return Err("chartVersion must be specified when repo is specified".into());
            }
            if repo.starts_with("oci://") {
                if self.chart_name.is_some() {
                    return Err("chartName can not be specified when repo is an oci:// URL".into());
                }
            } else if !non_empty(&self.chart_name) {
                return Err("chartName must be specified when repo is a classic Helm repository".into());
            }
        } else if non_empty(&self.path) {
            if self.chart_name.is_some() {
                return Err("chartName can not be specified for local Helm charts".into());
            }
            if self.chart_version.is_some() {
                return Err("chartVersion can not be specified for local Helm charts".into());
            }
            if self.update_constraints.is_some() {
                return Err("updateConstraints can not be specified for local Helm charts".into());
            }
        } else if self.chart_name.is_some() || self.chart_version.is_some() {
            return Err("chartName and chartVersion can not be specified for git Helm charts".into());
        }
        if let Some(output) = &self.output
            && (output.is_empty() || output.contains('/') || output.contains('\\') || output == "..")
        {
            return Err(format!(
                "output must be a plain file name next to helm-chart.yaml, got {output:?}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HelmChartFile, String> {
        crate::yaml::parse_typed::<HelmChartFile>(text, "helm-chart.yaml")
            .map_err(|e| e.to_string())
            .and_then(|f| f.helm_chart.validate().map(|_| f))
    }

    #[test]
    fn reads_every_field_kluctl_documents() {
        let file = parse(
            "helmChart:\n  repo: https://charts.bitnami.com/bitnami\n  chartName: redis\n  chartVersion: 17.4.0\n  \
             releaseName: cart\n  namespace: ms-demo-prod\n  output: deploy.yml\n  skipCRDs: true\n  skipUpdate: true\n  \
             skipPrePull: true\n  updateConstraints: ~17.4.0\n  credentialsId: bitnami\n",
        )
        .unwrap();
        let c = file.helm_chart;
        assert_eq!(c.chart_name.as_deref(), Some("redis"));
        assert_eq!(c.output_name(), "deploy.yml");
        assert!(c.skip_crds && c.skip_update && c.skip_pre_pull);
        assert_eq!(c.update_constraints.as_deref(), Some("~17.4.0"));
        assert_eq!(c.namespace_or_default(), "ms-demo-prod");
    }

    #[test]
    fn defaults_output_and_namespace() {
        let c = parse("helmChart:\n  path: ./chart\n  releaseName: x\n")
            .unwrap()
            .helm_chart;
        assert_eq!(c.output_name(), "helm-rendered.yaml");
        assert_eq!(c.namespace_or_default(), "default");
    }

    #[test]
    fn rejects_typos_and_invalid_combinations() {
        let typo = parse("helmChart:\n  repo: https://x\n  chartName: a\n  chartVerison: 1.0.0\n  releaseName: x\n");
        assert!(typo.unwrap_err().contains("chartVerison"));
        let no_version = parse("helmChart:\n  repo: https://x\n  chartName: a\n  releaseName: x\n");
        assert!(no_version.unwrap_err().contains("chartVersion must be specified"));
        let oci_name =
            parse("helmChart:\n  repo: oci://r/x\n  chartName: a\n  chartVersion: 1.0.0\n  releaseName: x\n");
        assert!(oci_name.unwrap_err().contains("oci://"));
        let both = parse("helmChart:\n  repo: https://x\n  path: ./c\n  releaseName: x\n");
        assert!(both.unwrap_err().contains("only one of"));
        let escape = parse("helmChart:\n  path: ./c\n  releaseName: x\n  output: ../../etc/x.yaml\n");
        assert!(escape.unwrap_err().contains("plain file name"));
    }
}
