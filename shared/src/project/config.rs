//! `.kluctl.yaml`: reading it, selecting the target, merging args (declared defaults < target
//! args < `-a` < `--args-from-file`) and rendering the target's string fields with `target` and
//! `args` in scope, as Kluctl does.

use super::error::ProjectError;
use super::paths::ProjectPaths;
use crate::template::TemplateErrorKind;
use crate::types::{
    ArgDecl, AwsConfig, FixedImage, KluctlProjectConfig, Located, SourceLocation, SourceMap, TargetConfig,
};
use crate::vars::{Templater, deep_merge, parse_simple_path};
use crate::yaml;
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// `.kluctl.yaml` as read from disk.
#[derive(Clone, Debug, Default)]
pub struct ProjectConfigFile {
    /// The parsed configuration (empty when the project has no `.kluctl.yaml`).
    pub config: KluctlProjectConfig,
    /// How the file is shown in messages (`.kluctl.yaml` when absent).
    pub display: String,
    /// Positions in the file.
    pub map: SourceMap,
}

/// The selected target after rendering; what templates see as `target`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Target name (`""` for projects without targets).
    pub name: String,
    /// The kube context to use, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The target's own args (not merged with defaults or command-line args).
    pub args: Map<String, Value>,
    /// Fixed images of the target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<FixedImage>,
    /// The discriminator (the target's own, else the project's), rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<String>,
    /// AWS settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsConfig>,
}

/// Reads `.kluctl.yaml` / `.kluctl.yml` from the project directory, or `explicit` (`-c`).
pub fn read_project_config(paths: &ProjectPaths, explicit: Option<&Path>) -> Result<ProjectConfigFile, ProjectError> {
    let (path, display): (PathBuf, String) = match explicit {
        Some(p) => {
            let display = if p.starts_with(&paths.root) {
                paths.display(p)
            } else {
                p.to_string_lossy().into_owned()
            };
            if !p.is_file() {
                return Err(ProjectError::ReadProject(
                    Located::new(SourceLocation::file(&display), "the project config file does not exist")
                        .with_hint("check the path given with -c/--project-config"),
                ));
            }
            (p.to_path_buf(), display)
        }
        None => match [".kluctl.yaml", ".kluctl.yml"]
            .iter()
            .map(|name| paths.project_dir.join(name))
            .find(|p| p.is_file())
        {
            Some(p) => {
                let display = paths.display(&p);
                (p, display)
            }
            None => {
                return Ok(ProjectConfigFile {
                    display: ".kluctl.yaml".to_string(),
                    ..Default::default()
                });
            }
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ProjectError::ReadProject(Located::new(
            SourceLocation::file(&display),
            format!("cannot read: {e}"),
        ))
    })?;
    let config: Option<KluctlProjectConfig> = yaml::parse_typed(&text, &display).map_err(|e| {
        ProjectError::ParseProjectConfig(Located::new(
            SourceLocation {
                file: e.file,
                line: e.line,
                column: e.column,
            },
            e.message,
        ))
    })?;
    Ok(ProjectConfigFile {
        config: config.unwrap_or_default(),
        display,
        map: SourceMap::parse(&text),
    })
}

/// Picks the target named `name` (or the nameless target of a project without targets).
/// Returns the target and its index in `targets` (for error positions), plus warnings about
/// targets that are skipped (unnamed or duplicated).
pub fn select_target(
    file: &ProjectConfigFile,
    name: Option<&str>,
) -> Result<(TargetConfig, Option<usize>, Vec<String>), ProjectError> {
    let targets = &file.config.targets;
    let mut warnings = Vec::new();
    let at = |path: &str| file.map.locate(&file.display, path);
    if targets.is_empty() {
        if let Some(name) = name {
            return Err(ProjectError::SelectTarget(
                Located::new(
                    at(""),
                    format!("target {name:?} does not exist: the project defines no targets"),
                )
                .with_hint("run without -t/--target"),
            ));
        }
        return Ok((TargetConfig::default(), None, warnings));
    }
    let mut seen = std::collections::HashSet::new();
    let mut valid = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        match t.name.as_deref().filter(|n| !n.is_empty()) {
            None => warnings.push(format!(
                "{}: target without a name is ignored",
                at(&format!("targets/{i}"))
            )),
            Some(n) if !seen.insert(n.to_string()) => warnings.push(format!(
                "{}: duplicate target {n:?} is ignored",
                at(&format!("targets/{i}/name"))
            )),
            Some(n) => valid.push((i, n.to_string())),
        }
    }
    let mut names: Vec<&str> = valid.iter().map(|(_, n)| n.as_str()).collect();
    names.sort_unstable();
    let Some(name) = name else {
        return Err(ProjectError::SelectTarget(
            Located::new(at("targets"), "a target must be selected: the project defines targets")
                .with_hint(format!("pass -t/--target with one of: {}", names.join(", "))),
        ));
    };
    match valid.iter().find(|(_, n)| n == name) {
        Some((i, _)) => Ok((targets[*i].clone(), Some(*i), warnings)),
        None => Err(ProjectError::SelectTarget(
            Located::new(at("targets"), format!("target {name:?} does not exist"))
                .with_hint(format!("available targets: {}", names.join(", "))),
        )),
    }
}

