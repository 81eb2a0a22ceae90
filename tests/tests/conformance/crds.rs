//! CustomResourceDefinitions: registration in discovery, printer columns, schema validation,
//! status subresource, and deletion of the CRD with its objects.

use kluctl_e2e::apiserver::Gvr;

use crate::util::Cluster;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Phase, type: string, jsonPath: .status.phase}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1, maximum: 10}
              mode: {type: string, enum: [fast, slow], default: fast}
          status:
            type: object
            properties:
              phase: {type: string}
"#;

fn widget(name: &str, size: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n  size: {size}\n")
}

fn widgets() -> Gvr {
    Gvr::new("example.com", "v1", "widgets")
}

#[test]
fn a_crd_is_served_at_once_with_its_names_and_columns() {
    let cluster = Cluster::start();
    cluster.kubectl_stdin(&["apply", "-f", "-"], CRD).ok();
    let resources = cluster
        .kubectl(&["api-resources", "--api-group=example.com"])
        .ok()
        .stdout;
    let row: Vec<&str> = resources.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, vec!["widgets", "wd", "example.com/v1", "true", "Widget"]);
    cluster.kubectl_stdin(&["apply", "-f", "-"], &widget("small", "2")).ok();
    let stored = cluster.object(&widgets(), Some("default"), "small").expect("stored");
    assert_eq!(stored["spec"]["mode"], "fast", "schema defaults apply");
    cluster
        .kubectl(&[
            "patch",
            "wd",
            "small",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Ready"}}"#,
        ])
        .ok();
    let table = cluster.kubectl(&["get", "wd"]).ok().stdout;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, vec!["NAME", "SIZE", "PHASE"]);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, vec!["small", "2", "Ready"]);
}

#[test]
fn custom_resources_are_validated_against_the_schema() {
    let cluster = Cluster::start();
    cluster.kubectl_stdin(&["apply", "-f", "-"], CRD).ok();
    let run = cluster
        .kubectl_stdin(&["create", "-f", "-"], &widget("big", "11"))
        .fails();
    assert!(
        run.stderr
            .contains("spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"),
        "{}",
        run.stderr
    );
    let run = cluster
        .kubectl_stdin(
            &["create", "-f", "-"],
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: empty\nspec: {}\n",
        )
        .fails();
    assert!(run.stderr.contains("spec.size: Required value"), "{}", run.stderr);
    assert!(cluster.object(&widgets(), Some("default"), "big").is_none());
}

#[test]
fn deleting_the_crd_removes_its_objects_and_the_resource() {
    let cluster = Cluster::start();
    cluster.kubectl_stdin(&["apply", "-f", "-"], CRD).ok();
    cluster
        .kubectl_stdin(&["apply", "-f", "-"], &widget("doomed", "1"))
        .ok();
    cluster.kubectl(&["delete", "crd", "widgets.example.com"]).ok();
    assert!(cluster.object(&widgets(), Some("default"), "doomed").is_none());
    // kubectl still has the resource in its discovery cache, as it would with a real cluster; the
    // server no longer serves it.
    let run = cluster.kubectl(&["get", "widgets"]).fails();
    assert!(
        run.stderr.contains("the server could not find the requested resource"),
        "{}",
        run.stderr
    );
    let resources = cluster
        .kubectl(&["api-resources", "--api-group=example.com", "--cached=false"])
        .ok();
    assert!(!resources.stdout.contains("widgets"), "{}", resources.stdout);
}
