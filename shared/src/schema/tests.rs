use super::*;
use serde_json::json;

fn path<'a>(schema: &'a TypeSchema, fields: &[&str]) -> SchemaNode<'a> {
    let mut node = schema.root();
    for field in fields {
        node = match *field {
            "[]" => node
                .items()
                .unwrap_or_else(|| panic!("no items at {field} in {fields:?}")),
            name => node
                .field(name)
                .unwrap_or_else(|| panic!("no field {name} in {fields:?}")),
        };
    }
    node
}

fn keys<'a>(node: SchemaNode<'a>) -> Vec<&'a str> {
    match node.list_type() {
        ListType::Map(keys) => keys.iter().map(String::as_str).collect(),
        other => panic!("expected a list-map, got {other:?}"),
    }
}

const POD_SPEC: &[&str] = &["spec", "template", "spec"];

#[test]
fn every_kind_a_deployment_tool_meets_is_built_in() {
    let wanted = [
        ("", "v1", "Pod"),
        ("", "v1", "PodTemplate"),
        ("", "v1", "Service"),
        ("", "v1", "ConfigMap"),
        ("", "v1", "Secret"),
        ("", "v1", "ServiceAccount"),
        ("", "v1", "Namespace"),
        ("", "v1", "PersistentVolumeClaim"),
        ("", "v1", "PersistentVolume"),
        ("", "v1", "Endpoints"),
        ("", "v1", "Event"),
        ("", "v1", "LimitRange"),
        ("", "v1", "ResourceQuota"),
        ("", "v1", "ReplicationController"),
        ("apps", "v1", "Deployment"),
        ("apps", "v1", "StatefulSet"),
        ("apps", "v1", "DaemonSet"),
        ("apps", "v1", "ReplicaSet"),
        ("apps", "v1", "ControllerRevision"),
        ("batch", "v1", "Job"),
        ("batch", "v1", "CronJob"),
        ("rbac.authorization.k8s.io", "v1", "Role"),
        ("rbac.authorization.k8s.io", "v1", "RoleBinding"),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
        ("networking.k8s.io", "v1", "Ingress"),
        ("networking.k8s.io", "v1", "IngressClass"),
        ("networking.k8s.io", "v1", "NetworkPolicy"),
        ("policy", "v1", "PodDisruptionBudget"),
        ("autoscaling", "v1", "HorizontalPodAutoscaler"),
        ("autoscaling", "v2", "HorizontalPodAutoscaler"),
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        ("coordination.k8s.io", "v1", "Lease"),
        ("storage.k8s.io", "v1", "StorageClass"),
        ("storage.k8s.io", "v1", "CSIDriver"),
        ("storage.k8s.io", "v1", "VolumeAttachment"),
        ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration"),
        ("scheduling.k8s.io", "v1", "PriorityClass"),
        ("discovery.k8s.io", "v1", "EndpointSlice"),
    ];
    for (group, version, kind) in wanted {
        let schema = builtin(group, version, kind).unwrap_or_else(|| panic!("{group}/{version} {kind} missing"));
        assert!(schema.field("metadata").is_some(), "{kind} has metadata");
        assert!(schema.field("apiVersion").is_some(), "{kind} has apiVersion");
    }
    let deployments = builtin_kinds().find(|k| k.kind == "Deployment").unwrap();
    assert_eq!(
        (deployments.plural.as_str(), deployments.namespaced),
        ("deployments", true)
    );
    let namespaces = builtin_kinds().find(|k| k.kind == "Namespace").unwrap();
    assert!(!namespaces.namespaced);
    assert!(builtin("example.com", "v1", "Widget").is_none());
}

