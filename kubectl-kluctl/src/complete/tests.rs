use super::*;

fn words(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

fn values(line: &str, env: &Env) -> (Vec<String>, Directive) {
    let (candidates, directive) = complete(&tree(), &words(line), env);
    (candidates.into_iter().map(|c| c.value).collect(), directive)
}

/// The real command tree plus `project-cmd`, a command with the project flag groups, which the
/// engine's commands (render, deploy, ...) flatten the same way.
fn tree() -> Command {
    use clap::{Args, CommandFactory};
    #[derive(Args)]
    struct ProjectCommand {
        #[command(flatten)]
        project: crate::cli::flags::ProjectFlags,
        #[command(flatten)]
        inclusion: crate::cli::flags::InclusionFlags,
    }
    let mut root = crate::cli::Cli::command().subcommand(ProjectCommand::augment_args(Command::new("project-cmd")));
    root.build();
    root
}

#[test]
fn completes_commands_and_their_descriptions() {
    let (candidates, directive) = complete(&crate::cli::command(), &words("ver"), &Env::empty());
    assert_eq!(directive, Directive::NO_FILE_COMP);
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0].value, "version");
    assert_eq!(
        candidates[0].description.as_deref(),
        Some("Print the version, git commit and build date")
    );
    let (all, _) = values("", &Env::empty());
    assert!(all.contains(&"completion".to_string()) && all.contains(&"version".to_string()));
    assert!(
        !all.iter().any(|c| c.starts_with("__")),
        "hidden commands are not offered: {all:?}"
    );
}

#[test]
fn completes_flags_once_and_shorts_only_after_a_dash() {
    let (long, _) = values("version --", &Env::empty());
    assert!(long.contains(&"--output".to_string()));
    assert!(
        long.contains(&"--context".to_string()),
        "global flags complete in subcommands"
    );
    let (dash, _) = values("version -", &Env::empty());
    assert!(dash.contains(&"-o".to_string()) && dash.contains(&"-n".to_string()));
    let (after, _) = values("version --context x --", &Env::empty());
    assert!(
        !after.contains(&"--context".to_string()),
        "a flag already given is not offered again"
    );
    assert!(after.contains(&"--output".to_string()), "repeatable flags stay");
}

#[test]
fn completes_flag_values_from_their_kind() {
    assert_eq!(
        values("version -o ", &Env::empty()),
        (
            vec!["text".into(), "yaml".into(), "json".into()],
            Directive::NO_FILE_COMP
        )
    );
    assert_eq!(
        values("version --output=j", &Env::empty()),
        (vec!["--output=json".into()], Directive::NO_FILE_COMP)
    );
    assert_eq!(values("version --kubeconfig ", &Env::empty()).1, Directive::DEFAULT);
    assert_eq!(
        values("completion ", &Env::empty()).0,
        ["bash", "zsh", "fish", "powershell"]
    );
    assert_eq!(values("completion z", &Env::empty()).0, ["zsh"]);
}

#[test]
fn completes_contexts_from_the_kubeconfig_kubectl_would_use() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::write(
        &a,
        "contexts:\n- name: kind-kind\n  context: {cluster: kind}\n- name: prod\n  context: {cluster: p}\nusers:\n- name: u\n  user: {token: s3cr3t}\n",
    )
    .unwrap();
    std::fs::write(&b, "contexts:\n- name: staging\n- name: prod\n").unwrap();
    let env = Env::empty().with("KUBECONFIG", &format!("{}:{}", a.display(), b.display()));
    let (candidates, directive) = complete(&crate::cli::command(), &words("version --context "), &env);
    assert_eq!(directive, Directive::NO_FILE_COMP);
    let names: Vec<_> = candidates.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(names, ["kind-kind", "prod", "staging"]);
    assert_eq!(candidates[0].description.as_deref(), Some("cluster kind"));
    assert!(!format!("{candidates:?}").contains("s3cr3t"));

    let explicit = format!("version --kubeconfig {} --context ", b.display());
    assert_eq!(values(&explicit, &env).0, ["staging", "prod"]);
    assert_eq!(values("version --user ", &env).0, ["u"]);
    assert_eq!(values("version --cluster ", &env).0, Vec::<String>::new());
}

