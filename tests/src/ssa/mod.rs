//! Server-side apply for the test API server: Kubernetes' structured-merge-diff semantics on
//! JSON objects, with `metadata.managedFields` kept exactly as a real API server keeps them.
//!
//! Input: the live object (or none on create), the applied configuration or the new object of
//! a create/update/patch, the field manager, and the kind's [`TypeSchema`] (from
//! `shared::schema`). Output: the object to store, with its managed fields; or an [`SsaError`]
//! whose [`SsaError::status`] is the `Status` the API server answers with (409 for conflicts).
//!
//! - [`apply`]: `PATCH` with `application/apply-patch+yaml`. Merges the applied configuration
//!   into the live object (list-maps by key, sets by value, atomic lists and maps replaced,
//!   granular maps by key), fails on fields other managers own with other values unless
//!   `force` (then ownership moves), removes fields this manager applied before but no longer
//!   applies when nobody else owns them, and replaces the manager's Apply entry.
//! - [`record_update`]: every other write. The manager takes ownership of what it changed, and
//!   other managers lose what it changed or removed.
//!
//! Like the API server, applies by the manager `kubectl` honour the client-side apply
//! annotation (conflicts on fields the last applied configuration set are allowed, and the
//! annotation is kept in sync), and objects without managed fields are first attributed to
//! `before-first-apply`.

mod conflict;
mod last_applied;
mod managed;
mod noop;
mod path;
mod scope;
mod set;
mod walk;

#[cfg(test)]
mod tests;

pub use conflict::{ApplyConflicts, Conflict};
pub use path::{FieldPath, PathElement};
pub use scope::FieldScope;
pub use set::FieldSet;

use last_applied::{allowed_by_last_applied, has_last_applied, sync_last_applied};
use managed::Entry;
use scope::{default_scope, filter, restrict, skeleton, strip_identity};
use serde_json::{Map, Value};
use shared::schema::{SchemaNode, TypeSchema, root_or_untyped};
use walk::Level;

/// How a manager wrote its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or a non-apply patch.
    Update,
}

impl Operation {
    /// `Apply` or `Update`, as written in managed fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// Settings of one apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions<'a> {
    /// The field manager (`fieldManager` query parameter).
    pub manager: &'a str,
    /// `force=true`: take ownership of conflicting fields.
    pub force: bool,
    /// The subresource written (`status`), if any.
    pub subresource: Option<&'a str>,
    /// Which fields this write may own (default: from the subresource).
    pub scope: Option<FieldScope>,
    /// The time recorded in the manager's entry (RFC 3339); default: now.
    pub now: Option<&'a str>,
}

impl<'a> ApplyOptions<'a> {
    /// An apply by `manager` without force on the main resource.
    pub fn new(manager: &'a str) -> Self {
        ApplyOptions {
            manager,
            force: false,
            subresource: None,
            scope: None,
            now: None,
        }
    }
}

/// Settings of one non-apply write.
#[derive(Clone, Debug)]
pub struct UpdateOptions<'a> {
    /// The field manager (`fieldManager` query parameter, or derived from the user agent).
    pub manager: &'a str,
    /// The subresource written (`status`), if any.
    pub subresource: Option<&'a str>,
    /// Which fields this write may own (default: from the subresource).
    pub scope: Option<FieldScope>,
    /// The time recorded in the manager's entry (RFC 3339); default: now.
    pub now: Option<&'a str>,
}

/// A server-side apply or managed-fields update failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsaError {
    /// Other managers own fields the apply changes (409 Conflict).
    #[error("{0}")]
    Conflicts(ApplyConflicts),
    /// The applied configuration is not acceptable (400 Bad Request).
    #[error("{reason}")]
    BadRequest {
        /// What is wrong, as the API server says it.
        reason: String,
    },
    /// A value does not fit the kind's schema (500, as the API server answers it).
    #[error("failed to create typed patch object ({gvk}): {path}: {reason}")]
    TypedObject {
        /// `apps/v1, Kind=Deployment`.
        gvk: String,
        /// The field, as Kubernetes prints paths.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The stored `metadata.managedFields` cannot be read (500).
    #[error("failed to decode managed fields: {reason}")]
    DecodeManagedFields {
        /// What is wrong.
        reason: String,
    },
}

