//! Hooks (`kluctl.io/hook*`, and Helm's `helm.sh/hook*`): which rendered objects are hooks, when
//! they run, in which order, and when they are deleted (Kluctl's `hooks_util.go`).
//!
//! Input: the rendered objects of one deployment item. Output: [`Hook`]s, and per phase a
//! [`HookPlan`] the cluster code executes: delete the `before-hook-creation` hooks, apply each
//! hook in weight order (waiting for readiness when `wait`), then delete the hooks whose
//! `hook-succeeded` / `hook-failed` policy matches the outcome, in reverse order. Hooks are not
//! part of the item's normal apply and never waited on with `waitReadiness`.

use super::{RuleError, parse_go_duration};
use crate::diff::rules::{annotation, parse_go_bool_strict};
use crate::objects::ObjectRef;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// When a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookType {
    /// `pre-deploy`: before the item's objects, on every deploy.
    PreDeploy,
    /// `post-deploy`: after the item's objects (and their readiness), on every deploy.
    PostDeploy,
    /// `pre-deploy-initial` (Helm `pre-install`): before, when the item is deployed the first time.
    PreDeployInitial,
    /// `post-deploy-initial` (Helm `post-install`).
    PostDeployInitial,
    /// `pre-deploy-upgrade` (Helm `pre-upgrade`): before, when the item already exists.
    PreDeployUpgrade,
    /// `post-deploy-upgrade` (Helm `post-upgrade`).
    PostDeployUpgrade,
}

impl HookType {
    /// The annotation value.
    pub fn name(self) -> &'static str {
        match self {
            HookType::PreDeploy => "pre-deploy",
            HookType::PostDeploy => "post-deploy",
            HookType::PreDeployInitial => "pre-deploy-initial",
            HookType::PostDeployInitial => "post-deploy-initial",
            HookType::PreDeployUpgrade => "pre-deploy-upgrade",
            HookType::PostDeployUpgrade => "post-deploy-upgrade",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            HookType::PreDeploy,
            HookType::PostDeploy,
            HookType::PreDeployInitial,
            HookType::PostDeployInitial,
            HookType::PreDeployUpgrade,
            HookType::PostDeployUpgrade,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    /// The Kluctl hook a Helm hook maps to; Helm's delete, rollback and test hooks have none.
    fn from_helm(name: &str) -> Option<Self> {
        match name {
            "pre-install" => Some(HookType::PreDeployInitial),
            "post-install" => Some(HookType::PostDeployInitial),
            "pre-upgrade" => Some(HookType::PreDeployUpgrade),
            "post-upgrade" => Some(HookType::PostDeployUpgrade),
            _ => None,
        }
    }
}

/// Before or after the item's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookPhase {
    /// Before applying the item's objects.
    Pre,
    /// After applying them and waiting for `waitReadiness`.
    Post,
}

/// When a hook object is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeletePolicy {
    /// Delete the previous instance before applying (the default when none is given).
    BeforeHookCreation,
    /// Delete after it became ready.
    HookSucceeded,
    /// Delete after it failed or timed out.
    HookFailed,
}

impl DeletePolicy {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "before-hook-creation" => Some(DeletePolicy::BeforeHookCreation),
            "hook-succeeded" => Some(DeletePolicy::HookSucceeded),
            "hook-failed" => Some(DeletePolicy::HookFailed),
            _ => None,
        }
    }
}

/// A rendered object that is a hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// The hook object.
    pub object_ref: ObjectRef,
    /// When it runs; empty for objects with only Helm hooks Kluctl does not run (delete,
    /// rollback, test), which are then neither run nor applied.
    pub types: BTreeSet<HookType>,
    /// `kluctl.io/hook-weight` (or `helm.sh/hook-weight`): ascending order, ties keep the
    /// render order.
    pub weight: i32,
    /// `kluctl.io/hook-delete-policy` merged with `helm.sh/hook-delete-policy`.
    pub delete_policies: BTreeSet<DeletePolicy>,
    /// `kluctl.io/hook-wait` (default true): wait for readiness after applying.
    pub wait: bool,
    /// `kluctl.io/hook-timeout`: overrides `--readiness-timeout` for this hook.
    pub timeout: Option<Duration>,
}

impl Hook {
    /// Whether the previous instance is deleted before applying (then the apply recreates it).
    pub fn replaces(&self) -> bool {
        self.delete_policies.contains(&DeletePolicy::BeforeHookCreation)
    }
}

