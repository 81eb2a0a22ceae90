//! Secret obfuscation for everything the engine prints or stores: result objects, changes,
//! messages and any other text. On by default; `--no-obfuscate` is the only way around it.
//!
//! Input: Secrets (to mask them and to learn their values) and text. Output: the same with every
//! Secret value replaced by `***** (obfuscated, #1a2b3c4d)`. The `#...` part is a salted hash
//! (SHA-256 over a per-run random salt and the value), so users see *that* a key changed and
//! which keys hold equal values, while the value cannot be recovered or guessed offline. Keys stay
//! visible. Learned values are also removed from free text (error messages, diffs of other kinds
//! that happen to contain them), so a value echoed by the API server does not leak either.

use super::changes::Change;
use super::jsonpath::PathKey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::RwLock;

/// What a masked value starts with (Kluctl prints exactly this).
pub const SECRET_MASK: &str = "*****";

/// Values shorter than this are masked in Secrets but not searched for in free text: short
/// values such as `admin` or `true` would otherwise blank out ordinary words and object names.
const MIN_SCRUB_LEN: usize = 8;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Masks Secret values (see the module docs). Shared by every thread of a command.
#[derive(Debug)]
pub struct Obfuscator {
    salt: [u8; 16],
    needles: RwLock<BTreeSet<String>>,
}

impl Default for Obfuscator {
    fn default() -> Self {
        Self::new()
    }
}

impl Obfuscator {
    /// An obfuscator with a fresh random salt (hashes differ from run to run).
    pub fn new() -> Self {
        Self::with_salt(rand::random())
    }

    /// An obfuscator with a fixed salt (tests, or comparing results of one run).
    pub fn with_salt(salt: [u8; 16]) -> Self {
        Obfuscator {
            salt,
            needles: RwLock::new(BTreeSet::new()),
        }
    }