#[test]
fn containers_merge_by_name_and_ports_by_port_and_protocol() {
    let deployment = builtin("apps", "v1", "Deployment").unwrap();
    let containers = path(deployment, &[POD_SPEC, &["containers"]].concat());
    assert_eq!(containers.kind(), SchemaKind::List);
    assert_eq!(containers.patch_merge_key(), Some("name"));
    assert!(containers.patch_strategy().merge);
    assert_eq!(keys(containers), ["name"]);

    let ports = path(deployment, &[POD_SPEC, &["containers", "[]", "ports"]].concat());
    assert_eq!(keys(ports), ["containerPort", "protocol"]);
    assert_eq!(ports.patch_merge_key(), Some("containerPort"));
    let protocol = ports.items().unwrap().field("protocol").unwrap();
    assert_eq!(protocol.default_value(), Some(&json!("TCP")));

    let mounts = path(deployment, &[POD_SPEC, &["containers", "[]", "volumeMounts"]].concat());
    assert_eq!(mounts.patch_merge_key(), Some("mountPath"));
    let env = path(deployment, &[POD_SPEC, &["initContainers", "[]", "env"]].concat());
    assert_eq!(env.patch_merge_key(), Some("name"));
    let args = path(deployment, &[POD_SPEC, &["containers", "[]", "args"]].concat());
    assert_eq!(args.list_type(), ListType::Atomic);
    assert_eq!(args.patch_strategy(), PatchStrategy::default());
}

#[test]
fn pod_spec_lists_carry_kubernetes_patch_strategies() {
    let pod = builtin("", "v1", "Pod").unwrap();
    let volumes = path(pod, &["spec", "volumes"]);
    assert_eq!(
        volumes.patch_strategy(),
        PatchStrategy {
            merge: true,
            retain_keys: true,
            replace: false
        }
    );
    assert_eq!(volumes.patch_merge_key(), Some("name"));
    let tolerations = path(pod, &["spec", "tolerations"]);
    assert_eq!(tolerations.list_type(), ListType::Atomic);
    assert_eq!(tolerations.patch_merge_key(), None);
    let pull_secrets = path(pod, &["spec", "imagePullSecrets"]);
    assert_eq!(pull_secrets.patch_merge_key(), Some("name"));
    assert_eq!(pull_secrets.items().unwrap().map_type(), MapType::Atomic);
    let spread = path(pod, &["spec", "topologySpreadConstraints"]);
    assert_eq!(keys(spread), ["topologyKey", "whenUnsatisfiable"]);
    let gates = path(pod, &["spec", "schedulingGates"]);
    assert_eq!(gates.patch_merge_key(), Some("name"));
    let node_selector = path(pod, &["spec", "nodeSelector"]);
    assert_eq!(node_selector.kind(), SchemaKind::Map);
    assert_eq!(node_selector.map_type(), MapType::Atomic);
}

#[test]
fn object_meta_and_selectors_merge_as_on_a_server() {
    let deployment = builtin("apps", "v1", "Deployment").unwrap();
    let finalizers = path(deployment, &["metadata", "finalizers"]);
    assert_eq!(finalizers.list_type(), ListType::Set);
    assert!(finalizers.patch_strategy().merge);
    let owners = path(deployment, &["metadata", "ownerReferences"]);
    assert_eq!(keys(owners), ["uid"]);
    let labels = path(deployment, &["metadata", "labels"]);
    assert_eq!(labels.kind(), SchemaKind::Map);
    assert_eq!(labels.map_type(), MapType::Granular);
    assert_eq!(
        labels.field("app.kubernetes.io/name").unwrap().kind(),
        SchemaKind::Scalar
    );
    let managed = path(deployment, &["metadata", "managedFields"]);
    assert_eq!(managed.list_type(), ListType::Atomic);

    let selector = path(deployment, &["spec", "selector"]);
    assert_eq!(selector.map_type(), MapType::Atomic);
    let strategy = path(deployment, &["spec", "strategy"]);
    assert!(strategy.patch_strategy().retain_keys);
    assert_eq!(strategy.type_name(), Some("io.k8s.api.apps.v1.DeploymentStrategy"));
    assert!(strategy.field("rollingUpdate").is_some());
    let pdb_selector = path(
        builtin("policy", "v1", "PodDisruptionBudget").unwrap(),
        &["spec", "selector"],
    );
    assert!(pdb_selector.patch_strategy().replace);
    let job_conditions = path(builtin("batch", "v1", "Job").unwrap(), &["status", "conditions"]);
    assert_eq!(job_conditions.list_type(), ListType::Atomic);
    assert_eq!(job_conditions.patch_merge_key(), Some("type"));
    let claims = path(
        builtin("apps", "v1", "StatefulSet").unwrap(),
        &["spec", "volumeClaimTemplates"],
    );
    assert_eq!(claims.list_type(), ListType::Atomic);
}