/// The outcome of reading one object's hook annotations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedHook {
    /// The hook, when the object is one.
    pub hook: Option<Hook>,
    /// Invalid annotations (record them as errors of the object).
    pub errors: Vec<RuleError>,
    /// Things to tell the user (unsupported Helm hooks).
    pub warnings: Vec<String>,
}

fn list(object: &Value, key: &str) -> Vec<String> {
    annotation(object, key)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the hook annotations of a rendered object. Objects marked `kluctl.io/delete` are never
/// hooks. An unknown `kluctl.io/hook` value or delete policy is an error (as in Kluctl); an
/// unsupported Helm hook is a warning, and the object is then not applied at all.
pub fn parse_hook(object: &Value) -> ParsedHook {
    let mut parsed = ParsedHook::default();
    if crate::diff::rules::bool_annotation(object, "kluctl.io/delete", false) {
        return parsed;
    }
    let kluctl_hooks = list(object, "kluctl.io/hook");
    let helm_hooks = list(object, "helm.sh/hook");
    if kluctl_hooks.is_empty() && helm_hooks.is_empty() {
        return parsed;
    }
    let invalid = |key: &str, message: String| RuleError::ParseAnnotation {
        key: key.to_string(),
        message,
    };

    let mut types = BTreeSet::new();
    for name in &kluctl_hooks {
        match HookType::parse(name) {
            Some(t) => {
                types.insert(t);
            }
            None => parsed.errors.push(invalid(
                "kluctl.io/hook",
                format!(
                    "unsupported hook '{name}' (supported: pre-deploy, post-deploy, pre-deploy-initial, post-deploy-initial, pre-deploy-upgrade, post-deploy-upgrade)"
                ),
            )),
        }
    }
    for name in &helm_hooks {
        match HookType::from_helm(name) {
            Some(t) => {
                types.insert(t);
            }
            None => parsed.warnings.push(format!(
                "unsupported helm.sh/hook '{name}': kluctl only runs pre-install, post-install, pre-upgrade and post-upgrade hooks, so this object is not applied"
            )),
        }
    }

    let weight_text = annotation(object, "kluctl.io/hook-weight")
        .map(|w| ("kluctl.io/hook-weight", w))
        .or_else(|| annotation(object, "helm.sh/hook-weight").map(|w| ("helm.sh/hook-weight", w)));
    let weight = match weight_text {
        None => 0,
        Some((key, text)) => text.trim().parse::<i32>().unwrap_or_else(|_| {
            parsed.errors.push(invalid(key, format!("'{text}' is not an integer")));
            0
        }),
    };

    let mut delete_policies = BTreeSet::new();
    for key in ["kluctl.io/hook-delete-policy", "helm.sh/hook-delete-policy"] {
        for name in list(object, key) {
            match DeletePolicy::parse(&name) {
                Some(p) => {
                    delete_policies.insert(p);
                }
                None => parsed.errors.push(invalid(
                    key,
                    format!("unsupported delete policy '{name}' (supported: before-hook-creation, hook-succeeded, hook-failed)"),
                )),
            }
        }
    }
    if delete_policies.is_empty() {
        delete_policies.insert(DeletePolicy::BeforeHookCreation);
    }

    let wait = match annotation(object, "kluctl.io/hook-wait") {
        None => true,
        Some(text) => parse_go_bool_strict(text).unwrap_or_else(|| {
            parsed
                .errors
                .push(invalid("kluctl.io/hook-wait", format!("'{text}' is not a boolean")));
            true
        }),
    };
    let timeout = annotation(object, "kluctl.io/hook-timeout").and_then(|text| {
        let d = parse_go_duration(text);
        if d.is_none() {
            parsed.errors.push(invalid(
                "kluctl.io/hook-timeout",
                format!("'{text}' is not a duration such as 5m or 90s"),
            ));
        }
        d
    });

    let Some(object_ref) = ObjectRef::from_object(object) else {
        return parsed;
    };
    parsed.hook = Some(Hook {
        object_ref,
        types,
        weight,
        delete_policies,
        wait,
        timeout,
    });
    parsed
}

/// Whether an item is deployed for the first time: none of its rendered objects exists yet.
/// This picks `*-initial` or `*-upgrade` hooks.
pub fn is_initial_deploy<'a>(
    rendered: impl IntoIterator<Item = &'a ObjectRef>,
    exists: impl Fn(&ObjectRef) -> bool,
) -> bool {
    !rendered.into_iter().any(exists)
}