/// Merges args: declared defaults < target args < external args (`-a`, then
/// `--args-from-file`, already merged by [`crate::args`]), then checks that every declared arg
/// without default is set.
pub fn merge_args(
    decls: &[ArgDecl],
    target_args: Option<&Map<String, Value>>,
    external: &Map<String, Value>,
    file: &ProjectConfigFile,
) -> Result<Map<String, Value>, ProjectError> {
    let mut args = Value::Object(defaults(decls, file)?);
    if let Some(target_args) = target_args {
        deep_merge(&mut args, Value::Object(target_args.clone()));
    }
    deep_merge(&mut args, Value::Object(external.clone()));
    let Value::Object(args) = args else {
        unreachable!("args start as a mapping and mappings merge into mappings")
    };
    check_required(
        decls,
        &args,
        file,
        "args",
        "pass it with -a/--arg name=value or set it in the target's args",
    )?;
    Ok(args)
}

/// The declared defaults as a nested mapping (dotted names nest).
pub fn defaults(decls: &[ArgDecl], file: &ProjectConfigFile) -> Result<Map<String, Value>, ProjectError> {
    let mut out = Value::Object(Map::new());
    for (i, decl) in decls.iter().enumerate() {
        let Some(default) = &decl.default else { continue };
        let keys = parse_simple_path(&decl.name).map_err(|e| {
            ProjectError::ParseProjectConfig(Located::new(
                file.map.locate(&file.display, &format!("args/{i}/name")),
                e,
            ))
        })?;
        deep_merge(&mut out, crate::vars::nest(&keys, default.clone()));
    }
    let Value::Object(out) = out else {
        unreachable!("starts as a mapping")
    };
    Ok(out)
}

/// Fails with the first declared arg (without default) that is missing from `args`.
pub fn check_required(
    decls: &[ArgDecl],
    args: &Map<String, Value>,
    file: &ProjectConfigFile,
    list_path: &str,
    hint: &str,
) -> Result<(), ProjectError> {
    for (i, decl) in decls.iter().enumerate() {
        if decl.default.is_some() {
            continue;
        }
        let keys = parse_simple_path(&decl.name).unwrap_or_else(|_| vec![decl.name.clone()]);
        let mut current = args;
        let mut found = true;
        for (depth, key) in keys.iter().enumerate() {
            match current.get(key) {
                Some(Value::Object(inner)) if depth + 1 < keys.len() => current = inner,
                Some(_) if depth + 1 == keys.len() => {}
                _ => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            return Err(ProjectError::ResolveArgs(
                Located::new(
                    file.map.locate(&file.display, &format!("{list_path}/{i}/name")),
                    format!("required argument {} not set", decl.name),
                )
                .with_hint(hint),
            ));
        }
    }
    Ok(())
}

/// Renders the string fields of `target` with `target` and `args` in scope, up to ten times so
/// fields may refer to each other, then fills the discriminator from the project when unset.
pub fn render_target(
    templater: &Templater<'_>,
    config: &TargetConfig,
    name_override: Option<&str>,
    project_discriminator: Option<&str>,
    args: &Map<String, Value>,
    file: &ProjectConfigFile,
    index: Option<usize>,
) -> Result<Target, ProjectError> {
    let mut target = Target {
        name: name_override
            .map(str::to_string)
            .or_else(|| config.name.clone())
            .unwrap_or_default(),
        context: config.context.clone(),
        args: config.args.clone().unwrap_or_default(),
        images: config.images.clone(),
        discriminator: config
            .discriminator
            .clone()
            .or_else(|| project_discriminator.map(str::to_string)),
        aws: config.aws.clone(),
    };
    let discriminator_from_project = config.discriminator.is_none();
    let at = |field: &str| {
        if field == "discriminator" && discriminator_from_project {
            return file.map.locate(&file.display, "discriminator");
        }
        match index {
            Some(i) => file.map.locate(&file.display, &format!("targets/{i}/{field}")),
            None => file.map.locate(&file.display, field),
        }
    };
    for _ in 0..10 {
        let before = serde_json::to_value(&target).expect("targets serialise");
        let ctx = serde_json::json!({"target": before, "args": args});
        let mut value = before.clone();
        // Field by field, so an error names the field that failed.
        for (field, field_value) in value.as_object_mut().expect("a target is a mapping") {
            templater
                .render_strings(&file.display, field_value, &ctx, &[])
                .map_err(|e| {
                    let located = Located::new(at(field), e.message.clone());
                    ProjectError::RenderTarget(if e.kind == TemplateErrorKind::Undefined {
                        located.with_hint("target fields and the discriminator see only `target` and `args`")
                    } else {
                        located
                    })
                })?;
        }
        if value == before {
            break;
        }
        target = Target {
            name: value["name"].as_str().unwrap_or_default().to_string(),
            context: value.get("context").and_then(Value::as_str).map(str::to_string),
            args: value
                .get("args")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            images: value
                .get("images")
                .map(|v| serde_json::from_value(v.clone()).unwrap_or_default())
                .unwrap_or_default(),
            discriminator: value.get("discriminator").and_then(Value::as_str).map(str::to_string),
            aws: target.aws.clone(),
        };
    }
    Ok(target)
}
