//! [`ResultBuilder`]: what the cluster code fills while a command runs, from any thread.
//!
//! Errors on one object are recorded here, not raised, so that a command continues with the
//! other objects and fails at the end (Kluctl's `DeploymentErrorsAndWarnings`).

use super::{CommandInfo, CommandResult, ResultCounts, ResultMessage, ResultObject, ResultSummary, TargetKey};
use crate::diff::{Change, Obfuscator};
use crate::objects::ObjectRef;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// How the result is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResultOptions {
    /// Keep the rendered, remote and applied objects in the result (large; for `-o yaml`
    /// consumers that want them). Counts are kept either way.
    pub keep_objects: bool,
    /// `--no-obfuscate`: leave Secret values visible. Only for the local CLI, never the agent.
    pub reveal_secrets: bool,
}

/// One object, keyed without its version: the rendered and the live object may be read with
/// different API versions but are the same object.
type Key = (String, String, Option<String>, String);

fn key(r: &ObjectRef) -> Key {
    (r.group.clone(), r.kind.clone(), r.namespace.clone(), r.name.clone())
}

#[derive(Debug)]
struct Entry {
    object: ResultObject,
    has_rendered: bool,
    has_remote: bool,
}

#[derive(Debug)]
struct Inner {
    command: CommandInfo,
    target_key: TargetKey,
    objects: BTreeMap<Key, Entry>,
    errors: Vec<ResultMessage>,
    warnings: Vec<ResultMessage>,
    seen: HashSet<(bool, ResultMessage)>,
}

/// Collects a command's outcome; every method takes `&self` so one builder can be shared
/// (e.g. in an `Arc`) by all the tasks of a command.
#[derive(Debug)]
pub struct ResultBuilder {
    options: ResultOptions,
    obfuscator: Arc<Obfuscator>,
    inner: Mutex<Inner>,
}