/// The hooks of one phase of one item, in execution order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookPlan {
    /// The hooks to apply, by ascending weight (ties keep the render order).
    pub hooks: Vec<Hook>,
}

impl HookPlan {
    /// Selects the hooks for `phase` of an initial or an upgrade deploy from an item's hooks
    /// (in render order).
    pub fn select(hooks: &[Hook], phase: HookPhase, initial: bool) -> Self {
        let wanted: [HookType; 2] = match (phase, initial) {
            (HookPhase::Pre, true) => [HookType::PreDeploy, HookType::PreDeployInitial],
            (HookPhase::Pre, false) => [HookType::PreDeploy, HookType::PreDeployUpgrade],
            (HookPhase::Post, true) => [HookType::PostDeploy, HookType::PostDeployInitial],
            (HookPhase::Post, false) => [HookType::PostDeploy, HookType::PostDeployUpgrade],
        };
        let mut selected: Vec<Hook> = hooks
            .iter()
            .filter(|h| wanted.iter().any(|t| h.types.contains(t)))
            .cloned()
            .collect();
        selected.sort_by_key(|h| h.weight);
        HookPlan { hooks: selected }
    }

    /// Step 1: the hooks to delete before applying any of them.
    pub fn delete_before(&self) -> Vec<&ObjectRef> {
        self.hooks
            .iter()
            .filter(|h| h.replaces())
            .map(|h| &h.object_ref)
            .collect()
    }

