//! Hooks: `kluctl.io/hook*` annotations, and Helm's `helm.sh/hook*` mapped to them as Kluctl maps
//! them (`pkg/deployment/utils/hooks_util.go`).
//!
//! Input: one object; output: a [`HookParse`] with the object's [`HookSpec`] (or none when it is
//! not a hook) plus the errors and warnings Kluctl records for it. The deploy stage uses this to
//! split hooks from normal objects; Helm's output keeps its own annotations, so this mapping is the
//! only place Helm hooks become Kluctl hooks.

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// A Kluctl hook stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KluctlHook {
    /// Before applying, on every deploy.
    PreDeploy,
    /// After applying, on every deploy.
    PostDeploy,
    /// Before applying, only when none of the item's objects exist yet.
    PreDeployInitial,
    /// After applying, only on the initial deploy.
    PostDeployInitial,
    /// Before applying, only when some objects already exist.
    PreDeployUpgrade,
    /// After applying, only on upgrades.
    PostDeployUpgrade,
}

impl KluctlHook {
    /// Parses a `kluctl.io/hook` entry.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "pre-deploy" => KluctlHook::PreDeploy,
            "post-deploy" => KluctlHook::PostDeploy,
            "pre-deploy-initial" => KluctlHook::PreDeployInitial,
            "post-deploy-initial" => KluctlHook::PostDeployInitial,
            "pre-deploy-upgrade" => KluctlHook::PreDeployUpgrade,
            "post-deploy-upgrade" => KluctlHook::PostDeployUpgrade,
            _ => return None,
        })
    }

    /// The annotation spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KluctlHook::PreDeploy => "pre-deploy",
            KluctlHook::PostDeploy => "post-deploy",
            KluctlHook::PreDeployInitial => "pre-deploy-initial",
            KluctlHook::PostDeployInitial => "post-deploy-initial",
            KluctlHook::PreDeployUpgrade => "pre-deploy-upgrade",
            KluctlHook::PostDeployUpgrade => "post-deploy-upgrade",
        }
    }

    /// Kluctl's Helm compatibility: the Kluctl hook a Helm hook event runs as. Delete, rollback
    /// and test events have no Kluctl equivalent (`None`).
    pub fn from_helm(event: &str) -> Option<Self> {
        Some(match event {
            "pre-install" => KluctlHook::PreDeployInitial,
            "post-install" => KluctlHook::PostDeployInitial,
            "pre-upgrade" => KluctlHook::PreDeployUpgrade,
            "post-upgrade" => KluctlHook::PostDeployUpgrade,
            _ => return None,
        })
    }
}

/// When a hook object is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeletePolicy {
    /// Delete the previous instance before applying (the default).
    BeforeHookCreation,
    /// Delete after it became ready.
    HookSucceeded,
    /// Delete after it failed to become ready.
    HookFailed,
}

impl DeletePolicy {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "before-hook-creation" => DeletePolicy::BeforeHookCreation,
            "hook-succeeded" => DeletePolicy::HookSucceeded,
            "hook-failed" => DeletePolicy::HookFailed,
            _ => return None,
        })
    }
}

/// How an object takes part in deploys as a hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookSpec {
    /// The stages it runs in (never empty).
    pub hooks: BTreeSet<KluctlHook>,
    /// Ordering weight, ascending (stable among equal weights).
    pub weight: i32,
    /// When it is deleted.
    pub delete_policies: BTreeSet<DeletePolicy>,
    /// Whether to wait for readiness after applying it.
    pub wait: bool,
    /// Overrides the readiness timeout.
    pub timeout: Option<Duration>,
}

/// The outcome of reading an object's hook annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookParse {
    /// The hook, or `None` when the object is not a hook for any supported stage.
    pub spec: Option<HookSpec>,
    /// Problems Kluctl treats as errors on the object (unknown `kluctl.io/hook`, bad weight, ...).
    pub errors: Vec<String>,
    /// Problems Kluctl only warns about (unsupported Helm hook events).
    pub warnings: Vec<String>,
}

impl HookSpec {
    /// Reads `kluctl.io/hook`, `helm.sh/hook` and their weight, delete-policy, wait and timeout
    /// annotations. Objects marked `kluctl.io/delete: "true"` are never hooks.
    pub fn from_object(object: &Value) -> HookParse {
        let annotations = object.pointer("/metadata/annotations").and_then(Value::as_object);
        let get = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
        let list = |key: &str| -> Vec<String> {
            get(key)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut parse = HookParse::default();
        if get("kluctl.io/delete").is_some_and(|v| parse_bool(v) == Some(true)) {
            return parse;
        }

        let mut hooks = BTreeSet::new();
        for name in list("kluctl.io/hook") {
            match KluctlHook::parse(&name) {
                Some(hook) => {
                    hooks.insert(hook);
                }
                None => parse.errors.push(format!("unsupported kluctl.io/hook '{name}'")),
            }
        }
        for event in list("helm.sh/hook") {
            match KluctlHook::from_helm(&event) {
                Some(hook) => {
                    hooks.insert(hook);
                }
                None => parse.warnings.push(format!("unsupported helm.sh/hook '{event}'")),
            }
        }

        let weight_text = get("kluctl.io/hook-weight").or_else(|| get("helm.sh/hook-weight"));
        let weight = match weight_text.map(|w| w.trim().parse::<i32>()) {
            None => 0,
            Some(Ok(w)) => w,
            Some(Err(e)) => {
                parse.errors.push(format!("failed to parse hook weight: {e}"));
                0
            }
        };

        let mut delete_policies = BTreeSet::new();
        for name in list("kluctl.io/hook-delete-policy")
            .into_iter()
            .chain(list("helm.sh/hook-delete-policy"))
        {
            match DeletePolicy::parse(&name) {
                Some(p) => {
                    delete_policies.insert(p);
                }
                None => parse
                    .errors
                    .push(format!("unsupported kluctl.io/hook-delete-policy '{name}'")),
            }
        }
        if delete_policies.is_empty() {
            delete_policies.insert(DeletePolicy::BeforeHookCreation);
        }

        let wait = match get("kluctl.io/hook-wait").map(parse_bool) {
            None => true,
            Some(Some(b)) => b,
            Some(None) => {
                parse
                    .errors
                    .push("failed to parse kluctl.io/hook-wait: expected true or false".to_string());
                true
            }
        };
        let timeout = match get("kluctl.io/hook-timeout").map(humantime::parse_duration) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                parse.errors.push(format!("failed to parse duration: {e}"));
                None
            }
        };

