//! The built-in resources a deployment tool meets, with the names, short names, categories, scopes,
//! verbs and subresources kube-apiserver 1.33 serves for them, in its discovery order.

use k8s_openapi::api::{
    admissionregistration::v1 as admission, apps::v1 as apps, authentication::v1 as authn, authorization::v1 as authz,
    autoscaling::v2 as autoscaling, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
    networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as scheduling,
    storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use schemars::{JsonSchema, Schema, SchemaGenerator};

use super::{Propagation, ResourceInfo, ScaleInfo, VersionInfo};

/// The OpenAPI definition of a built-in kind, generated from k8s-openapi's schemars support.
#[derive(Clone, Copy)]
pub struct BuiltinDefinition {
    /// Definition name (`io.k8s.api.apps.v1.Deployment`).
    pub name: &'static str,
    /// Adds the definition (and everything it references) to a generator, returning a `$ref` to it.
    pub generate: fn(&mut SchemaGenerator) -> Schema,
}

impl std::fmt::Debug for BuiltinDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

fn definition<T: JsonSchema>() -> BuiltinDefinition {
    fn generate<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }
    BuiltinDefinition {
        name: leak_name(T::schema_name().into_owned()),
        generate: generate::<T>,
    }
}

/// Definition names are a fixed set computed once per process; leaking them keeps `ResourceInfo` cheap to clone.
fn leak_name(name: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .expect("name table lock poisoned");
    if let Some(existing) = names.get(name.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const NAMESPACE_VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
const CREATE_ONLY: &[&str] = &["create"];

struct Spec {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    categories: &'static [&'static str],
    namespaced: bool,
    verbs: &'static [&'static str],
    status: bool,
    scale: bool,
    generation: bool,
    propagation: Propagation,
    definition: BuiltinDefinition,
}

impl Spec {
    fn new(group: &'static str, kind: &'static str, plural: &'static str, definition: BuiltinDefinition) -> Self {
        Spec {
            group,
            version: "v1",
            kind,
            plural,
            short: &[],
            categories: &[],
            namespaced: true,
            verbs: ALL_VERBS,
            status: false,
            scale: false,
            generation: false,
            propagation: Propagation::Background,
            definition,
        }
    }
    fn version(mut self, version: &'static str) -> Self {
        self.version = version;
        self
    }
    fn short(mut self, short: &'static [&'static str]) -> Self {
        self.short = short;
        self
    }
    fn all(mut self) -> Self {
        self.categories = &["all"];
        self
    }
    fn cluster(mut self) -> Self {
        self.namespaced = false;
        self
    }
    fn verbs(mut self, verbs: &'static [&'static str]) -> Self {
        self.verbs = verbs;
        self
    }
    fn status(mut self) -> Self {
        self.status = true;
        self
    }
    fn scale(mut self) -> Self {
        self.scale = true;
        self
    }
    fn generation(mut self) -> Self {
        self.generation = true;
        self
    }
    fn propagation(mut self, propagation: Propagation) -> Self {
        self.propagation = propagation;
        self
    }

    fn build(self) -> ResourceInfo {
        let singular = self.kind.to_lowercase();
        ResourceInfo {
            group: self.group.to_string(),
            versions: vec![VersionInfo {
                name: self.version.to_string(),
                status: self.status,
                scale: self.scale.then(|| ScaleInfo {
                    spec_replicas_path: ".spec.replicas".into(),
                    status_replicas_path: ".status.replicas".into(),
                    label_selector_path: Some(".status.selector".into()),
                }),
                schema: None,
                columns: Vec::new(),
                deprecation_warning: None,
                type_schema: None,
            }],
            storage_version: self.version.to_string(),
            kind: self.kind.to_string(),
            list_kind: format!("{}List", self.kind),
            plural: self.plural.to_string(),
            singular,
            short_names: self.short.iter().map(|s| s.to_string()).collect(),
            categories: self.categories.iter().map(|s| s.to_string()).collect(),
            namespaced: self.namespaced,
            verbs: self.verbs.to_vec(),
            generation: self.generation,
            default_propagation: self.propagation,
            definition: Some(self.definition),
            crd_name: None,
        }
    }
}