#[test]
fn scalars_maps_and_unknown_fields() {
    let service = builtin("", "v1", "Service").unwrap();
    let target_port = path(service, &["spec", "ports", "[]", "targetPort"]);
    assert!(target_port.is_int_or_string());
    assert_eq!(keys(path(service, &["spec", "ports"])), ["port", "protocol"]);
    assert_eq!(path(service, &["spec", "selector"]).map_type(), MapType::Atomic);
    let config_map = builtin("", "v1", "ConfigMap").unwrap();
    assert_eq!(path(config_map, &["data"]).kind(), SchemaKind::Map);
    let spec = path(service, &["spec"]);
    assert!(spec.field("noSuchField").is_none());
    assert!(spec.field_or_untyped("noSuchField").is_untyped());
    let untyped = SchemaNode::untyped();
    assert!(untyped.field("a").unwrap().is_untyped());
    assert_eq!(untyped.items().unwrap().list_type(), ListType::Atomic);
    let revision = builtin("apps", "v1", "ControllerRevision").unwrap();
    assert!(path(revision, &["data"]).field("anything").unwrap().is_untyped());
    let resources = path(
        builtin("", "v1", "Pod").unwrap(),
        &["spec", "containers", "[]", "resources", "limits"],
    );
    assert!(resources.field("cpu").unwrap().is_int_or_string());
}

#[test]
fn builtin_for_reads_api_version_and_kind() {
    let object =
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"}});
    let schema = builtin_for(&object).unwrap();
    assert_eq!(schema.name(), Some("io.k8s.api.rbac.v1.ClusterRole"));
    assert!(builtin_for(&json!({"apiVersion": "v1", "kind": "Nope"})).is_none());
    assert!(builtin_for(&json!({"kind": "Pod"})).is_none());
    let document = builtin_openapi_document();
    assert!(document.pointer("/components/schemas/io.k8s.api.core.v1.Pod").is_some());
}

fn widget_crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer"},
                    "ports": {"type": "array", "x-kubernetes-list-type": "map",
                              "x-kubernetes-list-map-keys": ["port", "protocol"],
                              "items": {"type": "object", "properties": {
                                  "port": {"type": "integer"},
                                  "protocol": {"type": "string", "default": "TCP"}}}},
                    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                    "hosts": {"type": "array", "items": {"type": "string"}},
                    "legacy": {"type": "array", "x-kubernetes-patch-strategy": "merge",
                               "x-kubernetes-patch-merge-key": "name",
                               "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                    "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                                 "additionalProperties": {"type": "string"}},
                    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "size": {"x-kubernetes-int-or-string": true,
                             "anyOf": [{"type": "integer"}, {"type": "string"}]}
                }},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                           "properties": {"phase": {"type": "string"}}}
            }
        }}}]}
    })
}

