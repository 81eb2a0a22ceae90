//! The plugin as kubectl users meet it: discovery, help, version and `<TAB>` completion through
//! the real kubectl.

use crate::util::{CompletionHelper, PluginDir, assert_code, completion, stderr, stdout};

#[test]
fn kubectl_plugin_list_finds_the_plugin() {
    let plugins = PluginDir::new(CompletionHelper::Symlink);
    let output = plugins.kubectl(["plugin", "list"]);
    assert_code(&output, 0);
    let listed = format!("{}/kubectl-kluctl", plugins.dir.path().display());
    assert!(stdout(&output).lines().any(|l| l == listed), "{}", stdout(&output));
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
}

#[test]
fn kubectl_kluctl_help_describes_the_plugin() {
    let plugins = PluginDir::new(CompletionHelper::Symlink);
    let output = plugins.kubectl(["kluctl", "--help"]);
    assert_code(&output, 0);
    let help = stdout(&output);
    assert!(help.contains("Usage: kubectl kluctl [OPTIONS] <COMMAND>"), "{help}");
    for line in ["  version ", "--kubeconfig <FILE>", "KLUCTL_ARG_0", "Exit codes:"] {
        assert!(help.contains(line), "missing {line:?} in\n{help}");
    }
    assert_eq!(stderr(&output), "");
}

#[test]
fn kubectl_kluctl_version_reports_this_build() {
    let plugins = PluginDir::new(CompletionHelper::Symlink);
    let output = plugins.kubectl(["kluctl", "version", "-o", "json"]);
    assert_code(&output, 0);
    let version: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(version["kind"], "Version");
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    let text = plugins.kubectl(["kluctl", "version"]);
    assert!(stdout(&text).starts_with(&format!("kubectl-kluctl {}\n", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn global_flags_work_before_the_command_and_exit_codes_pass_through() {
    let plugins = PluginDir::new(CompletionHelper::Symlink);
    let output = plugins.kubectl(["kluctl", "-n", "demo", "--context", "kind", "version", "-o", "yaml"]);
    assert_code(&output, 0);
    assert!(stdout(&output).starts_with("apiVersion: kubectl-kluctl.io/v1alpha1\nkind: Version\n"));
    let usage = plugins.kubectl(["kluctl", "version", "-o", "xml"]);
    assert_code(&usage, 2);
    assert!(
        stderr(&usage).contains("unknown output format 'xml'"),
        "{}",
        stderr(&usage)
    );
}

/// The visible commands of the plugin starting with `prefix`, as the clap tree has them.
fn registered(prefix: &str) -> Vec<String> {
    kubectl_kluctl::cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name().starts_with(prefix))
        .map(|c| c.get_name().to_string())
        .collect()
}

#[test]
fn kubectl_completes_commands_through_both_helpers() {
    for helper in [CompletionHelper::Symlink, CompletionHelper::Script] {
        let plugins = PluginDir::new(helper);
        let output = plugins.kubectl(["__complete", "kluctl", "ver"]);
        assert_code(&output, 0);
        assert_eq!(completion(&output), (vec!["version".to_string()], 4), "{helper:?}");
        assert!(stdout(&output).starts_with("version\tPrint the version"));

        let all = plugins.kubectl(["__complete", "kluctl", ""]);
        assert_eq!(completion(&all), (registered(""), 4), "{helper:?}");
        let completion_cmd = plugins.kubectl(["__complete", "kluctl", "completion", "f"]);
        assert_eq!(completion(&completion_cmd), (vec!["fish".to_string()], 4));
    }
}

#[test]
fn kubectl_completes_flags_and_their_values() {
    let plugins = PluginDir::new(CompletionHelper::Symlink);
    let flags = plugins.kubectl(["__complete", "kluctl", "version", "--o"]);
    assert_eq!(completion(&flags), (vec!["--output".into()], 4));
    let formats = plugins.kubectl(["__complete", "kluctl", "version", "-o", ""]);
    assert_eq!(
        completion(&formats),
        (vec!["text".into(), "yaml".into(), "json".into()], 4)
    );
    let files = plugins.kubectl(["__complete", "kluctl", "version", "--kubeconfig", ""]);
    assert_eq!(completion(&files), (vec![], 0), "file names are left to the shell");

    let kubeconfig = plugins.home.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: kind-kind\n  context: {cluster: kind-kind}\n- name: prod\n  context: {cluster: prod}\n",
    )
    .unwrap();
    let contexts = plugins.kubectl_with_env(
        ["__complete", "kluctl", "version", "--context", ""],
        &[("KUBECONFIG", kubeconfig.to_str().unwrap())],
    );
    assert_eq!(completion(&contexts), (vec!["kind-kind".into(), "prod".into()], 4));
}

// Acceptance of the completion issue: completion reflects real commands only.
#[test]
fn kubectl_completes_d_to_delete_deploy_diff() {
    let plugins = PluginDir::new(CompletionHelper::Symlink);
    let output = plugins.kubectl(["__complete", "kluctl", "d"]);
    assert_code(&output, 0);
    let (mut values, directive) = completion(&output);
    values.sort();
    assert_eq!(
        (values, directive),
        (vec!["delete".into(), "deploy".into(), "diff".into()], 4)
    );
    // `de` no longer matches `diff`.
    let (mut values, _) = completion(&plugins.kubectl(["__complete", "kluctl", "de"]));
    values.sort();
    assert_eq!(values, vec!["delete".to_string(), "deploy".to_string()]);
}

#[test]
fn kubectl_completes_target_names_of_an_example_project() {
    let project = crate::util::example_project("simple");
    let plugins = PluginDir::new(CompletionHelper::Symlink);
    let command = kubectl_kluctl::cli::command()
        .get_subcommands()
        .find(|c| c.get_arguments().any(|a| a.get_long() == Some("target")))
        .map(|c| c.get_name().to_string())
        .expect("a command with --target is registered");
    let dir = project.path().to_str().unwrap();
    let output = plugins.kubectl(["__complete", "kluctl", &command, "--project-dir", dir, "-t", ""]);
    assert_eq!(completion(&output), (vec!["simple".into(), "another".into()], 4));
}