impl SsaError {
    /// The HTTP status code the API server answers with.
    pub fn code(&self) -> u16 {
        match self {
            SsaError::Conflicts(_) => 409,
            SsaError::BadRequest { .. } => 400,
            SsaError::TypedObject { .. } | SsaError::DecodeManagedFields { .. } => 500,
        }
    }

    /// The `Status` object to answer with.
    pub fn status(&self) -> Value {
        match self {
            SsaError::Conflicts(conflicts) => conflicts.status(),
            SsaError::BadRequest { reason } => conflict::status_json(400, "BadRequest", reason, None),
            other => conflict::status_json(500, "InternalError", &other.to_string(), None),
        }
    }
}

/// Server-side apply of `applied` by `manager` onto `live` (`None`: the object is created).
/// Returns the object to store, `metadata.managedFields` included.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    schema: Option<&TypeSchema>,
) -> Result<Value, SsaError> {
    let options = ApplyOptions {
        force,
        ..ApplyOptions::new(manager)
    };
    apply_with(live, applied, &options, schema)
}

/// [`apply`] with every setting.
pub fn apply_with(
    live: Option<&Value>,
    applied: &Value,
    options: &ApplyOptions<'_>,
    schema: Option<&TypeSchema>,
) -> Result<Value, SsaError> {
    let root = root_or_untyped(schema);
    if !applied.is_object() {
        return Err(SsaError::BadRequest {
            reason: "the applied configuration must be an object".to_string(),
        });
    }
    if applied.pointer("/metadata/managedFields").is_some_and(|v| !v.is_null()) {
        return Err(SsaError::BadRequest {
            reason: "metadata.managedFields must be nil".to_string(),
        });
    }
    let subresource = options.subresource.unwrap_or("");
    let scope = options.scope.unwrap_or(default_scope(subresource));
    let now = timestamp(options.now);
    let api_version = text(applied, "apiVersion");
    let skeleton = skeleton(root);
    let nothing = Value::Object(Map::new());
    let live_value = live.unwrap_or(&nothing);
    let mut entries = managed::decode(live_value).map_err(|reason| SsaError::DecodeManagedFields { reason })?;

    if live.is_some() && entries.is_empty() {
        // Objects written before managed fields existed: their fields belong to someone.
        let comparison = walk::compare(&skeleton, live_value, root);
        let mut fields = comparison.added;
        fields.union_with(&comparison.modified);
        filter(&mut fields, scope);
        entries.push(Entry {
            manager: "before-first-apply".to_string(),
            operation: Operation::Update,
            api_version: text(live_value, "apiVersion"),
            time: Some(now.clone()),
            subresource: subresource.to_string(),
            fields,
        });
    }

    let mut applied_set = walk::to_field_set(applied, root).map_err(|(path, reason)| SsaError::TypedObject {
        gvk: gvk(applied),
        path,
        reason,
    })?;
    filter(&mut applied_set, scope);

    // The status subresource only writes status, the main resource of a kind with one never
    // does: the API server resets the rest before the apply sees it.
    let scoped;
    let applied = match scope {
        FieldScope::Everything => applied,
        FieldScope::AllButStatus | FieldScope::StatusOnly => {
            scoped = restrict(applied, scope);
            &scoped
        }
    };
    // The usual re-apply changes nothing: same fields, same values. Skip the bookkeeping.
    if let Some(live) = live
        && let Some(mine) = entries
            .iter()
            .find(|e| e.is(options.manager, Operation::Apply, subresource, ""))
        && mine.fields == applied_set
        && mine.api_version == api_version
        && (options.manager != "kubectl" || !has_last_applied(live))
        && noop::applies_cleanly(live, applied, root)
    {
        return Ok(live.clone());
    }

    let attempt = Attempt {
        live: live_value,
        applied,
        manager: options.manager,
        subresource,
        api_version: &api_version,
        now: &now,
        root,
    };
    // Only kubectl may retry (client-side apply upgrade), so only it pays for copies.
    let retry = (options.manager == "kubectl" && !options.force).then(|| (entries.clone(), applied_set.clone()));
    let result = match attempt.run(entries, applied_set, options.force) {
        Err(conflicts) if retry.is_some() => {
            // Upgrading from client-side apply: fields the last applied configuration set
            // (with the live value unchanged) may be taken over without force.
            let allowed = allowed_by_last_applied(live_value, root).unwrap_or_default();
            let remaining: Vec<Conflict> = conflicts
                .conflicts
                .into_iter()
                .filter(|c| !allowed.contains(&c.path.0))
                .collect();
            if remaining.is_empty() {
                let (entries, applied_set) = retry.expect("checked by the match guard");
                attempt.run(entries, applied_set, true)
            } else {
                Err(ApplyConflicts { conflicts: remaining })
            }
        }
        other => other,
    };
    let mut object = result.map_err(SsaError::Conflicts)?;
    if options.manager == "kubectl" {
        sync_last_applied(&mut object, applied);
    }
    Ok(object)
}

