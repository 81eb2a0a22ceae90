//! The catalogue of bad input: every case is a small project with one mistake, and the error
//! must name the original project-relative file, line and column, say what is wrong, and never
//! mention the temp or render directory.

mod common;

use common::{PlainManifests, block_on, project};
use shared::project::{ProjectOptions, load};
use shared::render::{RenderOptions, render};
use shared::types::Located;

/// Where a case is expected to fail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    Load,
    Render,
}

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    target: Option<&'static str>,
    stage: Stage,
    file: &'static str,
    line: Option<usize>,
    /// `None`: the column is not checked (template errors report lines only).
    column: Option<usize>,
    message: &'static str,
}

const ITEM: (&str, &str) = (
    "app/cm.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
);

fn cases() -> Vec<Case> {
    use Stage::*;
    vec![
        // .kluctl.yaml
        Case {
            name: "kluctl.yaml is not valid YAML",
            files: &[
                (".kluctl.yaml", "targets:\n  - name: a\n   context: x\n"),
                ("deployment.yaml", "deployments: []\n"),
            ],
            target: Some("a"),
            stage: Load,
            file: ".kluctl.yaml",
            line: Some(3),
            column: Some(4),
            message: "invalid YAML",
        },
        Case {
            name: "unknown field in a target",
            files: &[
                (".kluctl.yaml", "targets:\n  - name: a\n    contxt: x\n"),
                ("deployment.yaml", "deployments: []\n"),
            ],
            target: Some("a"),
            stage: Load,
            file: ".kluctl.yaml",
            line: Some(3),
            column: Some(5),
            message: "unknown field `contxt`",
        },
        Case {
            name: "unknown target",
            files: &[
                (".kluctl.yaml", "targets:\n  - name: a\n  - name: b\n"),
                ("deployment.yaml", "deployments: []\n"),
            ],
            target: Some("c"),
            stage: Load,
            file: ".kluctl.yaml",
            line: Some(1),
            column: Some(1),
            message: "target \"c\" does not exist",
        },
        Case {
            name: "no target selected although the project has targets",
            files: &[
                (".kluctl.yaml", "targets:\n  - name: a\n"),
                ("deployment.yaml", "deployments: []\n"),
            ],
            target: None,
            stage: Load,
            file: ".kluctl.yaml",
            line: Some(1),
            column: Some(1),
            message: "a target must be selected",
        },
        Case {
            name: "a target selected although the project has none",
            files: &[("deployment.yaml", "deployments: []\n")],
            target: Some("x"),
            stage: Load,
            file: ".kluctl.yaml",
            line: None,
            column: None,
            message: "the project defines no targets",
        },
        Case {
            name: "required arg missing",
            files: &[
                (".kluctl.yaml", "args:\n  - name: env\ntargets:\n  - name: a\n"),
                ("deployment.yaml", "deployments: []\n"),
            ],
            target: Some("a"),
            stage: Load,
            file: ".kluctl.yaml",
            line: Some(2),
            column: Some(5),
            message: "required argument env not set",
        },
        Case {
            name: "discriminator uses an undefined variable",
            files: &[
                (".kluctl.yaml", "discriminator: x-{{ nope }}\ntargets:\n  - name: a\n"),
                ("deployment.yaml", "deployments: []\n"),
            ],
            target: Some("a"),
            stage: Load,
            file: ".kluctl.yaml",
            line: Some(1),
            column: Some(1),
            message: "nope",
        },
        Case {
            name: "target context has a template syntax error",
            files: &[
                (
                    ".kluctl.yaml",
                    "targets:\n  - name: a\n    context: '{{ target.name '\n",
                ),
                ("deployment.yaml", "deployments: []\n"),
            ],
            target: Some("a"),
            stage: Load,
            file: ".kluctl.yaml",
            line: Some(3),
            column: Some(5),
            message: "",
        },
        Case {
            name: "arg default with an invalid name",
            files: &[
                (".kluctl.yaml", "args:\n  - name: a[0]\n    default: 1\n"),
                ("deployment.yaml", "deployments: []\n"),
            ],
            target: None,
            stage: Load,
            file: ".kluctl.yaml",
            line: Some(2),
            column: Some(5),
            message: "indexes",
        },
        // deployment.yaml
        Case {
            name: "deployment.yaml is not valid YAML",
            files: &[("deployment.yaml", "deployments:\n  - path: app\n    tags: [a\n"), ITEM],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(4),
            column: Some(1),
            message: "invalid YAML",
        },
        Case {
            name: "typo in a deployment.yaml field",
            files: &[("deployment.yaml", "deploymets:\n  - path: app\n"), ITEM],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(1),
            column: Some(1),
            message: "unknown field `deploymets`",
        },
        Case {
            name: "typo in an item field",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n    barier: true\n"),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "unknown field `barier`",
        },
        Case {
            name: "mistyped item field",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n    barrier: maybe\n"),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(14),
            message: "invalid type",
        },
        Case {
            name: "common label that is not a string",
            files: &[
                (
                    "deployment.yaml",
                    "commonLabels:\n  a: [1]\ndeployments:\n  - path: app\n",
                ),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(6),
            message: "invalid type",
        },
        Case {
            name: "template syntax error in deployment.yaml",
            files: &[("deployment.yaml", "deployments:\n  - path: app\n{% if %}\n"), ITEM],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: None,
            message: "",
        },
        Case {
            name: "undefined variable in deployment.yaml",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: '{{ missing.dir }}'\n"),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: None,
            message: "missing",
        },
        Case {
            name: "path and include on one item",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n    include: app\n"),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "only one of path, include, git and oci can be set, found path and include",
        },
        Case {
            name: "waitReadiness on an include",
            files: &[
                (
                    "deployment.yaml",
                    "deployments:\n  - include: sub\n    waitReadiness: true\n",
                ),
                ("sub/deployment.yaml", "deployments: []\n"),
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "waitReadiness is only allowed on path items",
        },
        Case {
            name: "args on a path item",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n    args: {a: 1}\n"),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "args are only allowed when another project is included",
        },
        Case {
            name: "passVars on a path item",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n    passVars: true\n"),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "passVars is only allowed when another project is included",
        },
        Case {
            name: "recursive on an include",
            files: &[
                (
                    "deployment.yaml",
                    "deployments:\n  - include: sub\n    recursive: true\n",
                ),
                ("sub/deployment.yaml", "deployments: []\n"),
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "recursive is only allowed on path items",
        },
        Case {
            name: "item directory does not exist",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n  - path: nope\n"),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "directory \"nope\" does not exist",
        },
        Case {
            name: "item path is a file",
            files: &[("deployment.yaml", "deployments:\n  - path: app/cm.yaml\n"), ITEM],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "is not a directory",
        },
        Case {
            name: "include directory does not exist",
            files: &[("deployment.yaml", "deployments:\n  - include: nope\n")],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "directory \"nope\" does not exist",
        },
        Case {
            name: "include without deployment.yaml but with a kustomization",
            files: &[
                ("deployment.yaml", "deployments:\n  - include: app\n"),
                ITEM,
                ("app/kustomization.yaml", "resources: [cm.yaml]\n"),
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "app/deployment.yaml not found",
        },
        Case {
            name: "item path leaves the project",
            files: &[("deployment.yaml", "deployments:\n  - path: ../../outside\n")],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "leaves the project root",
        },
        Case {
            name: "include leaves the project",
            files: &[("deployment.yaml", "deployments:\n  - include: /etc\n")],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "leaves the project root",
        },
        Case {
            name: "include cycle",
            files: &[
                ("deployment.yaml", "deployments:\n  - include: a\n"),
                ("a/deployment.yaml", "deployments:\n  - include: ../b\n"),
                (
                    "b/deployment.yaml",
                    "deployments:\n  - path: ../app\n  - include: ../a\n",
                ),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "b/deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "include cycle: . -> a -> b -> a",
        },
        Case {
            name: "project includes itself",
            files: &[("deployment.yaml", "deployments:\n  - include: .\n")],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "include cycle",
        },
        Case {
            name: "when in the root project",
            files: &[("deployment.yaml", "when: 'true'\ndeployments: []\n")],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(1),
            column: Some(1),
            message: "the root deployment project can not have `when`",
        },
        Case {
            name: "when that does not evaluate",
            files: &[
                (
                    "deployment.yaml",
                    "deployments:\n  - path: app\n    when: nope.enabled\n",
                ),
                ITEM,
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "nope",
        },
        Case {
            name: "git include",
            files: &[(
                "deployment.yaml",
                "deployments:\n  - git: https://example.com/repo.git\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "git includes are not supported yet",
        },
        Case {
            name: "deleteObjects entry without kind or group",
            files: &[("deployment.yaml", "deployments:\n  - deleteObjects:\n      - name: x\n")],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(9),
            message: "at least one of group or kind must be set",
        },
        Case {
            name: "ignoreForDiff rule without a field",
            files: &[(
                "deployment.yaml",
                "ignoreForDiff:\n  - kind: Deployment\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "at least one of fieldPath or fieldPathRegex must be set",
        },
        Case {
            name: "ignoreForDiff with an invalid regular expression",
            files: &[(
                "deployment.yaml",
                "ignoreForDiff:\n  - fieldPathRegex: 'spec.(a'\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "invalid regular expression \"spec.(a\": unclosed group",
        },
        Case {
            name: "conflictResolution rule without field or manager",
            files: &[(
                "deployment.yaml",
                "conflictResolution:\n  - action: ignore\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "at least one of fieldPath, fieldPathRegex or manager must be set",
        },
        Case {
            name: "conflictResolution with an unknown action",
            files: &[(
                "deployment.yaml",
                "conflictResolution:\n  - manager: x\n    action: win\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(13),
            message: "unknown variant `win`",
        },
        Case {
            name: "library include without its required arg",
            files: &[
                ("deployment.yaml", "deployments:\n  - include: lib\n"),
                ("lib/.kluctl-library.yaml", "args:\n  - name: size\n"),
                ("lib/deployment.yaml", "deployments: []\n"),
            ],
            target: None,
            stage: Load,
            file: "lib/.kluctl-library.yaml",
            line: Some(2),
            column: Some(5),
            message: "required argument size not set",
        },
        Case {
            name: "error in a nested project names the include chain",
            files: &[
                ("deployment.yaml", "deployments:\n  - include: sub\n"),
                ("sub/deployment.yaml", "deployments:\n  - path: gone\n"),
            ],
            target: None,
            stage: Load,
            file: "sub/deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "directory \"gone\" does not exist",
        },
        // vars
        Case {
            name: "vars file missing",
            files: &[("deployment.yaml", "vars:\n  - file: vars/prod.yaml\ndeployments: []\n")],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "file \"vars/prod.yaml\" not found",
        },
        Case {
            name: "vars file is not valid YAML",
            files: &[
                ("deployment.yaml", "vars:\n  - file: v.yaml\ndeployments: []\n"),
                ("v.yaml", "a: 1\nb: [x\n"),
            ],
            target: None,
            stage: Load,
            file: "v.yaml",
            line: Some(3),
            column: Some(1),
            message: "invalid YAML",
        },
        Case {
            name: "vars file uses an undefined variable",
            files: &[
                ("deployment.yaml", "vars:\n  - file: v.yaml\ndeployments: []\n"),
                ("v.yaml", "a: 1\nb: '{{ undefined_thing }}'\n"),
            ],
            target: None,
            stage: Load,
            file: "v.yaml",
            line: Some(2),
            column: None,
            message: "undefined_thing",
        },
        Case {
            name: "vars file outside the project",
            files: &[(
                "deployment.yaml",
                "vars:\n  - file: ../../../etc/passwd\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "leaves the project root",
        },
        Case {
            name: "vars entry without a source",
            files: &[("deployment.yaml", "vars:\n  - noOverride: true\ndeployments: []\n")],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "the entry names no source",
        },
        Case {
            name: "vars entry with two sources",
            files: &[(
                "deployment.yaml",
                "vars:\n  - values: {a: 1}\n    file: x.yaml\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "the entry names several sources (values, file)",
        },
        Case {
            name: "vars file holding a list without targetPath",
            files: &[
                ("deployment.yaml", "vars:\n  - file: l.yaml\ndeployments: []\n"),
                ("l.yaml", "- 1\n"),
            ],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "the source gives a list, not a mapping",
        },
        Case {
            name: "targetPath with a wildcard",
            files: &[(
                "deployment.yaml",
                "vars:\n  - values: {a: 1}\n    targetPath: x.*\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "may not contain wildcards",
        },
        Case {
            name: "cluster secret while rendering offline",
            files: &[(
                "deployment.yaml",
                "vars:\n  - clusterSecret: {name: s, namespace: n, key: k}\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(2),
            column: Some(5),
            message: "loading vars from the cluster is disabled",
        },
        Case {
            name: "environment variable not set",
            files: &[(
                "deployment.yaml",
                "vars:\n  - systemEnvVars:\n      a: KLUCTL_CATALOGUE_SURELY_UNSET\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(7),
            message: "environment variable KLUCTL_CATALOGUE_SURELY_UNSET is not set",
        },
        Case {
            name: "vars entry with an invalid when",
            files: &[(
                "deployment.yaml",
                "vars:\n  - values: {a: 1}\n    when: a ==\ndeployments: []\n",
            )],
            target: None,
            stage: Load,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "invalid condition",
        },
        // render
        Case {
            name: "template syntax error in an item file",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n"),
                ("app/cm.yaml", "kind: ConfigMap\nmetadata:\n  name: {% if %}\n"),
            ],
            target: None,
            stage: Render,
            file: "app/cm.yaml",
            line: Some(3),
            column: None,
            message: "",
        },
        Case {
            name: "undefined variable in an item file",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n"),
                ("app/cm.yaml", "kind: ConfigMap\nmetadata:\n  name: '{{ who }}'\n"),
            ],
            target: None,
            stage: Render,
            file: "app/cm.yaml",
            line: Some(3),
            column: None,
            message: "who",
        },
        Case {
            name: "the same object from two items",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n  - path: app\n"),
                ITEM,
            ],
            target: None,
            stage: Render,
            file: "deployment.yaml",
            line: Some(3),
            column: Some(5),
            message: "ConfigMap/cm is rendered by item app (declared at deployment.yaml:2:5) and again by item app",
        },
        Case {
            name: "kustomization is not valid YAML",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n"),
                ITEM,
                ("app/kustomization.yaml", "resources: [cm.yaml\n"),
            ],
            target: None,
            stage: Render,
            file: "app/kustomization.yaml",
            line: Some(2),
            column: Some(1),
            message: "invalid YAML",
        },
        Case {
            name: "kustomization is not a mapping",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n"),
                ITEM,
                ("app/kustomization.yaml", "- cm.yaml\n"),
            ],
            target: None,
            stage: Render,
            file: "app/kustomization.yaml",
            line: None,
            column: None,
            message: "a kustomization must be a mapping",
        },
        Case {
            name: "recursive item with its own kustomization",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n    recursive: true\n"),
                ITEM,
                ("app/kustomization.yaml", "resources: [cm.yaml]\n"),
            ],
            target: None,
            stage: Render,
            file: "app/kustomization.yaml",
            line: None,
            column: None,
            message: "recursive: true needs a directory without kustomization",
        },
        Case {
            name: "item with a helm chart before the helm stage exists",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n"),
                ITEM,
                ("app/helm-chart.yaml", "helmChart: {}\n"),
            ],
            target: None,
            stage: Render,
            file: "app/helm-chart.yaml",
            line: None,
            column: None,
            message: "helm charts are not supported by this build yet",
        },
        Case {
            name: "resource listed in the kustomization is missing",
            files: &[
                ("deployment.yaml", "deployments:\n  - path: app\n"),
                ITEM,
                ("app/kustomization.yaml", "resources: [cm.yaml, gone.yaml]\n"),
            ],
            target: None,
            stage: Render,
            file: "app/gone.yaml",
            line: None,
            column: None,
            message: "",
        },
    ]
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
                builder: &PlainManifests,
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
                if l.file != case.file || l.line != case.line || (case.column.is_some() && l.column != case.column) {
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
            builder: &PlainManifests,
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
            builder: &PlainManifests,
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
            builder: &PlainManifests,
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
            builder: &PlainManifests,
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("was not written by a previous render"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "keep me");
}