/// Every built-in resource, in kube-apiserver's group order (core, apps, authentication, authorization,
/// autoscaling, batch, networking, policy, rbac, storage, admissionregistration, apiextensions,
/// scheduling, coordination).
pub fn builtin_resources() -> Vec<ResourceInfo> {
    let rbac = "rbac.authorization.k8s.io";
    let specs = vec![
        // core/v1
        Spec::new("", "ConfigMap", "configmaps", definition::<core::ConfigMap>()).short(&["cm"]),
        Spec::new("", "Endpoints", "endpoints", definition::<core::Endpoints>()).short(&["ep"]),
        Spec::new("", "Event", "events", definition::<core::Event>()).short(&["ev"]),
        Spec::new("", "LimitRange", "limitranges", definition::<core::LimitRange>()).short(&["limits"]),
        Spec::new("", "Namespace", "namespaces", definition::<core::Namespace>())
            .short(&["ns"])
            .cluster()
            .verbs(NAMESPACE_VERBS)
            .status(),
        Spec::new("", "Node", "nodes", definition::<core::Node>())
            .short(&["no"])
            .cluster()
            .status(),
        Spec::new(
            "",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            definition::<core::PersistentVolumeClaim>(),
        )
        .short(&["pvc"])
        .status(),
        Spec::new(
            "",
            "PersistentVolume",
            "persistentvolumes",
            definition::<core::PersistentVolume>(),
        )
        .short(&["pv"])
        .cluster()
        .status(),
        Spec::new("", "Pod", "pods", definition::<core::Pod>())
            .short(&["po"])
            .all()
            .status(),
        Spec::new(
            "",
            "ReplicationController",
            "replicationcontrollers",
            definition::<core::ReplicationController>(),
        )
        .short(&["rc"])
        .all()
        .status()
        .scale()
        .generation(),
        Spec::new(
            "",
            "ResourceQuota",
            "resourcequotas",
            definition::<core::ResourceQuota>(),
        )
        .short(&["quota"])
        .status(),
        Spec::new("", "Secret", "secrets", definition::<core::Secret>()),
        Spec::new(
            "",
            "ServiceAccount",
            "serviceaccounts",
            definition::<core::ServiceAccount>(),
        )
        .short(&["sa"]),
        Spec::new("", "Service", "services", definition::<core::Service>())
            .short(&["svc"])
            .all()
            .verbs(&[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ])
            .status(),
        // apps/v1
        Spec::new(
            "apps",
            "ControllerRevision",
            "controllerrevisions",
            definition::<apps::ControllerRevision>(),
        ),
        Spec::new("apps", "DaemonSet", "daemonsets", definition::<apps::DaemonSet>())
            .short(&["ds"])
            .all()
            .status()
            .generation(),
        Spec::new("apps", "Deployment", "deployments", definition::<apps::Deployment>())
            .short(&["deploy"])
            .all()
            .status()
            .scale()
            .generation(),
        Spec::new("apps", "ReplicaSet", "replicasets", definition::<apps::ReplicaSet>())
            .short(&["rs"])
            .all()
            .status()
            .scale()
            .generation(),
        Spec::new("apps", "StatefulSet", "statefulsets", definition::<apps::StatefulSet>())
            .short(&["sts"])
            .all()
            .status()
            .scale()
            .generation(),
        // authentication.k8s.io/v1
        Spec::new(
            "authentication.k8s.io",
            "SelfSubjectReview",
            "selfsubjectreviews",
            definition::<authn::SelfSubjectReview>(),
        )
        .cluster()
        .verbs(CREATE_ONLY),
        Spec::new(
            "authentication.k8s.io",
            "TokenReview",
            "tokenreviews",
            definition::<authn::TokenReview>(),
        )
        .cluster()
        .verbs(CREATE_ONLY),
        // authorization.k8s.io/v1
        Spec::new(
            "authorization.k8s.io",
            "LocalSubjectAccessReview",
            "localsubjectaccessreviews",
            definition::<authz::LocalSubjectAccessReview>(),
        )
        .verbs(CREATE_ONLY),
        Spec::new(
            "authorization.k8s.io",
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            definition::<authz::SelfSubjectAccessReview>(),
        )
        .cluster()
        .verbs(CREATE_ONLY),
        Spec::new(
            "authorization.k8s.io",
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            definition::<authz::SelfSubjectRulesReview>(),
        )
        .cluster()
        .verbs(CREATE_ONLY),
        Spec::new(
            "authorization.k8s.io",
            "SubjectAccessReview",
            "subjectaccessreviews",
            definition::<authz::SubjectAccessReview>(),
        )
        .cluster()
        .verbs(CREATE_ONLY),
        // autoscaling/v2
        Spec::new(
            "autoscaling",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            definition::<autoscaling::HorizontalPodAutoscaler>(),
        )
        .version("v2")
        .short(&["hpa"])
        .all()
        .status()
        .generation(),
        // batch/v1
        Spec::new("batch", "CronJob", "cronjobs", definition::<batch::CronJob>())
            .short(&["cj"])
            .all()
            .status()
            .generation(),
        Spec::new("batch", "Job", "jobs", definition::<batch::Job>())
            .all()
            .status()
            .generation()
            .propagation(Propagation::Orphan),
        // networking.k8s.io/v1
        Spec::new(
            "networking.k8s.io",
            "IngressClass",
            "ingressclasses",
            definition::<networking::IngressClass>(),
        )
        .cluster(),
        Spec::new(
            "networking.k8s.io",
            "Ingress",
            "ingresses",
            definition::<networking::Ingress>(),
        )
        .short(&["ing"])
        .status()
        .generation(),
        Spec::new(
            "networking.k8s.io",
            "NetworkPolicy",
            "networkpolicies",
            definition::<networking::NetworkPolicy>(),
        )
        .short(&["netpol"])
        .generation(),
        // policy/v1
        Spec::new(
            "policy",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            definition::<policy::PodDisruptionBudget>(),
        )
        .short(&["pdb"])
        .status()
        .generation(),
        // rbac.authorization.k8s.io/v1
        Spec::new(
            rbac,
            "ClusterRoleBinding",
            "clusterrolebindings",
            definition::<rbac::ClusterRoleBinding>(),
        )
        .cluster(),
        Spec::new(rbac, "ClusterRole", "clusterroles", definition::<rbac::ClusterRole>()).cluster(),
        Spec::new(rbac, "RoleBinding", "rolebindings", definition::<rbac::RoleBinding>()),
        Spec::new(rbac, "Role", "roles", definition::<rbac::Role>()),
        // storage.k8s.io/v1
        Spec::new(
            "storage.k8s.io",
            "StorageClass",
            "storageclasses",
            definition::<storage::StorageClass>(),
        )
        .short(&["sc"])
        .cluster(),
        // admissionregistration.k8s.io/v1
        Spec::new(
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            definition::<admission::MutatingWebhookConfiguration>(),
        )
        .cluster()
        .generation(),
        Spec::new(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            definition::<admission::ValidatingWebhookConfiguration>(),
        )
        .cluster()
        .generation(),
        // apiextensions.k8s.io/v1
        Spec::new(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            definition::<apiext::CustomResourceDefinition>(),
        )
        .short(&["crd", "crds"])
        .cluster()
        .status()
        .generation(),
        // scheduling.k8s.io/v1
        Spec::new(
            "scheduling.k8s.io",
            "PriorityClass",
            "priorityclasses",
            definition::<scheduling::PriorityClass>(),
        )
        .short(&["pc"])
        .cluster(),
        // coordination.k8s.io/v1
        Spec::new(
            "coordination.k8s.io",
            "Lease",
            "leases",
            definition::<coordination::Lease>(),
        ),
    ];
    specs
        .into_iter()
        .map(|spec| {
            let crd = spec.kind == "CustomResourceDefinition";
            let mut info = spec.build();
            if crd {
                info.categories = vec!["api-extensions".into()];
            }
            info
        })
        .collect()
}