/// Records a create, update or non-apply patch by `manager`: `new` is the object about to be
/// stored (`old` the stored one, `None` on create) and gets its `metadata.managedFields`.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    operation: Operation,
    subresource: Option<&str>,
    schema: Option<&TypeSchema>,
) -> Result<(), SsaError> {
    if operation == Operation::Apply {
        return Err(SsaError::BadRequest {
            reason: "record_update records non-apply writes; use apply for server-side apply".to_string(),
        });
    }
    let options = UpdateOptions {
        manager,
        subresource,
        scope: None,
        now: None,
    };
    record_update_with(old, new, &options, schema)
}

/// [`record_update`] with every setting.
pub fn record_update_with(
    old: Option<&Value>,
    new: &mut Value,
    options: &UpdateOptions<'_>,
    schema: Option<&TypeSchema>,
) -> Result<(), SsaError> {
    let root = root_or_untyped(schema);
    let subresource = options.subresource.unwrap_or("");
    let scope = options.scope.unwrap_or(default_scope(subresource));
    let api_version = text(new, "apiVersion");
    let skeleton = skeleton(root);
    let old_value = old.unwrap_or(&skeleton);

    // Managed fields sent with the write replace the stored ones (`[{}]` clears them); absent
    // or empty ones keep the stored ones, so clients unaware of them cannot drop them.
    let sent = new.pointer("/metadata/managedFields").and_then(Value::as_array);
    let mut entries = match sent {
        Some(list) if list.len() == 1 && list[0].as_object().is_some_and(Map::is_empty) => Vec::new(),
        Some(list) if !list.is_empty() && subresource.is_empty() => match managed::decode(new) {
            Ok(entries) if !entries.is_empty() => entries,
            _ => managed::decode(old_value).map_err(|reason| SsaError::DecodeManagedFields { reason })?,
        },
        _ => managed::decode(old_value).map_err(|reason| SsaError::DecodeManagedFields { reason })?,
    };

    let comparison = walk::compare(old_value, new, root);
    let mut changed = comparison.added;
    changed.union_with(&comparison.modified);
    for entry in entries.iter_mut() {
        entry.fields.subtract(&changed);
        entry.fields.subtract(&comparison.removed);
    }
    let mut own = changed;
    own.subtract(&comparison.removed);
    filter(&mut own, scope);
    if !own.is_empty() {
        let now = timestamp(options.now);
        match entries
            .iter_mut()
            .find(|e| e.is(options.manager, Operation::Update, subresource, &api_version))
        {
            Some(entry) => {
                entry.fields.union_with(&own);
                entry.time = Some(now);
            }
            None => entries.push(Entry {
                manager: options.manager.to_string(),
                operation: Operation::Update,
                api_version,
                time: Some(now),
                subresource: subresource.to_string(),
                fields: own,
            }),
        }
    }
    managed::store(new, &mut entries);
    Ok(())
}

/// The managers that own `path` in an object's managed fields (for assertions and diagnostics).
pub fn field_owners(object: &Value, path: &FieldPath) -> Result<Vec<String>, SsaError> {
    let entries = managed::decode(object).map_err(|reason| SsaError::DecodeManagedFields { reason })?;
    Ok(entries
        .into_iter()
        .filter(|e| e.fields.contains(&path.0))
        .map(|e| e.manager)
        .collect())
}