    /// Step 3: the hooks to delete after all were applied, given which became ready (`true`)
    /// or failed (`false`); hooks that were not waited on are kept. Reverse apply order.
    pub fn delete_after(&self, outcomes: &HashMap<ObjectRef, bool>) -> Vec<&ObjectRef> {
        self.hooks
            .iter()
            .rev()
            .filter(|h| match outcomes.get(&h.object_ref) {
                Some(true) => h.delete_policies.contains(&DeletePolicy::HookSucceeded),
                Some(false) => h.delete_policies.contains(&DeletePolicy::HookFailed),
                None => false,
            })
            .map(|h| &h.object_ref)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(name: &str, annotations: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "prod", "annotations": annotations}})
    }

    fn hook(name: &str, annotations: Value) -> Hook {
        let parsed = parse_hook(&job(name, annotations));
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        parsed.hook.unwrap()
    }

    #[test]
    fn plain_objects_and_delete_marked_objects_are_not_hooks() {
        assert_eq!(parse_hook(&job("a", json!({}))).hook, None);
        assert_eq!(
            parse_hook(&job(
                "a",
                json!({"kluctl.io/hook": "pre-deploy", "kluctl.io/delete": "true"})
            ))
            .hook,
            None
        );
    }

    #[test]
    fn reads_kluctl_annotations_with_defaults() {
        let h = hook("migrate", json!({"kluctl.io/hook": "pre-deploy, post-deploy-initial"}));
        assert_eq!(
            h.types,
            BTreeSet::from([HookType::PreDeploy, HookType::PostDeployInitial])
        );
        assert_eq!((h.weight, h.wait, h.timeout), (0, true, None));
        assert_eq!(h.delete_policies, BTreeSet::from([DeletePolicy::BeforeHookCreation]));
        let h = hook(
            "m",
            json!({"kluctl.io/hook": "post-deploy", "kluctl.io/hook-weight": "-5", "kluctl.io/hook-wait": "false",
            "kluctl.io/hook-timeout": "10m", "kluctl.io/hook-delete-policy": "hook-succeeded,hook-failed"}),
        );
        assert_eq!(
            (h.weight, h.wait, h.timeout),
            (-5, false, Some(Duration::from_secs(600)))
        );
        assert!(!h.replaces());
    }

    #[test]
    fn maps_helm_hooks_and_warns_about_unsupported_ones() {
        let h = hook(
            "h",
            json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "3",
            "helm.sh/hook-delete-policy": "hook-succeeded"}),
        );
        assert_eq!(
            h.types,
            BTreeSet::from([HookType::PreDeployInitial, HookType::PreDeployUpgrade])
        );
        assert_eq!(h.weight, 3);
        assert_eq!(h.delete_policies, BTreeSet::from([DeletePolicy::HookSucceeded]));
        // kluctl.io/hook-weight wins over Helm's.
        assert_eq!(
            hook(
                "h",
                json!({"helm.sh/hook": "post-install", "helm.sh/hook-weight": "3", "kluctl.io/hook-weight": "1"})
            )
            .weight,
            1
        );
        let test = parse_hook(&job("t", json!({"helm.sh/hook": "test"})));
        assert_eq!(test.warnings.len(), 1);
        let t = test.hook.unwrap();
        assert!(
            t.types.is_empty(),
            "a test hook is a hook that never runs (and is not applied)"
        );
        assert!(
            HookPlan::select(std::slice::from_ref(&t), HookPhase::Pre, true)
                .hooks
                .is_empty()
        );
    }

    #[test]
    fn invalid_values_are_errors_naming_the_annotation() {
        let parsed = parse_hook(&job(
            "x",
            json!({"kluctl.io/hook": "pre-delete", "kluctl.io/hook-weight": "heavy",
            "kluctl.io/hook-delete-policy": "never", "kluctl.io/hook-wait": "maybe", "kluctl.io/hook-timeout": "soon"}),
        ));
        let messages: Vec<String> = parsed.errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert!(messages[0].starts_with("failed to parse annotation kluctl.io/hook: unsupported hook 'pre-delete'"));
        assert!(
            messages
                .iter()
                .any(|m| m.contains("hook-weight: 'heavy' is not an integer"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("hook-timeout: 'soon' is not a duration"))
        );
        // Still a hook (so it is not applied as a normal object), just one that never runs.
        assert!(parsed.hook.is_some());
    }

    #[test]
    fn plans_select_by_phase_and_deploy_kind_in_weight_order() {
        let hooks = vec![
            hook(
                "a",
                json!({"kluctl.io/hook": "pre-deploy", "kluctl.io/hook-weight": "2"}),
            ),
            hook("b", json!({"kluctl.io/hook": "pre-deploy-initial"})),
            hook(
                "c",
                json!({"kluctl.io/hook": "pre-deploy-upgrade", "kluctl.io/hook-weight": "-1"}),
            ),
            hook("d", json!({"kluctl.io/hook": "post-deploy"})),
            hook(
                "e",
                json!({"kluctl.io/hook": "pre-deploy", "kluctl.io/hook-weight": "2"}),
            ),
        ];
        let names = |p: HookPlan| p.hooks.into_iter().map(|h| h.object_ref.name).collect::<Vec<_>>();
        assert_eq!(
            names(HookPlan::select(&hooks, HookPhase::Pre, true)),
            vec!["b", "a", "e"]
        );
        assert_eq!(
            names(HookPlan::select(&hooks, HookPhase::Pre, false)),
            vec!["c", "a", "e"]
        );
        assert_eq!(names(HookPlan::select(&hooks, HookPhase::Post, false)), vec!["d"]);
    }

    #[test]
    fn delete_policies_drive_deletion_before_and_after() {
        let hooks = vec![
            hook(
                "keep-on-fail",
                json!({"kluctl.io/hook": "pre-deploy", "kluctl.io/hook-delete-policy": "hook-succeeded"}),
            ),
            hook("default", json!({"kluctl.io/hook": "pre-deploy"})),
            hook(
                "clean",
                json!({"kluctl.io/hook": "pre-deploy", "kluctl.io/hook-delete-policy": "hook-succeeded,hook-failed,before-hook-creation"}),
            ),
            hook(
                "nowait",
                json!({"kluctl.io/hook": "pre-deploy", "kluctl.io/hook-delete-policy": "hook-succeeded"}),
            ),
        ];
        let plan = HookPlan::select(&hooks, HookPhase::Pre, false);
        let names = |refs: Vec<&ObjectRef>| refs.into_iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(plan.delete_before()), vec!["default", "clean"]);
        let outcomes = HashMap::from([
            (hooks[0].object_ref.clone(), false),
            (hooks[1].object_ref.clone(), true),
            (hooks[2].object_ref.clone(), false),
        ]);
        assert_eq!(names(plan.delete_after(&outcomes)), vec!["clean"]);
        let all_ok: HashMap<ObjectRef, bool> = hooks.iter().map(|h| (h.object_ref.clone(), true)).collect();
        assert_eq!(
            names(plan.delete_after(&all_ok)),
            vec!["nowait", "clean", "keep-on-fail"]
        );
    }

    #[test]
    fn initial_deploy_means_nothing_exists_yet() {
        let refs: Vec<ObjectRef> = ["a", "b"]
            .iter()
            .map(|n| ObjectRef::from_object(&job(n, json!({}))).unwrap())
            .collect();
        assert!(is_initial_deploy(&refs, |_| false));
        assert!(!is_initial_deploy(&refs, |r| r.name == "b"));
    }
}
