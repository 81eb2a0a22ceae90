//! `kubectl diff --server-side`: a server-side dry-run apply compared with the live object.

use crate::util::{Cluster, deployment_yaml, deployments};

#[test]
fn diff_shows_changes_and_exits_one() {
    let cluster = Cluster::start();
    cluster
        .kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            &deployment_yaml("web", "default", 2, "nginx:1.25"),
        )
        .ok();
    let before = cluster.object(&deployments(), Some("default"), "web").unwrap();
    let run = cluster.kubectl_stdin(
        &["diff", "--server-side", "-f", "-"],
        &deployment_yaml("web", "default", 2, "nginx:1.26"),
    );
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("-      - image: nginx:1.25"), "{}", run.stdout);
    assert!(run.stdout.contains("+      - image: nginx:1.26"), "{}", run.stdout);
    assert!(
        run.stdout.contains("-  generation: 1") && run.stdout.contains("+  generation: 2"),
        "{}",
        run.stdout
    );
    assert_eq!(
        cluster.object(&deployments(), Some("default"), "web").unwrap(),
        before,
        "diff stores nothing"
    );
}

#[test]
fn diff_of_an_unchanged_object_is_empty() {
    let cluster = Cluster::start();
    let manifest = deployment_yaml("web", "default", 2, "nginx:1.25");
    cluster
        .kubectl_stdin(&["apply", "--server-side", "-f", "-"], &manifest)
        .ok();
    let run = cluster.kubectl_stdin(&["diff", "--server-side", "-f", "-"], &manifest);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "stderr:\n{}", run.stderr);
}

#[test]
fn diff_of_a_new_object_shows_all_of_it_with_server_defaults() {
    let cluster = Cluster::start();
    let run = cluster.kubectl_stdin(
        &["diff", "--server-side", "-f", "-"],
        &deployment_yaml("fresh", "default", 1, "nginx"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("+  progressDeadlineSeconds: 600"), "{}", run.stdout);
    assert!(cluster.object(&deployments(), Some("default"), "fresh").is_none());
}