/// The fields a manager owns in an object, per its managed-fields entries.
pub fn owned_fields(object: &Value, manager: &str, operation: Operation) -> Result<FieldSet, SsaError> {
    let entries = managed::decode(object).map_err(|reason| SsaError::DecodeManagedFields { reason })?;
    let mut out = FieldSet::new();
    for entry in entries
        .iter()
        .filter(|e| e.manager == manager && e.operation == operation)
    {
        out.union_with(&entry.fields);
    }
    Ok(out)
}

/// One apply computation over a copy of the managed-fields entries.
struct Attempt<'a> {
    live: &'a Value,
    applied: &'a Value,
    manager: &'a str,
    subresource: &'a str,
    api_version: &'a str,
    now: &'a str,
    root: SchemaNode<'a>,
}

impl Attempt<'_> {
    fn run(&self, mut entries: Vec<Entry>, applied_set: FieldSet, force: bool) -> Result<Value, ApplyConflicts> {
        let mut merged = walk::merge(self.live, self.applied, self.root, Level::Root);
        let mine = match entries
            .iter()
            .position(|e| e.is(self.manager, Operation::Apply, self.subresource, ""))
        {
            Some(index) => index,
            None => {
                entries.push(Entry {
                    manager: self.manager.to_string(),
                    operation: Operation::Apply,
                    api_version: self.api_version.to_string(),
                    time: None,
                    subresource: self.subresource.to_string(),
                    fields: FieldSet::new(),
                });
                entries.len() - 1
            }
        };
        let last = std::mem::replace(&mut entries[mine].fields, applied_set);
        entries[mine].api_version = self.api_version.to_string();
        if !last.is_empty() {
            self.prune(&mut merged, &entries, &last);
        }

        let comparison = walk::compare(self.live, &merged, self.root);
        let mut changed = comparison.added;
        changed.union_with(&comparison.modified);
        let mut conflicts = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            if index == mine {
                continue;
            }
            let overlap = entry.fields.intersection(&changed);
            if !overlap.is_empty() {
                conflicts.push((index, overlap));
            }
        }
        if !force && !conflicts.is_empty() {
            return Err(describe_conflicts(&entries, &conflicts));
        }
        for (index, overlap) in &conflicts {
            entries[*index].fields.subtract(overlap);
        }
        for (index, entry) in entries.iter_mut().enumerate() {
            if index != mine {
                entry.fields.subtract(&comparison.removed);
            }
        }
        drop_nulls(&mut merged);
        // The entry's time moves only when the object did (list order included).
        if !noop::same_object(self.live, &merged) {
            entries[mine].time = Some(self.now.to_string());
        }
        managed::store(&mut merged, &mut entries);
        Ok(merged)
    }

    /// Removes what this manager applied last time but not this time, unless another manager
    /// owns it (structured-merge-diff's `prune`).
    /// (This manager's new set is among the kept ones: what it still applies stays.)
    fn prune(&self, merged: &mut Value, entries: &[Entry], last: &FieldSet) {
        let kept: Vec<&FieldSet> = entries.iter().map(|e| &e.fields).collect();
        let mut removable = walk::prunable(last, &kept, self.root);
        // The object's identity is never pruned.
        strip_identity(&mut removable);
        walk::remove_items(merged, &removable, self.root);
    }
}

fn describe_conflicts(entries: &[Entry], conflicts: &[(usize, FieldSet)]) -> ApplyConflicts {
    let mut out: Vec<Conflict> = conflicts
        .iter()
        .flat_map(|(index, set)| {
            let entry = &entries[*index];
            set.paths().into_iter().map(move |path| Conflict {
                manager: entry.manager.clone(),
                operation: entry.operation,
                api_version: entry.api_version.clone(),
                subresource: entry.subresource.clone(),
                path,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.manager_description()
            .cmp(&b.manager_description())
            .then_with(|| a.path.cmp(&b.path))
    });
    ApplyConflicts { conflicts: out }
}

/// Explicit nulls in objects do not survive a round trip through a typed API object.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

pub(crate) fn text(object: &Value, key: &str) -> String {
    object.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// `apps/v1, Kind=Deployment` (`/v1, Kind=Pod` for the core group), as Go prints a GVK.
fn gvk(object: &Value) -> String {
    let api_version = text(object, "apiVersion");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
    format!("{group}/{version}, Kind={}", text(object, "kind"))
}

fn timestamp(now: Option<&str>) -> String {
    now.map(str::to_string)
        .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string())
}
