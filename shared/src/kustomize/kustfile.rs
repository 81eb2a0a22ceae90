//! Loading a kustomization directory's file: finding it, reading it strictly (unknown fields and
//! wrong types are errors that name the field and its line), upgrading legacy fields as
//! Kustomize does (`bases`, `imageTags`, generator `env`) and refusing fields this engine does
//! not build.

use super::error::{KustomizeError, Position};
use super::goyaml::{self, Resolution};
use super::loader::Loader;
use super::types::{COMPONENT_VERSION, KUSTOMIZATION_VERSION, Kustomization};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The names Kustomize accepts for a kustomization file, in its order.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A loaded kustomization.
#[derive(Debug, Clone)]
pub struct KustFile {
    /// The kustomization's directory (canonical).
    pub dir: PathBuf,
    /// The kustomization file; `None` when generated.
    pub file: Option<PathBuf>,
    /// The file as shown to the user (project-relative); the directory when generated.
    pub display: String,
    /// The file's text, to find fields' lines in; empty when generated.
    pub text: String,
    /// The content, with legacy fields upgraded.
    pub kustomization: Kustomization,
}

/// Fields this engine does not build; an external `kustomize` may build them instead.
const UNSUPPORTED: &[&str] = &[
    "openapi",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "validators",
];

impl KustFile {
    /// The line of a top-level field in the file, when it is written at the start of a line.
    pub fn position_of(&self, field: &str) -> Position {
        let top = field.split(['[', '.']).next().unwrap_or(field);
        for (index, line) in self.text.lines().enumerate() {
            let trimmed = line.trim_start_matches(['"', '\'']);
            if let Some(rest) = trimmed.strip_prefix(top)
                && rest.trim_start_matches(['"', '\'']).trim_start().starts_with(':')
                && !line.starts_with([' ', '\t'])
            {
                return Position::at(index + 1, 1);
            }
        }
        Position::default()
    }

    /// A load error about `field`, with the field's line when it can be found.
    pub fn error(&self, field: impl Into<String>, message: impl Into<String>) -> KustomizeError {
        let field = field.into();
        KustomizeError::Load {
            kustomization: self.display.clone(),
            position: self.position_of(&field),
            field,
            message: message.into(),
        }
    }

    /// A transformation error about `field`.
    pub fn transform_error(&self, field: impl Into<String>, message: impl Into<String>) -> KustomizeError {
        KustomizeError::transform(&self.display, field, message)
    }

    /// Whether this is a `Component`.
    pub fn is_component(&self) -> bool {
        self.kustomization.kind.as_deref() == Some("Component")
    }
}

