//! The catalogue of bad input: every case is a small project with one mistake, and the error
//! must name the original project-relative file, line and column, say what is wrong, and never
//! mention the temp or render directory.

mod common;

use common::{block_on, project};
use shared::project::{ProjectOptions, load};
use shared::render::{RenderOptions, render};
use shared::types::Located;

/// Where a case is expected to fail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    Load,
    Render,
}

pub struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    target: Option<&'static str>,
    stage: Stage,
    file: &'static str,
    line: Option<usize>,
    column: Option<usize>,
    message: &'static str,
}

pub const ITEM: (&str, &str) = (
    "app/cm.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
);

#[path = "render_errors/project_cases.rs"]
mod project_cases;
#[path = "render_errors/render_cases.rs"]
mod render_cases;

fn cases() -> Vec<Case> {
    let mut cases = project_cases::cases();
    cases.extend(render_cases::cases());
    cases
}

fn failure(case: &Case) -> Result<(Located, String, String), String> {
    let (tmp, dir) = project(case.files);
    let options = ProjectOptions {
        project_dir: dir.clone(),
        target: case.target.map(str::to_string),
        ..Default::default()
    };
    let loaded = block_on(load(&options, None));
    let (located, text) = match (loaded, case.stage) {
        (Err(e), Stage::Load) => (e.located().clone(), e.to_string()),
        (Err(e), Stage::Render) => return Err(format!("failed while loading: {e}")),
        (Ok(_), Stage::Load) => return Err("loaded without error".into()),
        (Ok(project), Stage::Render) => {
            let out = tmp.path().join("out");
            let options = RenderOptions {
                output_dir: Some(&out),
                scopes: None,
                builder: None,
            };
            match render(&project, &options) {
                Ok(_) => return Err("rendered without error".into()),
                Err(e) => {
                    if out.exists() {
                        return Err("a failed render left its output directory behind".into());
                    }
                    (e.all()[0].clone(), e.to_string())
                }
            }
        }
    };
    Ok((located, text, tmp.path().to_string_lossy().into_owned()))
}

#[test]
fn every_bad_input_names_file_line_column_and_what_is_wrong() {
    let cases = cases();
    assert!(cases.len() >= 40, "the catalogue has {} cases", cases.len());
    let mut problems = Vec::new();
    for case in &cases {
        match failure(case) {
            Err(problem) => problems.push(format!("{}: {problem}", case.name)),
            Ok((located, text, tmp)) => {
                if std::env::var_os("SHOW_ERRORS").is_some() {
                    eprintln!("{text}");
                }
                let l = &located.location;
                if l.file != case.file || l.line != case.line || l.column != case.column {
                    problems.push(format!(
                        "{}: expected {}:{:?}:{:?}, got {l} ({text})",
                        case.name, case.file, case.line, case.column
                    ));
                }
                if !located.message.contains(case.message) {
                    problems.push(format!(
                        "{}: message {:?} lacks {:?}",
                        case.name, located.message, case.message
                    ));
                }
                if text.contains(&tmp) || text.contains("/tmp/") {
                    problems.push(format!("{}: the error shows a temp path: {text}", case.name));
                }
                if !text.starts_with(&l.to_string()) {
                    problems.push(format!(
                        "{}: the error does not start with its location: {text}",
                        case.name
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

#[test]
fn the_include_chain_leads_from_the_failing_file_to_the_root() {
    let (_tmp, dir) = project(&[
        ("deployment.yaml", "deployments:\n  - include: a\n"),
        ("a/deployment.yaml", "deployments:\n  - include: b\n"),
        ("a/b/deployment.yaml", "deployments:\n  - path: x\n"),
        ("a/b/x/cm.yaml", "a: '{{ nope }}'\n"),
    ]);
    let options = ProjectOptions {
        project_dir: dir,
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    let err = render(
        &project,
        &RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        },
    )
    .unwrap_err();
    let l = err.all()[0].clone();
    assert_eq!(l.location.file, "a/b/x/cm.yaml");
    let chain: Vec<String> = l.chain.iter().map(ToString::to_string).collect();
    assert_eq!(
        chain,
        vec![
            "a/b/deployment.yaml:2:5",
            "a/deployment.yaml:2:5",
            "deployment.yaml:2:5"
        ]
    );
    assert!(
        err.to_string()
            .contains("(via a/b/deployment.yaml:2:5 <- a/deployment.yaml:2:5 <- deployment.yaml:2:5)"),
        "{err}"
    );
}

#[test]
fn every_failing_file_of_a_render_is_reported() {
    let (_tmp, dir) = project(&[
        ("deployment.yaml", "deployments:\n  - path: a\n  - path: b\n"),
        ("a/one.yaml", "x: '{{ one }}'\n"),
        ("a/two.yaml", "x: '{{ two }}'\n"),
        ("b/three.yaml", "x: '{{ three }}'\n"),
    ]);
    let options = ProjectOptions {
        project_dir: dir,
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    let err = render(
        &project,
        &RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        },
    )
    .unwrap_err();
    let files: Vec<_> = err.all().iter().map(|l| l.location.file.clone()).collect();
    assert_eq!(files, vec!["a/one.yaml", "a/two.yaml", "b/three.yaml"]);
    assert!(err.to_string().starts_with("3 errors while rendering:"), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_project_are_refused() {
    let (tmp, dir) = project(&[("deployment.yaml", "deployments:\n  - path: app\n"), ITEM]);
    std::fs::write(tmp.path().join("secret.yaml"), "password: x\n").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.yaml"), dir.join("app/link.yaml")).unwrap();
    let options = ProjectOptions {
        project_dir: dir,
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    let err = render(
        &project,
        &RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.all()[0].location.file, "app/link.yaml");
    assert_eq!(err.all()[0].message, "the symlink points outside the project");
}

#[test]
fn a_render_output_dir_with_foreign_content_is_refused_before_rendering() {
    let (tmp, dir) = project(&[("deployment.yaml", "deployments:\n  - path: app\n"), ITEM]);
    let out = tmp.path().join("mine");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep me").unwrap();
    let options = ProjectOptions {
        project_dir: dir,
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    let err = render(
        &project,
        &RenderOptions {
            output_dir: Some(&out),
            scopes: None,
            builder: None,
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("was not written by a previous render"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "keep me");
}
