//! Transformer configuration: which fields of which kinds each transformer touches. Kustomize's
//! built-in configuration ships as `defaults.yaml` (the format of a `configurations:` file); a
//! kustomization's `configurations` files and `crds` merge into it.

mod crds;

pub use crds::config_from_crd_schemas;

use super::goyaml;
use super::types::FieldSpec;
use serde::Deserialize;
use std::sync::OnceLock;

/// A kind whose name other kinds refer to, and the fields that refer to it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NameReference {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub field_specs: Vec<FieldSpec>,
}

/// Field specs per transformer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformerConfig {
    #[serde(default)]
    pub name_prefix: Vec<FieldSpec>,
    #[serde(default)]
    pub name_suffix: Vec<FieldSpec>,
    #[serde(default)]
    pub namespace: Vec<FieldSpec>,
    #[serde(default)]
    pub common_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub template_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub common_annotations: Vec<FieldSpec>,
    #[serde(default)]
    pub name_reference: Vec<NameReference>,
    #[serde(default)]
    pub var_reference: Vec<FieldSpec>,
    #[serde(default)]
    pub images: Vec<FieldSpec>,
    #[serde(default)]
    pub replicas: Vec<FieldSpec>,
}

/// Kustomize's built-in configuration.
pub fn defaults() -> &'static TransformerConfig {
    static DEFAULTS: OnceLock<TransformerConfig> = OnceLock::new();
    DEFAULTS
        .get_or_init(|| parse(include_str!("defaults.yaml")).expect("the built-in transformer configuration is valid"))
}

/// Parses a `configurations:` file.
pub fn parse(text: &str) -> Result<TransformerConfig, String> {
    let value = goyaml::read_single(text).map_err(|e| format!("line {}:{}: {}", e.line, e.column, e.message))?;
    if value.is_null() {
        return Ok(TransformerConfig::default());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Two specs for the same field of the same kinds.
fn same_field(a: &FieldSpec, b: &FieldSpec) -> bool {
    a.path == b.path && a.group == b.group && a.version == b.version && a.kind == b.kind
}

/// Kustomize's `FsSlice.MergeAll`: adds the specs not present yet; the same field with a
/// different `create` is a conflict.
pub fn merge_specs(into: &mut Vec<FieldSpec>, incoming: &[FieldSpec]) -> Result<(), String> {
    for spec in incoming {
        match into.iter().find(|s| same_field(s, spec)) {
            Some(existing) if existing.create != spec.create => {
                return Err(format!(
                    "conflicting field specs for path {:?} of kind {:?} (create: {} and {})",
                    spec.path, spec.kind, existing.create, spec.create
                ));
            }
            Some(_) => {}
            None => into.push(spec.clone()),
        }
    }
    Ok(())
}

impl TransformerConfig {
    /// Merges another configuration into this one.
    pub fn merge(&mut self, other: &TransformerConfig) -> Result<(), String> {
        merge_specs(&mut self.name_prefix, &other.name_prefix)?;
        merge_specs(&mut self.name_suffix, &other.name_suffix)?;
        merge_specs(&mut self.namespace, &other.namespace)?;
        merge_specs(&mut self.common_labels, &other.common_labels)?;
        merge_specs(&mut self.template_labels, &other.template_labels)?;
        merge_specs(&mut self.common_annotations, &other.common_annotations)?;
        merge_specs(&mut self.var_reference, &other.var_reference)?;
        merge_specs(&mut self.images, &other.images)?;
        merge_specs(&mut self.replicas, &other.replicas)?;
        for reference in &other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|r| r.group == reference.group && r.version == reference.version && r.kind == reference.kind)
            {
                Some(existing) => merge_specs(&mut existing.field_specs, &reference.field_specs)?,
                None => self.name_reference.push(reference.clone()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_json_matches_the_yaml_source() {
        let yaml = crate::kustomize::goyaml::read_single(include_str!("defaults.yaml")).unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kustomize/config/defaults.json");
        if std::env::var_os("UPDATE_DEFAULTS").is_some() {
            std::fs::write(&path, serde_json::to_string(&yaml).unwrap() + "\n").unwrap();
            return;
        }
        let json: serde_json::Value = serde_json::from_str(include_str!("defaults.json")).unwrap();
        assert_eq!(json, yaml, "defaults.json is stale: run with UPDATE_DEFAULTS=1");
    }

    #[test]
    fn loads_the_built_in_configuration() {
        let d = defaults();
        assert!(
            d.common_labels
                .iter()
                .any(|s| s.path == "spec/selector" && s.kind == "Service" && s.create)
        );
        assert!(
            d.name_reference
                .iter()
                .any(|r| r.kind == "ConfigMap" && r.field_specs.len() > 40)
        );
        assert_eq!(d.name_prefix.len(), 1);
        assert_eq!(d.replicas.len(), 4);
        assert!(d.var_reference.iter().any(|s| s.path == "metadata/labels"));
    }

    #[test]
    fn merges_without_duplicates_and_reports_conflicts() {
        let mut config = defaults().clone();
        let extra = parse("commonLabels:\n- path: spec/selectors\n  kind: MyKind\n  create: true\nnameReference:\n- kind: Secret\n  version: v1\n  fieldSpecs:\n  - path: spec/secretRef/name\n    kind: MyKind\n").unwrap();
        let before = config.common_labels.len();
        config.merge(&extra).unwrap();
        config.merge(&extra).unwrap();
        assert_eq!(config.common_labels.len(), before + 1);
        let secret = config.name_reference.iter().find(|r| r.kind == "Secret").unwrap();
        assert!(secret.field_specs.iter().any(|s| s.kind == "MyKind"));
        let conflict = parse("commonLabels:\n- path: spec/selectors\n  kind: MyKind\n  create: false\n").unwrap();
        assert!(config.merge(&conflict).is_err());
    }
}