        if !hooks.is_empty() {
            parse.spec = Some(HookSpec {
                hooks,
                weight,
                delete_policies,
                wait,
                timeout,
            });
        }
        parse
    }

    /// True when the hook runs in a deploy of this kind (`initial`: none of the item's objects
    /// existed before).
    pub fn runs_on(&self, pre: bool, initial: bool) -> bool {
        self.hooks.iter().any(|h| {
            let (is_pre, stage_initial) = match h {
                KluctlHook::PreDeploy => (true, None),
                KluctlHook::PostDeploy => (false, None),
                KluctlHook::PreDeployInitial => (true, Some(true)),
                KluctlHook::PostDeployInitial => (false, Some(true)),
                KluctlHook::PreDeployUpgrade => (true, Some(false)),
                KluctlHook::PostDeployUpgrade => (false, Some(false)),
            };
            is_pre == pre && stage_initial.is_none_or(|i| i == initial)
        })
    }
}

/// Go's `strconv.ParseBool`, which Kluctl uses for boolean annotations.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(annotations: Value) -> Value {
        json!({"kind": "Job", "metadata": {"name": "j", "annotations": annotations}})
    }

    #[test]
    fn helm_hooks_map_to_kluctl_hooks() {
        let parse = HookSpec::from_object(&object(json!({
            "helm.sh/hook": "pre-install,pre-upgrade",
            "helm.sh/hook-weight": "-5",
            "helm.sh/hook-delete-policy": "hook-succeeded",
        })));
        let spec = parse.spec.unwrap();
        assert_eq!(
            spec.hooks,
            BTreeSet::from([KluctlHook::PreDeployInitial, KluctlHook::PreDeployUpgrade])
        );
        assert_eq!(spec.weight, -5);
        assert_eq!(spec.delete_policies, BTreeSet::from([DeletePolicy::HookSucceeded]));
        assert!(spec.wait);
        assert!(spec.runs_on(true, true) && spec.runs_on(true, false) && !spec.runs_on(false, true));
        assert!(parse.errors.is_empty() && parse.warnings.is_empty());
    }

    #[test]
    fn unsupported_helm_events_warn_and_delete_only_hooks_are_not_hooks() {
        let parse = HookSpec::from_object(&object(json!({"helm.sh/hook": "pre-delete"})));
        assert_eq!(parse.spec, None);
        assert_eq!(parse.warnings, vec!["unsupported helm.sh/hook 'pre-delete'"]);
        let parse = HookSpec::from_object(&object(json!({"helm.sh/hook": "post-install,post-rollback"})));
        assert_eq!(
            parse.spec.unwrap().hooks,
            BTreeSet::from([KluctlHook::PostDeployInitial])
        );
        assert_eq!(parse.warnings.len(), 1);
    }

    #[test]
    fn kluctl_annotations_win_and_errors_are_reported() {
        let parse = HookSpec::from_object(&object(json!({
            "kluctl.io/hook": "post-deploy, bogus",
            "kluctl.io/hook-weight": "3",
            "helm.sh/hook-weight": "9",
            "kluctl.io/hook-wait": "false",
            "kluctl.io/hook-timeout": "2m",
        })));
        let spec = parse.spec.unwrap();
        assert_eq!(spec.hooks, BTreeSet::from([KluctlHook::PostDeploy]));
        assert_eq!(spec.weight, 3);
        assert!(!spec.wait);
        assert_eq!(spec.timeout, Some(Duration::from_secs(120)));
        assert_eq!(spec.delete_policies, BTreeSet::from([DeletePolicy::BeforeHookCreation]));
        assert_eq!(parse.errors, vec!["unsupported kluctl.io/hook 'bogus'"]);
    }

    #[test]
    fn plain_and_deleted_objects_are_not_hooks() {
        assert_eq!(
            HookSpec::from_object(&json!({"metadata": {"name": "x"}})),
            HookParse::default()
        );
        let deleted = object(json!({"kluctl.io/hook": "pre-deploy", "kluctl.io/delete": "true"}));
        assert_eq!(HookSpec::from_object(&deleted).spec, None);
    }
}