    /// Whether `object` is a core `Secret`.
    pub fn is_secret(object: &Value) -> bool {
        object.get("kind").and_then(Value::as_str) == Some("Secret")
            && object
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| !v.contains('/'))
    }

    /// The masked form of a value: `***** (obfuscated, #<8 hex digits of the salted hash>)`.
    pub fn mask(&self, value: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update(value);
        let digest = hasher.finalize();
        format!("{SECRET_MASK} (obfuscated, #{})", hex::encode(&digest[..4]))
    }

    /// Remembers the values of a Secret so that [`Obfuscator::scrub`] removes them from text.
    /// Objects of other kinds are ignored.
    pub fn learn(&self, object: &Value) {
        if !Self::is_secret(object) {
            return;
        }
        for (field, base64) in [("data", true), ("stringData", false)] {
            if let Some(values) = object.get(field) {
                self.learn_value(values, base64);
            }
        }
    }

    /// Remembers one Secret value, or every value of a map or list of them; `base64` for
    /// values of `data` (both the encoded and the decoded form are learned).
    pub fn learn_value(&self, value: &Value, base64: bool) {
        let mut found = Vec::new();
        collect_strings(value, &mut found);
        if base64 {
            let decoded: Vec<String> = found.iter().filter_map(|t| decode_text(t)).collect();
            found.extend(decoded);
        }
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        for value in found {
            // Multi-line values (keys, certificates) also leak line by line, and JSON-escaped.
            let escaped = serde_json::to_string(&value).unwrap_or_default();
            let escaped = escaped.trim_matches('"').to_string();
            for candidate in value.lines().map(str::to_string).chain([value.clone(), escaped]) {
                if candidate.trim().chars().count() >= MIN_SCRUB_LEN {
                    needles.insert(candidate.trim().to_string());
                }
            }
        }
    }

    /// Removes every learned Secret value from `text`.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        if needles.is_empty() || !needles.iter().any(|n| text.contains(n.as_str())) {
            return Cow::Borrowed(text);
        }
        // Longest first, so that a value containing another is replaced whole.
        let mut ordered: Vec<&String> = needles.iter().collect();
        ordered.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let mut out = text.to_string();
        for needle in ordered {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), SECRET_MASK);
            }
        }
        Cow::Owned(out)
    }

    /// Scrubs every string (not the keys) inside a value.
    pub fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(clean) = self.scrub(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.scrub_value(v)),
            _ => {}
        }
    }

    /// A copy of `object` with Secret values masked (`data` keeps valid base64 of the mask) and
    /// the `last-applied-configuration` annotation, which holds the whole Secret, masked too.
    /// The object's values are learned first. Other kinds are returned as they are.
    pub fn obfuscate_object(&self, object: &Value) -> Value {
        if !Self::is_secret(object) {
            return object.clone();
        }
        self.learn(object);
        let mut out = object.clone();
        if let Some(Value::Object(data)) = out.get_mut("data") {
            for value in data.values_mut() {
                if let Some(text) = value.as_str() {
                    *value = Value::String(BASE64.encode(self.mask(&data_bytes(text))));
                }
            }
        }
        if let Some(Value::Object(data)) = out.get_mut("stringData") {
            for value in data.values_mut() {
                if let Some(text) = value.as_str() {
                    *value = Value::String(self.mask(text.as_bytes()));
                }
            }
        }
        if let Some(Value::String(last_applied)) =
            out.pointer_mut(&format!("/metadata/annotations/{}", LAST_APPLIED.replace('/', "~1")))
        {
            *last_applied = SECRET_MASK.to_string();
        }
        out
    }

    /// Masks the values of changes to `data` and `stringData` of a Secret; the keys, and
    /// whether a value changed, stay visible. `secret` says whether the changes belong to a
    /// core Secret (other objects' changes are left alone).
    pub fn obfuscate_changes(&self, secret: bool, changes: &mut [Change]) {
        if !secret {
            return;
        }
        for change in changes.iter_mut() {
            let field = match change.key_path().keys().first() {
                Some(PathKey::Field(f)) => f.clone(),
                // Changes read back from YAML have no parsed path; use the printed one.
                _ => change
                    .json_path
                    .split(['.', '['])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            };
            let is_base64 = match field.as_str() {
                "data" => true,
                "stringData" => false,
                _ => continue,
            };
            for value in [&mut change.old_value, &mut change.new_value].into_iter().flatten() {
                self.mask_in_place(value, is_base64);
            }
            change.refresh_unified_diff();
        }
    }

    fn mask_in_place(&self, value: &mut Value, is_base64: bool) {
        let mask = |text: &str| {
            let bytes = if is_base64 {
                data_bytes(text)
            } else {
                text.as_bytes().to_vec()
            };
            Value::String(self.mask(&bytes))
        };
        match value {
            Value::String(s) => *value = mask(s),
            Value::Object(map) => map.values_mut().for_each(|v| self.mask_in_place(v, is_base64)),
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_in_place(v, is_base64)),
            Value::Null => {}
            other => *other = mask(&other.to_string()),
        }
    }
}