impl ResultBuilder {
    /// Starts a result for `command`.
    pub fn new(command: CommandInfo, options: ResultOptions) -> Self {
        ResultBuilder {
            options,
            obfuscator: Arc::new(Obfuscator::new()),
            inner: Mutex::new(Inner {
                command,
                target_key: TargetKey::default(),
                objects: BTreeMap::new(),
                errors: Vec::new(),
                warnings: Vec::new(),
                seen: HashSet::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in another task must not lose the result collected so far.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_object(&self, r: &ObjectRef, f: impl FnOnce(&mut Entry)) {
        let mut inner = self.lock();
        let entry = inner.objects.entry(key(r)).or_insert_with(|| Entry {
            object: ResultObject::new(r.clone()),
            has_rendered: false,
            has_remote: false,
        });
        f(entry);
    }

    /// The obfuscator of this command, to scrub log lines and events the same way.
    pub fn obfuscator(&self) -> Arc<Obfuscator> {
        Arc::clone(&self.obfuscator)
    }

    /// Learns the values of Secrets that are not otherwise recorded (e.g. every rendered
    /// object before applying), so that they are scrubbed from error messages too.
    pub fn learn_secrets<'a>(&self, objects: impl IntoIterator<Item = &'a Value>) {
        objects.into_iter().for_each(|o| self.obfuscator.learn(o));
    }

    /// Sets the target key (target name, cluster id, discriminator).
    pub fn set_target_key(&self, target_key: TargetKey) {
        self.lock().target_key = target_key;
    }

    /// Records the rendered object.
    pub fn set_rendered(&self, object: &Value) {
        self.record_object(object, |e, o| {
            e.has_rendered = true;
            e.object.rendered = o;
        });
    }

    /// Records the live object as it was before the command.
    pub fn set_remote(&self, object: &Value) {
        self.record_object(object, |e, o| {
            e.has_remote = true;
            e.object.remote = o;
        });
    }

    /// Records the object an apply returned, and marks it applied.
    pub fn set_applied(&self, object: &Value) {
        self.record_object(object, |e, o| {
            e.object.applied = true;
            e.object.applied_object = o;
        });
    }

    fn record_object(&self, object: &Value, f: impl FnOnce(&mut Entry, Option<Value>)) {
        self.obfuscator.learn(object);
        let Some(r) = ObjectRef::from_object(object) else {
            return;
        };
        let kept = self.options.keep_objects.then(|| object.clone());
        self.with_object(&r, |e| f(e, kept));
    }

    /// Marks an object as new (it did not exist before).
    pub fn mark_new(&self, r: &ObjectRef) {
        self.with_object(r, |e| e.object.new = true);
    }

    /// Marks an object as an orphan.
    pub fn mark_orphan(&self, r: &ObjectRef) {
        self.with_object(r, |e| e.object.orphan = true);
    }

    /// Marks an object as deleted.
    pub fn mark_deleted(&self, r: &ObjectRef) {
        self.with_object(r, |e| e.object.deleted = true);
    }

    /// Marks an object as applied (without recording the returned object).
    pub fn mark_applied(&self, r: &ObjectRef) {
        self.with_object(r, |e| e.object.applied = true);
    }

    /// Marks an object as an applied hook.
    pub fn mark_hook(&self, r: &ObjectRef) {
        self.with_object(r, |e| {
            e.object.hook = true;
            e.object.applied = true;
        });
    }

    /// Adds the changes of an object (e.g. from [`crate::diff::diff_object`]).
    pub fn add_changes(&self, r: &ObjectRef, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        self.with_object(r, |e| {
            e.object.changes.extend(changes);
            e.object
                .changes
                .sort_by(|a, b| a.key_path().cmp(b.key_path()).then(a.change_type.cmp(&b.change_type)));
        });
    }

    /// Records an error about one object, or about the command when `r` is `None`. The same
    /// message for the same object is recorded once.
    pub fn add_error(&self, r: Option<&ObjectRef>, message: impl Into<String>) {
        self.add_message(true, r, message.into());
    }

    /// Records a warning (see [`ResultBuilder::add_error`]).
    pub fn add_warning(&self, r: Option<&ObjectRef>, message: impl Into<String>) {
        self.add_message(false, r, message.into());
    }

    fn add_message(&self, error: bool, r: Option<&ObjectRef>, message: String) {
        let message = ResultMessage {
            object_ref: r.cloned(),
            message,
        };
        let mut inner = self.lock();
        if !inner.seen.insert((error, message.clone())) {
            return;
        }
        if error {
            inner.errors.push(message);
        } else {
            inner.warnings.push(message);
        }
    }

    /// Whether an error was recorded for this object (hooks are not waited for then).
    pub fn has_error(&self, r: &ObjectRef) -> bool {
        self.lock()
            .errors
            .iter()
            .any(|m| m.object_ref.as_ref().is_some_and(|e| e.same_object(r)))
    }

    /// How many errors were recorded so far (`--abort-on-error` checks this).
    pub fn error_count(&self) -> usize {
        self.lock().errors.len()
    }

    /// Ends the command: sets the end time, sorts, masks Secret values (unless revealed) and
    /// counts. See [`ResultBuilder::finish_with_summary`] for the agent.
    pub fn finish(self) -> CommandResult {
        self.finish_with_summary().0
    }

    /// Like [`ResultBuilder::finish`], plus the compact summary for a status. The summary is
    /// always free of Secret values, even with [`ResultOptions::reveal_secrets`].
    pub fn finish_with_summary(self) -> (CommandResult, ResultSummary) {
        let ResultBuilder {
            options,
            obfuscator,
            inner,
        } = self;
        let mut inner = inner.into_inner().unwrap_or_else(|e| e.into_inner());
        inner.command.end_time = Some(chrono::Utc::now());

        let mut counts = ResultCounts::default();
        let mut objects: Vec<ResultObject> = Vec::with_capacity(inner.objects.len());
        for entry in std::mem::take(&mut inner.objects).into_values() {
            let mut o = entry.object;
            o.changed = !o.changes.is_empty();
            counts.rendered_objects += usize::from(entry.has_rendered);
            counts.remote_objects += usize::from(entry.has_remote);
            counts.applied_objects += usize::from(o.applied);
            counts.applied_hook_objects += usize::from(o.hook);
            counts.new_objects += usize::from(o.new);
            counts.changed_objects += usize::from(o.changed);
            counts.orphan_objects += usize::from(o.orphan);
            counts.deleted_objects += usize::from(o.deleted);
            counts.total_changes += o.changes.len();
            objects.push(o);
        }
        objects.sort_by_cached_key(|o| (o.object_ref.to_string(), o.object_ref.clone()));
        let by_ref = |m: &ResultMessage| m.object_ref.as_ref().map(ToString::to_string);
        inner.errors.sort_by_key(by_ref);
        inner.warnings.sort_by_key(by_ref);
        counts.errors = inner.errors.len();
        counts.warnings = inner.warnings.len();

        // Secret changes hold values the objects may not have shown (e.g. a removed key).
        for o in &objects {
            if o.object_ref.group.is_empty() && o.object_ref.kind == "Secret" {
                for change in &o.changes {
                    let base64 = change.json_path.starts_with("data");
                    for v in [&change.old_value, &change.new_value].into_iter().flatten() {
                        obfuscator.learn_value(v, base64);
                    }
                }
            }
        }

        let mut result = CommandResult {
            api_version: super::RESULT_API_VERSION.to_string(),
            kind: "CommandResult".to_string(),
            id: super::new_id(),
            command: inner.command,
            target_key: inner.target_key,
            summary: counts,
            objects,
            errors: inner.errors,
            warnings: inner.warnings,
        };
        if !options.reveal_secrets {
            obfuscate_result(&obfuscator, &mut result);
        }
        let summary = ResultSummary::of(&result, &obfuscator);
        (result, summary)
    }
}

/// Masks Secret values in objects and changes, then scrubs every learned value from every
/// string of the result.
fn obfuscate_result(obfuscator: &Obfuscator, result: &mut CommandResult) {
    for o in &mut result.objects {
        let secret = o.object_ref.group.is_empty() && o.object_ref.kind == "Secret";
        obfuscator.obfuscate_changes(secret, &mut o.changes);
        for object in [&mut o.rendered, &mut o.remote, &mut o.applied_object]
            .into_iter()
            .flatten()
        {
            *object = obfuscator.obfuscate_object(object);
            obfuscator.scrub_value(object);
        }
        for change in &mut o.changes {
            for v in [&mut change.old_value, &mut change.new_value].into_iter().flatten() {
                obfuscator.scrub_value(v);
            }
            change.unified_diff = obfuscator.scrub(&change.unified_diff).into_owned();
        }
    }
    for m in result.errors.iter_mut().chain(result.warnings.iter_mut()) {
        m.message = obfuscator.scrub(&m.message).into_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Normalizer, diff_object};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use serde_json::json;

    const CANARY: &str = "canary-4fJ8sQ2zXw91";

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "prod"}, "data": {"key": "v"}})
    }

    fn cm_ref(name: &str) -> ObjectRef {
        ObjectRef::from_object(&cm(name)).unwrap()
    }

    #[test]
    fn collects_flags_counts_and_messages_from_many_threads() {
        let builder = Arc::new(ResultBuilder::new(CommandInfo::new("deploy"), ResultOptions::default()));
        std::thread::scope(|s| {
            for i in 0..8 {
                let b = Arc::clone(&builder);
                s.spawn(move || {
                    let o = cm(&format!("c{i}"));
                    b.set_rendered(&o);
                    if i % 2 == 0 {
                        b.set_remote(&o);
                    } else {
                        b.mark_new(&cm_ref(&format!("c{i}")));
                    }
                    b.set_applied(&o);
                    if i == 3 {
                        b.add_error(Some(&cm_ref("c3")), "failed to apply object: boom");
                        b.add_error(Some(&cm_ref("c3")), "failed to apply object: boom");
                    }
                });
            }
        });
        builder.mark_orphan(&cm_ref("old"));
        builder.add_warning(None, "no discriminator configured");
        assert!(builder.has_error(&cm_ref("c3")));
        assert!(!builder.has_error(&cm_ref("c2")));
        assert_eq!(builder.error_count(), 1);

        let result = Arc::into_inner(builder).unwrap().finish();
        assert_eq!(result.kind, "CommandResult");
        assert_eq!(result.api_version, super::super::RESULT_API_VERSION);
        assert!(result.command.end_time.is_some());
        let names: Vec<&str> = result.objects.iter().map(|o| o.object_ref.name.as_str()).collect();
        assert_eq!(names, vec!["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "old"]);
        assert_eq!(
            result.summary,
            ResultCounts {
                rendered_objects: 8,
                remote_objects: 4,
                applied_objects: 8,
                new_objects: 4,
                orphan_objects: 1,
                errors: 1,
                warnings: 1,
                ..Default::default()
            }
        );
        assert!(result.has_errors() && result.has_changes());
        // Objects are only kept when asked.
        assert!(result.objects[0].rendered.is_none());
    }

    #[test]
    fn a_canary_secret_value_appears_in_no_output() {
        let builder = ResultBuilder::new(
            CommandInfo::new("deploy"),
            ResultOptions {
                keep_objects: true,
                ..Default::default()
            },
        );
        let rendered = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod"},
            "stringData": {"password": CANARY}});
        let remote = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod",
                "managedFields": [{"manager": "kluctl", "operation": "Apply", "fieldsV1": {"f:data": {"f:password": {}}}}]},
            "data": {"password": BASE64.encode("previous-value-1")}});
        let applied = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod"},
            "data": {"password": BASE64.encode(CANARY)}});
        builder.set_rendered(&rendered);
        builder.set_remote(&remote);
        builder.set_applied(&applied);
        let r = ObjectRef::from_object(&rendered).unwrap();
        builder.add_changes(
            &r,
            diff_object(&Normalizer::default(), &remote, &applied, &rendered).unwrap(),
        );
        builder.add_error(
            Some(&r),
            format!("Secret \"db\" is invalid: data[password]: Invalid value: \"{CANARY}\""),
        );
        // A ConfigMap that happens to contain the same value is scrubbed as well.
        let leaky = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "prod"}, "data": {"x": CANARY}});
        builder.set_applied(&leaky);
        builder.mark_new(&ObjectRef::from_object(&leaky).unwrap());

        let (result, summary) = builder.finish_with_summary();
        let outputs = [
            result.to_yaml(),
            result.to_json(),
            super::super::render_text(&result, &super::super::TextOptions::default()),
            super::super::render_text(
                &result,
                &super::super::TextOptions {
                    color: true,
                    ..Default::default()
                },
            ),
            serde_json::to_string(&summary).unwrap(),
        ];
        for out in &outputs {
            assert!(!out.contains(CANARY), "canary leaked:\n{out}");
            assert!(!out.contains(&BASE64.encode(CANARY)), "base64 canary leaked:\n{out}");
            assert!(!out.contains("previous-value-1") && !out.contains(&BASE64.encode("previous-value-1")));
        }
        // Which key changed stays visible.
        let secret = result.objects.iter().find(|o| o.object_ref.kind == "Secret").unwrap();
        assert_eq!(secret.changes[0].json_path, "data.password");
        assert!(secret.changes[0].unified_diff.contains("***** (obfuscated, #"));
        assert!(outputs[2].contains("data.password"));
    }

    #[test]
    fn reveal_keeps_values_but_not_in_the_summary() {
        let builder = ResultBuilder::new(
            CommandInfo::new("diff"),
            ResultOptions {
                reveal_secrets: true,
                keep_objects: true,
            },
        );
        let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod"}, "stringData": {"p": CANARY}});
        builder.set_rendered(&s);
        builder.add_error(
            Some(&ObjectRef::from_object(&s).unwrap()),
            format!("bad value {CANARY}"),
        );
        let (result, summary) = builder.finish_with_summary();
        assert!(result.to_yaml().contains(CANARY));
        assert!(!serde_json::to_string(&summary).unwrap().contains(CANARY));
    }

    #[test]
    fn round_trips_through_yaml_and_json() {
        let builder = ResultBuilder::new(CommandInfo::new("diff"), ResultOptions::default());
        let old = cm("a");
        let mut new = cm("a");
        new["data"]["key"] = json!("w");
        builder.add_changes(
            &cm_ref("a"),
            diff_object(&Normalizer::default(), &old, &new, &new).unwrap(),
        );
        let result = builder.finish();
        let from_yaml: CommandResult = crate::yaml::parse_typed(&result.to_yaml(), "result.yaml").unwrap();
        assert_eq!(from_yaml.objects[0].changes[0].json_path, "data.key");
        assert_eq!(from_yaml.summary, result.summary);
        let from_json: CommandResult = serde_json::from_str(&result.to_json()).unwrap();
        assert_eq!(from_json.id, result.id);
        let v: Value = serde_json::from_str(&result.to_json()).unwrap();
        assert_eq!(v["objects"][0]["changed"], json!(true));
        assert_eq!(v["kind"], json!("CommandResult"));
    }
}