/// Finds the kustomization file of `dir`; `Ok(None)` when there is none.
pub fn find_file(loader: &Loader, dir: &Path) -> Result<Option<PathBuf>, KustomizeError> {
    let found: Vec<PathBuf> = KUSTOMIZATION_FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.is_file())
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.into_iter().next()),
        _ => Err(KustomizeError::load(
            &loader.display(dir),
            "kustomization",
            format!(
                "found several kustomization files ({}); keep exactly one",
                found
                    .iter()
                    .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Reads and checks the kustomization file at `path` (in directory `dir`).
pub fn load(loader: &Loader, dir: &Path, path: &Path) -> Result<KustFile, KustomizeError> {
    let display = loader.display(path);
    let bytes = loader
        .read(path)
        .map_err(|e| KustomizeError::load(&display, "kustomization", e.describe(&display, &display)))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| KustomizeError::load(&display, "kustomization", "the file is not valid UTF-8 text"))?;
    let value = goyaml::read_single_with(&text, Resolution::V2).map_err(|e| KustomizeError::Load {
        kustomization: display.clone(),
        position: Position::at(e.line, e.column),
        field: "kustomization".to_string(),
        message: format!("invalid YAML: {}", e.message),
    })?;
    let mut file = parse(dir.to_path_buf(), display, text, value)?;
    file.file = Some(path.to_path_buf());
    Ok(file)
}

/// A kustomization built from an in-memory value (used for generated kustomizations).
pub fn from_value(dir: PathBuf, display: String, value: Value) -> Result<KustFile, KustomizeError> {
    parse(dir, display, String::new(), value)
}

fn parse(dir: PathBuf, display: String, text: String, value: Value) -> Result<KustFile, KustomizeError> {
    let mut file = KustFile {
        dir,
        file: None,
        display,
        text,
        kustomization: Kustomization::default(),
    };
    let mut value = value;
    super::types_case::canonicalize_kustomization(&mut value);
    let map = match value {
        Value::Object(map) => map,
        Value::Null => return Err(file.error("kustomization", "the kustomization file is empty")),
        _ => return Err(file.error("kustomization", "expected a map of kustomization fields")),
    };
    file.kustomization = deserialize(&file, &map)?;
    for field in UNSUPPORTED {
        if map.get(*field).is_some_and(|v| !is_empty(v)) {
            return Err(KustomizeError::Unsupported {
                kustomization: file.display.clone(),
                field: field.to_string(),
            });
        }
    }
    if map.keys().all(|k| matches!(k.as_str(), "apiVersion" | "kind")) {
        return Err(file.error("kustomization", "the kustomization file is empty"));
    }
    fix_legacy_fields(&mut file.kustomization);
    validate(&file, &map)?;
    Ok(file)
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Deserializes, and on failure finds the top-level field at fault.
fn deserialize(file: &KustFile, map: &Map<String, Value>) -> Result<Kustomization, KustomizeError> {
    match serde_json::from_value::<Kustomization>(Value::Object(map.clone())) {
        Ok(k) => Ok(k),
        Err(whole) => {
            for (key, value) in map {
                let mut one = Map::new();
                one.insert(key.clone(), value.clone());
                if let Err(err) = serde_json::from_value::<Kustomization>(Value::Object(one)) {
                    let message = err.to_string();
                    if message.starts_with("unknown field") {
                        return Err(file.error(
                            key.clone(),
                            "unknown field (not part of the Kustomization format; check the spelling)",
                        ));
                    }
                    return Err(file.error(key.clone(), format!("invalid value: {message}")));
                }
            }
            Err(file.error("kustomization", whole.to_string()))
        }
    }
}

/// Kustomize's `FixKustomization`.
fn fix_legacy_fields(k: &mut Kustomization) {
    let bases = std::mem::take(&mut k.bases);
    k.resources.extend(bases);
    let tags = std::mem::take(&mut k.image_tags);
    k.images.extend(tags);
    for generator in k.config_map_generator.iter_mut().chain(k.secret_generator.iter_mut()) {
        if !generator.env.is_empty() {
            let env = std::mem::take(&mut generator.env);
            generator.envs.push(env);
        }
    }
}

fn validate(file: &KustFile, map: &Map<String, Value>) -> Result<(), KustomizeError> {
    let k = &file.kustomization;
    let kind = k.kind.as_deref().unwrap_or("Kustomization");
    if kind != "Kustomization" && kind != "Component" {
        return Err(file.error("kind", format!("kind must be Kustomization or Component, not {kind:?}")));
    }
    let required = if kind == "Component" {
        COMPONENT_VERSION
    } else {
        KUSTOMIZATION_VERSION
    };
    if let Some(api_version) = k.api_version.as_deref()
        && !api_version.is_empty()
        && api_version != required
    {
        return Err(file.error(
            "apiVersion",
            format!("apiVersion of a {kind} must be {required}, not {api_version:?}"),
        ));
    }
    if let Some(generators) = map.get("configMapGenerator").and_then(Value::as_array)
        && let Some(i) = generators.iter().position(|g| g.get("type").is_some())
    {
        return Err(file.error(
            format!("configMapGenerator[{i}].type"),
            "unknown field (type is only valid for secretGenerator)",
        ));
    }
    for (field, generators) in [
        ("configMapGenerator", &k.config_map_generator),
        ("secretGenerator", &k.secret_generator),
    ] {
        for (i, g) in generators.iter().enumerate() {
            if !matches!(g.behavior.as_str(), "" | "create" | "merge" | "replace") {
                return Err(file.error(
                    format!("{field}[{i}].behavior"),
                    format!("behavior must be create, merge or replace, not {:?}", g.behavior),
                ));
            }
        }
    }
    for option in &k.build_metadata {
        if !matches!(
            option.as_str(),
            "originAnnotations" | "transformerAnnotations" | "managedByLabel"
        ) {
            return Err(file.error(
                "buildMetadata",
                format!(
                    "unknown option {option:?} (expected originAnnotations, transformerAnnotations or managedByLabel)"
                ),
            ));
        }
    }
    if let Some(sort) = &k.sort_options {
        match sort.order.as_str() {
            "legacy" | "fifo" => {}
            other => {
                return Err(file.error(
                    "sortOptions.order",
                    format!("order must be legacy or fifo, not {other:?}"),
                ));
            }
        }
        if sort.order == "fifo" && sort.legacy_sort_options.is_some() {
            return Err(file.error(
                "sortOptions.legacySortOptions",
                "legacySortOptions only apply to order: legacy",
            ));
        }
    }
    for (i, patch) in k.patches.iter().enumerate() {
        if patch.path.is_empty() == patch.patch.trim().is_empty() {
            return Err(file.error(
                format!("patches[{i}]"),
                if patch.path.is_empty() {
                    "a patch needs one of path and patch"
                } else {
                    "a patch may not have both path and patch"
                },
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(value: Value, text: &str) -> Result<KustFile, KustomizeError> {
        parse(PathBuf::from("/p"), "app/kustomization.yaml".into(), text.into(), value)
    }

    #[test]
    fn upgrades_legacy_fields() {
        let f = file(
            json!({"bases": ["../base"], "resources": ["a.yaml"], "imageTags": [{"name": "x", "newTag": "1"}],
                   "configMapGenerator": [{"name": "c", "env": "e.env"}]}),
            "",
        )
        .unwrap();
        assert_eq!(f.kustomization.resources, vec!["a.yaml", "../base"]);
        assert_eq!(f.kustomization.images.len(), 1);
        assert_eq!(f.kustomization.config_map_generator[0].envs, vec!["e.env"]);
    }

    #[test]
    fn names_unknown_fields_with_their_line() {
        let err = file(
            json!({"resources": ["a.yaml"], "namPrefix": "x"}),
            "resources:\n- a.yaml\nnamPrefix: x\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("app/kustomization.yaml:3:1: namPrefix: unknown field"),
            "{text}"
        );
    }

    #[test]
    fn names_mistyped_fields() {
        let err = file(json!({"commonLabels": {"a": 1}}), "commonLabels:\n  a: 1\n").unwrap_err();
        assert!(err.to_string().contains("commonLabels: invalid value"), "{err}");
    }

    #[test]
    fn refuses_unsupported_fields_by_name() {
        let err = file(json!({"helmCharts": [{"name": "x"}]}), "").unwrap_err();
        assert!(matches!(err, KustomizeError::Unsupported { ref field, .. } if field == "helmCharts"));
    }

    #[test]
    fn checks_kind_api_version_and_emptiness() {
        assert!(
            file(
                json!({"kind": "Component", "apiVersion": "kustomize.config.k8s.io/v1beta1", "resources": ["a"]}),
                ""
            )
            .is_err()
        );
        assert!(
            file(
                json!({"kind": "Component", "apiVersion": "kustomize.config.k8s.io/v1alpha1", "resources": ["a"]}),
                ""
            )
            .is_ok()
        );
        assert!(file(json!({"apiVersion": "kustomize.config.k8s.io/v1beta1"}), "").is_err());
    }
}
