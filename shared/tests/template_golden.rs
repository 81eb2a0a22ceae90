//! Compares the Jinja2 engine with Python Jinja2 as Kluctl configures it.
//!
//! `template_golden/cases.yaml` holds the templates; `template_golden/expected.json` holds what
//! real Python Jinja2 (plus Kluctl's helpers) produced for them, recorded by
//! `scripts/record-template-golden`. Each case renders `item/t.yaml` under a temporary root
//! with the search path `item/`, then the root.

use serde::Deserialize;
use shared::template::{JinjaEngine, RenderContext, TemplateEngine, TemplateErrorKind};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Case {
    name: String,
    template: String,
    #[serde(default)]
    vars: serde_json::Value,
    #[serde(default)]
    files: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Expected {
    output: Option<String>,
    error: Option<ExpectedError>,
}

#[derive(Deserialize)]
struct ExpectedError {
    #[serde(rename = "type")]
    kind: String,
    line: Option<usize>,
    file: Option<String>,
    message: String,
}

/// Cases where the engine differs from Python (listed in `shared/src/template/README.md`):
/// (case, what the engine gives instead: an output, or `error:` and a message fragment, why).
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "macro-varargs",
        "error:too many arguments",
        "minijinja macros have no implicit varargs/kwargs",
    ),
    (
        "str-percent-format",
        "error:use `| format(...)`",
        "minijinja has no `%` operator on strings; the error points to `| format`",
    ),
    (
        "dict-update-literal",
        "error:cannot be modified in place",
        "dict literals are immutable; variables and dict() results are mutable",
    ),
    (
        "list-append-literal",
        "error:cannot be modified in place",
        "list literals are immutable; variables and `| list` results are mutable",
    ),
];

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/template_golden")
}

fn python_kind(kind: &str) -> TemplateErrorKind {
    match kind {
        "TemplateSyntaxError" | "TemplateAssertionError" => TemplateErrorKind::Syntax,
        "UndefinedError" => TemplateErrorKind::Undefined,
        "TemplateNotFound" => TemplateErrorKind::NotFound,
        "TemplateError" => TemplateErrorKind::Raised,
        _ => TemplateErrorKind::Render,
    }
}

#[test]
fn jinja2_matches_python_recording() {
    let cases: Vec<Case> =
        serde_yaml::from_str(&std::fs::read_to_string(golden_dir().join("cases.yaml")).unwrap()).unwrap();
    let expected: BTreeMap<String, Expected> =
        serde_json::from_str(&std::fs::read_to_string(golden_dir().join("expected.json")).unwrap()).unwrap();
    assert_eq!(
        cases.len(),
        expected.len(),
        "expected.json is out of date: run scripts/record-template-golden"
    );
    let engine = JinjaEngine::new();
    let mut failures = Vec::new();
    for case in &cases {
        let want = expected
            .get(&case.name)
            .unwrap_or_else(|| panic!("no recording for {}: run scripts/record-template-golden", case.name));
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for (rel, content) in &case.files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        std::fs::create_dir_all(root.join("item")).unwrap();
        let vars = if case.vars.is_null() {
            serde_json::json!({})
        } else {
            case.vars.clone()
        };
        let search_dirs = vec![root.join("item"), root.clone()];
        let ctx = RenderContext {
            vars: &vars,
            search_dirs: &search_dirs,
            root: &root,
        };
        let got = engine.render("item/t.yaml", &case.template, &ctx);
        let known = KNOWN_DIFFERENCES.iter().find(|(name, _, _)| *name == case.name);
        match (got, want, known) {
            (got, _, Some((_, ours, _))) => {
                let matches = match (&got, ours.strip_prefix("error:")) {
                    (Err(err), Some(fragment)) => err.message.contains(fragment),
                    (Ok(out), None) => out == ours,
                    _ => false,
                };
                if !matches {
                    failures.push(format!(
                        "{}: documented difference changed\n  ours: {got:?}\n  doc:  {ours:?}",
                        case.name
                    ));
                }
            }
            (Ok(out), Expected { output: Some(py), .. }, None) => {
                if &out != py {
                    failures.push(format!("{}:\n  python: {py:?}\n  rust:   {out:?}", case.name));
                }
            }
            (Err(err), Expected { error: Some(py), .. }, None) => {
                let kind = python_kind(&py.kind);
                let mut problems = Vec::new();
                if err.kind != kind {
                    problems.push(format!("kind {:?} != python {:?} ({})", err.kind, kind, py.kind));
                }
                if let Some(file) = &py.file
                    && &err.file != file
                {
                    problems.push(format!("file {:?} != python {file:?}", err.file));
                }
                if kind != TemplateErrorKind::Syntax
                    && let Some(line) = py.line
                    && err.line != Some(line)
                {
                    problems.push(format!("line {:?} != python {line}", err.line));
                }
                if err.to_string().contains(root.to_str().unwrap()) {
                    problems.push("message contains the temporary root".to_string());
                }
                if !problems.is_empty() {
                    failures.push(format!(
                        "{}: {}\n  python: {}\n  rust:   {err}",
                        case.name,
                        problems.join("; "),
                        py.message
                    ));
                }
            }
            (Ok(out), Expected { error: Some(py), .. }, None) => {
                failures.push(format!(
                    "{}: python failed ({}: {}) but rust rendered {out:?}",
                    case.name, py.kind, py.message
                ));
            }
            (Err(err), _, _) => failures.push(format!("{}: rust failed: {err}", case.name)),
            (
                Ok(_),
                Expected {
                    output: None,
                    error: None,
                },
                None,
            ) => failures.push(format!("{}: empty recording", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
