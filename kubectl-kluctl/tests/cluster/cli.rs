//! The real binary against the test API server: the example projects end to end, exit codes,
//! confirmation rules, output files.

use crate::binary::*;
use kluctl_e2e::apiserver::Gvr;
use serde_json::Value;
use std::process::Output;
use std::time::Duration;

fn yaml(out: &Output) -> Value {
    shared::yaml::parse_single(&stdout(out), "stdout").unwrap()
}

fn changed(result: &Value) -> Vec<(String, Vec<String>)> {
    result["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["changed"] == true)
        .map(|o| {
            let paths = o["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["jsonPath"].as_str().unwrap().to_string())
                .collect();
            (o["ref"]["name"].as_str().unwrap().to_string(), paths)
        })
        .collect()
}

#[test]
fn hello_example_deploys_then_diffs_clean_then_shows_exactly_a_changed_arg() {
    let env = Env::start();
    let project = workspace().join("examples/hello");
    let dir = project.to_str().unwrap();

    let deployed = env.run(&["deploy", "--project-dir", dir, "-t", "dev", "--yes"]);
    assert_eq!(code(&deployed), 0);
    let text = stdout(&deployed);
    assert!(text.contains("New objects:\n  Namespace/hello-dev\n"), "{text}");
    assert!(text.contains("hello-dev/Deployment/hello"), "{text}");
    let cm = env
        .server
        .get_object(&Gvr::core("configmaps"), Some("hello-dev"), "hello")
        .unwrap();
    assert_eq!(cm["data"]["greeting"], "Hello from dev");
    let deployment = env
        .server
        .get_object(&Gvr::new("apps", "v1", "deployments"), Some("hello-dev"), "hello")
        .unwrap();
    assert_eq!(deployment["status"]["readyReplicas"], 1, "waitReadiness waited");

    let clean = env.run(&["diff", "--project-dir", dir, "-t", "dev"]);
    assert_eq!(code(&clean), 0, "no changes: exit 0");
    assert_eq!(stdout(&clean), "", "nothing to show");

    let changed_arg = env.run(&[
        "diff",
        "--project-dir",
        dir,
        "-t",
        "dev",
        "-a",
        "greeting=Hi",
        "-o",
        "yaml",
    ]);
    assert_eq!(code(&changed_arg), 1, "changes: exit 1");
    let result = yaml(&changed_arg);
    assert_eq!(
        changed(&result),
        vec![("hello".to_string(), vec!["data.greeting".to_string()])]
    );

    for out in [&deployed, &clean, &changed_arg] {
        for text in [stdout(out), stderr(out)] {
            assert!(!text.contains("not-a-real-password"), "secret leaked:\n{text}");
        }
    }

    // The prod target is another discriminator in another namespace.
    let prod = env.run(&["deploy", "--project-dir", dir, "-t", "prod", "--yes", "-o", "json"]);
    assert_eq!(code(&prod), 0);
    let result: Value = serde_json::from_slice(&prod.stdout).unwrap();
    assert_eq!(result["targetKey"]["discriminator"], "hello-prod");
    assert_eq!(result["summary"]["newObjects"], 5);
    assert_eq!(
        result["summary"]["orphanObjects"], 0,
        "dev's objects are not prod's orphans"
    );
}

#[test]
fn microservices_demo_deploys_local_and_prod_then_diffs_clean_then_shows_a_changed_var() {
    let env = Env::start();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    copy_dir(
        &testdata().join("kluctl-examples/microservices-demo/3-templating-and-multi-env"),
        &project,
    );
    let dir = project.to_str().unwrap();
    // The project's targets name the context kind-kind; the test server's context is test.
    let common = ["--project-dir", dir, "--context", "test"];
    for target in ["local", "prod"] {
        let args: Vec<&str> = ["deploy", "-t", target, "--yes", "-o", "yaml"]
            .into_iter()
            .chain(common)
            .collect();
        let out = env.run(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let result = yaml(&out);
        assert!(result["summary"]["newObjects"].as_u64().unwrap() > 20, "{result}");
        assert!(result.get("errors").is_none(), "{result}");

        let args: Vec<&str> = ["diff", "-t", target, "-o", "yaml"].into_iter().chain(common).collect();
        let out = env.run(&args);
        assert_eq!(code(&out), 0, "no changes after the deploy: {}", stdout(&out));
    }

    let vars = project.join("vars/local.yml");
    let text = std::fs::read_to_string(&vars).unwrap();
    assert!(text.contains("svcName: cart-redis-master"));
    std::fs::write(
        &vars,
        text.replace("svcName: cart-redis-master", "svcName: cart-redis-other"),
    )
    .unwrap();
    let args: Vec<&str> = ["diff", "-t", "local", "-o", "yaml"]
        .into_iter()
        .chain(common)
        .collect();
    let out = env.run(&args);
    assert_eq!(code(&out), 1);
    assert_eq!(
        changed(&yaml(&out)),
        vec![(
            "cartservice".to_string(),
            vec!["spec.template.spec.containers[0].env.REDIS_ADDR.value".to_string()]
        )]
    );
}

#[test]
fn exit_codes_and_confirmation_rules() {
    let env = Env::start();
    let project = workspace().join("examples/hello");
    let dir = project.to_str().unwrap();

    let refused = env.run(&["deploy", "--project-dir", dir, "-t", "dev"]);
    assert_eq!(code(&refused), 1);
    assert!(stderr(&refused).contains("refusing to deploy without confirmation (pass --yes)"));
    assert!(
        env.server
            .get_object(&Gvr::core("namespaces"), None, "hello-dev")
            .is_none()
    );

    let dry = env.run(&["deploy", "--project-dir", dir, "-t", "dev", "--dry-run", "-o", "yaml"]);
    assert_eq!(code(&dry), 0, "--dry-run needs no confirmation");
    assert_eq!(yaml(&dry)["command"]["dryRun"], true);
    assert!(
        env.server
            .get_object(&Gvr::core("namespaces"), None, "hello-dev")
            .is_none()
    );

    let usage = env.run(&["diff", "--project-dir", dir, "-t", "dev", "--api-concurrency", "0"]);
    assert_eq!(code(&usage), 2);

    let missing = env.run(&["diff", "--project-dir", dir, "-t", "dev", "--context", "nope"]);
    assert_eq!(code(&missing), 2, "diff fails with 2");
    assert!(stderr(&missing).contains("failed to select kubeconfig context \"nope\""));
    let missing = env.run(&[
        "deploy",
        "--project-dir",
        dir,
        "-t",
        "dev",
        "--context",
        "nope",
        "--yes",
    ]);
    assert_eq!(code(&missing), 1, "other commands fail with 1");

    // An object the server rejects: diff exits 2, deploy 1.
    let work = tempfile::tempdir().unwrap();
    let broken = work.path().join("broken");
    copy_dir(&project, &broken);
    let path = broken.join("app/deployment.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("      app: hello\n  template", "      app: other\n  template"),
    )
    .unwrap();
    let broken_dir = broken.to_str().unwrap();
    let diff = env.run(&["diff", "--project-dir", broken_dir, "-t", "dev"]);
    assert_eq!(code(&diff), 2);
    assert!(stdout(&diff).contains("Errors:"), "{}", stdout(&diff));
    let deploy = env.run(&["deploy", "--project-dir", broken_dir, "-t", "dev", "--yes"]);
    assert_eq!(code(&deploy), 1);
    assert!(stderr(&deploy).contains("command failed with 1 error"));

    // A render error anywhere means nothing is applied, not even the items that did render.
    let unrenderable = work.path().join("unrenderable");
    copy_dir(&project, &unrenderable);
    std::fs::write(
        unrenderable.join("app/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: \"{{ namespace }}\"\ndata:\n  a: \"{{ no_such_var }}\"\n",
    )
    .unwrap();
    // Let the simulated controllers settle, so any write below is ours.
    std::thread::sleep(Duration::from_millis(500));
    let rv = env.server.resource_version();
    let deploy = env.run(&[
        "deploy",
        "--project-dir",
        unrenderable.to_str().unwrap(),
        "-t",
        "dev",
        "--yes",
    ]);
    assert_eq!(code(&deploy), 1);
    assert!(stderr(&deploy).contains("app/configmap.yaml"), "{}", stderr(&deploy));
    assert!(stderr(&deploy).contains("no_such_var"), "{}", stderr(&deploy));
    assert_eq!(env.server.resource_version(), rv, "nothing was written");
}

#[test]
fn prune_delete_and_validate_through_the_binary() {
    let env = Env::start();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("hello");
    copy_dir(&workspace().join("examples/hello"), &project);
    let dir = project.to_str().unwrap();
    assert_eq!(
        code(&env.run(&["deploy", "--project-dir", dir, "-t", "dev", "--yes"])),
        0
    );

    let validate = env.run(&[
        "validate",
        "--project-dir",
        dir,
        "-t",
        "dev",
        "--wait",
        "30s",
        "--sleep",
        "200ms",
    ]);
    assert_eq!(code(&validate), 0, "{}", stdout(&validate));

    std::fs::remove_file(project.join("app/service.yaml")).unwrap();
    let refused = env.run(&["prune", "--project-dir", dir, "-t", "dev"]);
    assert_eq!(code(&refused), 1);
    assert!(stderr(&refused).contains("refusing to prune without confirmation (pass --yes)"));
    let dry = env.run(&["prune", "--project-dir", dir, "-t", "dev", "--dry-run"]);
    assert_eq!(code(&dry), 0);
    assert!(stderr(&dry).contains("The following objects will be deleted:\n  hello-dev/Service/hello\n"));
    let services = Gvr::core("services");
    assert!(env.server.get_object(&services, Some("hello-dev"), "hello").is_some());
    let output_file = work.path().join("prune.json");
    let output_arg = format!("json={}", output_file.display());
    let pruned = env.run(&[
        "prune",
        "--project-dir",
        dir,
        "-t",
        "dev",
        "--yes",
        "-o",
        "text",
        "-o",
        &output_arg,
    ]);
    assert_eq!(code(&pruned), 0);
    assert!(stdout(&pruned).contains("Deleted objects:\n  hello-dev/Service/hello"));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&output_file).unwrap()).unwrap();
    assert_eq!(written["objects"][0]["deleted"], true);
    assert!(env.server.get_object(&services, Some("hello-dev"), "hello").is_none());

    let deleted = env.run(&["delete", "--project-dir", dir, "-t", "dev", "--yes"]);
    assert_eq!(code(&deleted), 0);
    assert!(
        env.server
            .get_object(&Gvr::core("namespaces"), None, "hello-dev")
            .is_none(),
        "waited until gone"
    );
    let validate = env.run(&["validate", "--project-dir", dir, "-t", "dev"]);
    assert_eq!(code(&validate), 1);
    assert!(stdout(&validate).contains("object not found"), "{}", stdout(&validate));
}

/// Runs the plugin in-process with a terminal on stdin that answers `answer`.
fn run_interactive(env: &Env, args: &[&str], answer: &str) -> (anyhow::Result<std::process::ExitCode>, String, String) {
    use kubectl_kluctl::io::{Env as ProcessEnv, Tty};
    let process_env = ProcessEnv::empty().with("HOME", env.home.path().to_str().unwrap());
    let (mut io, captured) = kubectl_kluctl::Io::captured(process_env, answer);
    io.tty = Tty {
        stdin: true,
        stdout: false,
        stderr: false,
    };
    let kubeconfig = env.server.kubeconfig_path().to_str().unwrap().to_string();
    let argv: Vec<&str> = ["kubectl-kluctl"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["--kubeconfig", &kubeconfig])
        .collect();
    let result = kubectl_kluctl::run(argv, io);
    (result, captured.stdout(), captured.stderr())
}

#[test]
fn deploy_shows_the_diff_and_proceeds_only_on_yes() {
    let env = Env::start();
    let dir = workspace().join("examples/hello");
    let args = ["deploy", "--project-dir", dir.to_str().unwrap(), "-t", "dev"];

    let (result, stdout, stderr) = run_interactive(&env, &args, "n\n");
    let error = result.unwrap_err();
    assert_eq!(kubectl_kluctl::exit_for_error(&error).code(), 1);
    assert!(
        stderr.contains("New objects:\n  Namespace/hello-dev"),
        "pass 1 shows the diff: {stderr}"
    );
    assert!(
        stderr.contains("The diff succeeded, do you want to proceed? [y/N]"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        env.server
            .get_object(&Gvr::core("namespaces"), None, "hello-dev")
            .is_none()
    );

    let (result, stdout, _) = run_interactive(&env, &args, "y\n");
    assert_eq!(result.unwrap(), std::process::ExitCode::SUCCESS);
    assert!(stdout.contains("New objects:"), "{stdout}");
    assert!(
        env.server
            .get_object(&Gvr::core("namespaces"), None, "hello-dev")
            .is_some()
    );
}

#[test]
fn kubeconfig_files_from_the_environment_are_merged() {
    let env = Env::start();
    let dir = workspace().join("examples/hello");
    let work = tempfile::tempdir().unwrap();
    // The first file sets the current context; the second one defines it.
    let first = work.path().join("first");
    std::fs::write(&first, "apiVersion: v1\nkind: Config\ncurrent-context: test\n").unwrap();
    let list = format!(
        "{}:{}:{}",
        work.path().join("missing").display(),
        first.display(),
        env.server.kubeconfig_path().display()
    );
    let out = env
        .command(&[
            "diff",
            "--project-dir",
            dir.to_str().unwrap(),
            "-t",
            "dev",
            "-o",
            "yaml",
        ])
        .env("KUBECONFIG", &list)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(yaml(&out)["summary"]["newObjects"], 5);
}
