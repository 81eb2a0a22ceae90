//! The kustomization Kluctl generates for a deployment item directory that has none: every
//! `*.yml`/`*.yaml` file of the directory (not recursive, sorted by name), except
//! `helm-values.y(a)ml`; a `helm-chart.y(a)ml` stands for the chart's rendered output
//! (`helmChart.output`, default `helm-rendered.yaml`) unless a file of that name exists, in which
//! case that file is listed where it sorts.

use super::goyaml;
use serde_json::Value;
use std::path::Path;

/// The default name of a Helm release's rendered output.
pub const DEFAULT_HELM_OUTPUT: &str = "helm-rendered.yaml";

fn is_helm_values(name: &str) -> bool {
    name == "helm-values.yml" || name == "helm-values.yaml"
}

fn is_helm_chart(name: &str) -> bool {
    name == "helm-chart.yml" || name == "helm-chart.yaml"
}

/// The output file a `helm-chart.yaml` declares (`helmChart.output`, default `helm-rendered.yaml`).
pub fn helm_output_name(chart_file: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(chart_file).map_err(|e| format!("failed to read {}: {e}", chart_file.display()))?;
    let value = goyaml::read_single(&text).map_err(|e| {
        format!(
            "failed to parse {}:{}:{}: {}",
            chart_file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            e.line,
            e.column,
            e.message
        )
    })?;
    Ok(value
        .get("helmChart")
        .and_then(|c| c.get("output"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_HELM_OUTPUT)
        .to_string())
}

/// The `resources` list Kluctl generates for `dir`.
pub fn resources_for_directory(dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("failed to list the directory: {e}"))?;
    let mut files: Vec<(String, std::path::PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("failed to list the directory: {e}"))?;
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            continue;
        }
        files.push((entry.file_name().to_string_lossy().to_string(), entry.path()));
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, path) in files {
        let lower = name.to_lowercase();
        let resource = if is_helm_values(&name) {
            None
        } else if is_helm_chart(&name) {
            let output = helm_output_name(&path)?;
            (!dir.join(&output).is_file()).then_some(output)
        } else if lower.ends_with(".yml") || lower.ends_with(".yaml") {
            Some(name)
        } else {
            None
        };
        if let Some(resource) = resource
            && !names.contains(&resource)
        {
            names.push(resource);
        }
    }
    Ok(names)
}

/// The generated `kustomization.yml` as YAML text (what Kluctl writes into the rendered tree).
pub fn generated_kustomization_yaml(dir: &Path) -> Result<String, String> {
    let resources = resources_for_directory(dir)?;
    Ok(super::to_yaml(&[serde_json::json!({ "resources": resources })]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_yaml_files_and_helm_output() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("b.yaml", "x: 1\n"),
            ("a.yml", "x: 1\n"),
            ("C.YAML", "x: 1\n"),
            ("notes.txt", "hi"),
            ("helm-values.yaml", "v: 1\n"),
            ("helm-chart.yaml", "helmChart:\n  releaseName: r\n  output: out.yaml\n"),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.yaml")).unwrap();
        assert_eq!(
            resources_for_directory(dir.path()).unwrap(),
            vec!["C.YAML", "a.yml", "b.yaml", "out.yaml"]
        );
        std::fs::write(dir.path().join("out.yaml"), "x: 1\n").unwrap();
        assert_eq!(
            resources_for_directory(dir.path()).unwrap(),
            vec!["C.YAML", "a.yml", "b.yaml", "out.yaml"]
        );
    }

    #[test]
    fn defaults_the_helm_output_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("helm-chart.yml"), "helmChart:\n  releaseName: r\n").unwrap();
        assert_eq!(resources_for_directory(dir.path()).unwrap(), vec![DEFAULT_HELM_OUTPUT]);
    }
}