/// The bytes a `data` value stands for; an invalid base64 string stands for itself.
fn data_bytes(text: &str) -> Vec<u8> {
    BASE64.decode(text).unwrap_or_else(|_| text.as_bytes().to_vec())
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

fn decode_text(text: &str) -> Option<String> {
    BASE64.decode(text).ok().and_then(|b| String::from_utf8(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::diff_values;
    use serde_json::json;

    const CANARY: &str = "canary-Zq9xW3vK7pLm";

    fn secret(password: &str, user: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "prod",
                "annotations": {LAST_APPLIED: format!("{{\"data\":{{\"password\":\"{}\"}}}}", BASE64.encode(password))}},
            "data": {"password": BASE64.encode(password), "user": BASE64.encode(user)},
            "stringData": {"extra": password}
        })
    }

    #[test]
    fn masks_objects_keeping_keys_and_base64_validity() {
        let o = Obfuscator::with_salt([7; 16]);
        let masked = o.obfuscate_object(&secret(CANARY, "admin"));
        let text = masked.to_string();
        assert!(
            !text.contains(CANARY) && !text.contains(&BASE64.encode(CANARY)),
            "{text}"
        );
        let password = BASE64.decode(masked["data"]["password"].as_str().unwrap()).unwrap();
        let password = String::from_utf8(password).unwrap();
        assert!(password.starts_with("***** (obfuscated, #"), "{password}");
        // The same value in data and stringData gets the same hash; different values differ.
        assert_eq!(masked["stringData"]["extra"].as_str().unwrap(), password);
        let user = String::from_utf8(BASE64.decode(masked["data"]["user"].as_str().unwrap()).unwrap()).unwrap();
        assert_ne!(user, password);
        assert_eq!(masked["metadata"]["annotations"][LAST_APPLIED], json!(SECRET_MASK));
        // ConfigMaps are not Secrets.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": CANARY}});
        assert_eq!(o.obfuscate_object(&cm), cm);
    }

    #[test]
    fn changed_secret_values_show_as_changed_without_the_value() {
        let o = Obfuscator::with_salt([1; 16]);
        let old = json!({"data": {"password": BASE64.encode("old-password-1"), "same": BASE64.encode("unchanged")}});
        let new = json!({"data": {"password": BASE64.encode(CANARY), "same": BASE64.encode("unchanged"), "added": BASE64.encode(CANARY)}});
        let mut changes = diff_values(&old, &new);
        o.obfuscate_changes(true, &mut changes);
        let text = serde_json::to_string(&changes).unwrap();
        assert!(!text.contains(CANARY) && !text.contains(&BASE64.encode(CANARY)) && !text.contains("old-password-1"));
        let update = changes.iter().find(|c| c.json_path == "data.password").unwrap();
        let lines: Vec<&str> = update.unified_diff.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("-***** (obfuscated, #") && lines[1].starts_with("+***** (obfuscated, #"));
        assert_ne!(
            lines[0][1..],
            lines[1][1..],
            "different values must have different hashes"
        );
        let added = changes.iter().find(|c| c.json_path == "data.added").unwrap();
        assert_eq!(
            added.new_value.as_ref().unwrap().as_str(),
            update.new_value.as_ref().unwrap().as_str()
        );
        // A whole new data map keeps its keys visible.
        let mut whole = diff_values(&json!({}), &json!({"data": {"token": BASE64.encode(CANARY)}}));
        o.obfuscate_changes(true, &mut whole);
        assert!(
            whole[0].unified_diff.starts_with("+token: '***** (obfuscated, #"),
            "{}",
            whole[0].unified_diff
        );
    }

    #[test]
    fn learned_values_are_scrubbed_from_any_text() {
        let o = Obfuscator::new();
        o.learn(&secret(CANARY, "admin"));
        let message = format!(
            "Secret \"db\" is invalid: data[password]: Invalid value: \"{CANARY}\"; base64 {}",
            BASE64.encode(CANARY)
        );
        let clean = o.scrub(&message);
        assert!(
            !clean.contains(CANARY) && !clean.contains(&BASE64.encode(CANARY)),
            "{clean}"
        );
        assert!(clean.contains("Invalid value"));
        // Short values are not searched for, so ordinary words survive.
        assert_eq!(o.scrub("user admin"), "user admin");
        let mut v = json!({"msg": [format!("x{CANARY}y")]});
        o.scrub_value(&mut v);
        assert_eq!(v, json!({"msg": ["x*****y"]}));
    }

    #[test]
    fn multi_line_values_are_scrubbed_line_by_line_and_escaped() {
        let pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----\n";
        let o = Obfuscator::new();
        o.learn(&json!({"apiVersion": "v1", "kind": "Secret", "stringData": {"key": pem}}));
        let escaped = serde_json::to_string(pem).unwrap();
        assert!(
            !o.scrub(&escaped).contains("MIIBOgIBAAJBAKj34"),
            "{}",
            o.scrub(&escaped)
        );
        assert!(
            !o.scrub("line: MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu")
                .contains("MIIBOg")
        );
    }
}