/// A copy of Kluctl's `simple` example plus a templated include, in a temp dir.
fn example_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = testdata().join("kluctl-examples/simple");
    for entry in walkdir(&source) {
        let relative = entry.strip_prefix(&source).unwrap();
        let target = dir.path().join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(&entry, &target).unwrap();
        }
    }
    std::fs::write(
        dir.path().join("deployment/deployment.yml"),
        "deployments:\n  - path: nginx\n  {% if args.environment == 'simple' %}\n  - include: addons\n    tags: [extras]\n  {% endif %}\n  - path: \"{{ args.environment }}-only\"\n\noverrideNamespace: \"simple-{{ args.environment }}\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("deployment/addons/redis")).unwrap();
    std::fs::write(
        dir.path().join("deployment/addons/deployment.yaml"),
        "tags: [addons]\ndeployments:\n- path: redis\n- path: ../nginx\n  tags: [shared, web]\n",
    )
    .unwrap();
    dir
}

/// `shared/testdata` next to the checkout: the nearest ancestor of this crate that has it
/// (worktrees sit deeper than the main checkout).
fn testdata() -> std::path::PathBuf {
    kluctl_e2e::fixtures::testdata().expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        found.push(path.clone());
        if path.is_dir() {
            found.extend(walkdir(&path));
        }
    }
    found.sort();
    found
}

#[test]
fn completes_targets_args_tags_and_dirs_from_the_project() {
    let project = example_project();
    let dir = project.path().display().to_string();
    let env = Env::empty();
    let at = |rest: &str| values(&format!("project-cmd --project-dir {dir} {rest}"), &env);

    assert_eq!(
        at("-t "),
        (vec!["simple".into(), "another".into()], Directive::NO_FILE_COMP)
    );
    assert_eq!(at("--target a").0, ["another"]);
    assert_eq!(at("-a ").0, ["environment="]);
    assert_eq!(
        at("-a ").1,
        Directive(Directive::NO_FILE_COMP.0 | Directive::NO_SPACE.0)
    );
    assert_eq!(
        at("-I ").0,
        ["deployment", "nginx", "extras", "addons", "redis", "shared", "web"]
    );
    assert_eq!(at("--exclude-tag a").0, ["addons"]);
    assert_eq!(
        at("--include-deployment-dir ").0,
        ["deployment/nginx", "deployment/addons/redis"]
    );

    // The project dir also comes from KLUCTL_PROJECT_DIR, as for a real command.
    let from_env = Env::empty().with("KLUCTL_PROJECT_DIR", &dir);
    assert_eq!(values("project-cmd -t ", &from_env).0, ["simple", "another"]);
    assert_eq!(values("project-cmd --project-dir ", &env).1, Directive::FILTER_DIRS);
}

#[test]
fn unreadable_projects_complete_nothing_quietly() {
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join(".kluctl.yaml"), "targets: [unclosed\n").unwrap();
    let line = format!("project-cmd --project-dir {} -t ", empty.path().display());
    assert_eq!(values(&line, &Env::empty()), (vec![], Directive::NO_FILE_COMP));
    let line = "project-cmd --project-dir /nonexistent -I ";
    assert_eq!(values(line, &Env::empty()), (vec![], Directive::NO_FILE_COMP));
}

#[test]
fn the_protocol_prints_candidates_then_the_directive_and_nothing_else() {
    let (io, captured) = crate::io::Io::captured(Env::empty(), "");
    answer(&words("version -o y"), &io).unwrap();
    assert_eq!(captured.stdout(), "yaml\n:4\n");
    assert_eq!(captured.stderr(), "");
    let (io, captured) = crate::io::Io::captured(Env::empty(), "");
    answer(&[], &io).unwrap();
    assert!(
        captured
            .stdout()
            .lines()
            .any(|l| l.starts_with("version\tPrint the version")),
        "{}",
        captured.stdout()
    );
    assert!(captured.stdout().ends_with("\n:4\n"));
}