#[test]
fn custom_resources_follow_their_crd_schema() {
    let schema = TypeSchema::from_crd(&widget_crd(), "v1").unwrap();
    let ports = path(&schema, &["spec", "ports"]);
    assert_eq!(keys(ports), ["port", "protocol"]);
    assert_eq!(
        ports.items().unwrap().field("protocol").unwrap().default_value(),
        Some(&json!("TCP"))
    );
    assert_eq!(path(&schema, &["spec", "tags"]).list_type(), ListType::Set);
    assert_eq!(path(&schema, &["spec", "hosts"]).list_type(), ListType::Atomic);
    // No list type but a merge strategy: structured-merge-diff keys it by the merge key.
    assert_eq!(keys(path(&schema, &["spec", "legacy"])), ["name"]);
    assert_eq!(path(&schema, &["spec", "selector"]).map_type(), MapType::Atomic);
    assert!(path(&schema, &["spec", "config"]).field("deep").unwrap().is_untyped());
    assert!(path(&schema, &["spec", "size"]).is_int_or_string());
    assert!(path(&schema, &["status"]).field("whatever").unwrap().is_untyped());
    assert_eq!(path(&schema, &["status", "phase"]).kind(), SchemaKind::Scalar);
    assert!(path(&schema, &["spec"]).field("unknown").is_none());
    // metadata is the built-in ObjectMeta, whatever the CRD says.
    assert_eq!(path(&schema, &["metadata", "finalizers"]).list_type(), ListType::Set);
    assert_eq!(keys(path(&schema, &["metadata", "ownerReferences"])), ["uid"]);
    assert_eq!(path(&schema, &["kind"]).kind(), SchemaKind::Scalar);
}

#[test]
fn crds_without_a_schema_are_untyped_but_keep_object_metadata() {
    let crd = json!({"metadata": {"name": "things.example.com"}, "spec": {"versions": [{"name": "v1"}]}});
    let schema = TypeSchema::from_crd(&crd, "v1").unwrap();
    assert!(path(&schema, &["spec"]).is_untyped());
    assert_eq!(path(&schema, &["metadata", "finalizers"]).list_type(), ListType::Set);
    let err = TypeSchema::from_crd(&crd, "v2").unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to find the schema of version \"v2\" in CustomResourceDefinition things.example.com"
    );
}

#[test]
fn malformed_schemas_are_reported_with_their_path() {
    let bad_list = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}}}}}});
    let err = TypeSchema::from_openapi_v3(&bad_list).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to read x-kubernetes-list-type at #/properties/spec/properties/items: \
         expected \"atomic\", \"set\" or \"map\", got \"bag\""
    );
    let no_keys = json!({"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}});
    assert!(matches!(
        TypeSchema::from_openapi_v3(&no_keys),
        Err(SchemaError::ReadExtension { .. })
    ));
    let bad_strategy = json!({"type": "array", "x-kubernetes-patch-strategy": "merge,sort"});
    assert!(
        TypeSchema::from_openapi_v3(&bad_strategy)
            .unwrap_err()
            .to_string()
            .contains("\"sort\"")
    );
    let dangling = json!({"components": {"schemas": {"A": {"type": "object", "properties": {
        "b": {"$ref": "#/components/schemas/B"}}}}}});
    let err = SchemaSet::from_openapi_document(&dangling).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to resolve schema reference \"#/components/schemas/B\" at #/components/schemas/A/properties/b"
    );
}

#[test]
fn openapi_documents_resolve_references_including_recursive_ones() {
    let doc = json!({"definitions": {
        "Node": {"type": "object", "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/definitions/Node"},
                         "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
            "parent": {"allOf": [{"$ref": "#/definitions/Node"}], "x-kubernetes-patch-strategy": "retainKeys"}
        }, "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Node"}]}
    }});
    let set = SchemaSet::from_openapi_document(&doc).unwrap();
    let node = set.for_kind("example.com", "v1", "Node").unwrap();
    let grandchild = path(&node, &["children", "[]", "children", "[]", "name"]);
    assert_eq!(grandchild.kind(), SchemaKind::Scalar);
    let parent = path(&node, &["parent"]);
    assert!(parent.patch_strategy().retain_keys);
    assert!(!path(&node, &["children", "[]"]).patch_strategy().retain_keys);
    assert_eq!(keys(path(&node, &["parent", "children"])), ["name"]);
    assert!(set.get("Node").is_some());
    assert!(set.for_kind("example.com", "v2", "Node").is_none());
}
