//! `configMapGenerator` and `secretGenerator`: data from literals, files and env files, labels,
//! annotations and `immutable` from the options, and the content-hash name suffix computed
//! exactly as Kustomize's `hasher` does (SHA-256 of Go's JSON of kind, name, data, type).

use super::goyaml::go_json_marshal;
use super::resource::{Behavior, Origin, Resource};
use super::types::{GeneratorArgs, GeneratorOptions};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Which generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorKind {
    ConfigMap,
    Secret,
}

impl GeneratorKind {
    /// The field of the kustomization file.
    pub fn field(self) -> &'static str {
        match self {
            GeneratorKind::ConfigMap => "configMapGenerator",
            GeneratorKind::Secret => "secretGenerator",
        }
    }
}

/// One key and its value, from any source.
struct Pair {
    key: String,
    value: Vec<u8>,
}

/// Reads files for a generator; errors are already user-facing.
pub trait FileSource {
    /// The bytes of a file named as written in the kustomization.
    fn read(&self, entry: &str) -> Result<Vec<u8>, String>;
}

/// Merges the kustomization's `generatorOptions` under a generator's own `options`
/// (Kustomize's `MergeGlobalOptionsIntoLocal`: the generator's own values win).
pub fn merge_options(local: Option<&GeneratorOptions>, global: Option<&GeneratorOptions>) -> GeneratorOptions {
    let mut merged = local.cloned().unwrap_or_default();
    if let Some(global) = global {
        for (k, v) in &global.labels {
            merged.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &global.annotations {
            merged.annotations.entry(k.clone()).or_insert_with(|| v.clone());
        }
        merged.disable_name_suffix_hash |= global.disable_name_suffix_hash;
        merged.immutable |= global.immutable;
    }
    merged
}

/// Generates one ConfigMap or Secret.
pub fn generate(
    kind: GeneratorKind,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    files: &dyn FileSource,
    configured_in: String,
) -> Result<Resource, String> {
    if args.name.is_empty() {
        return Err("a generator needs a name".to_string());
    }
    let options = merge_options(args.options.as_ref(), global);
    let pairs = load_pairs(args, files)?;
    let mut data = BTreeMap::new();
    for pair in pairs {
        if !is_valid_key(&pair.key) {
            return Err(format!(
                "{:?} is not a valid key name: keys may hold only letters, digits, '-', '_' and '.'",
                pair.key
            ));
        }
        if data.insert(pair.key.clone(), pair.value).is_some() {
            return Err(format!(
                "{} {:?} repeats the key {:?}",
                kind_name(kind),
                args.name,
                pair.key
            ));
        }
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), json!("v1"));
    object.insert("kind".into(), json!(kind_name(kind)));
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(args.name));
    if !args.namespace.is_empty() {
        metadata.insert("namespace".into(), json!(args.namespace));
    }
    if !options.labels.is_empty() {
        metadata.insert("labels".into(), json!(options.labels));
    }
    if !options.annotations.is_empty() {
        metadata.insert("annotations".into(), json!(options.annotations));
    }
    object.insert("metadata".into(), Value::Object(metadata));
    match kind {
        GeneratorKind::ConfigMap => {
            let mut text = Map::new();
            let mut binary = Map::new();
            for (key, value) in data {
                match String::from_utf8(value) {
                    Ok(s) => text.insert(key, Value::String(s)),
                    Err(e) => binary.insert(key, Value::String(base64_encode(e.as_bytes()))),
                };
            }
            if !text.is_empty() {
                object.insert("data".into(), Value::Object(text));
            }
            if !binary.is_empty() {
                object.insert("binaryData".into(), Value::Object(binary));
            }
        }
        GeneratorKind::Secret => {
            let secret_type = if args.secret_type.is_empty() {
                "Opaque"
            } else {
                &args.secret_type
            };
            object.insert("type".into(), json!(secret_type));
            if !data.is_empty() {
                let encoded: Map<String, Value> = data
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(base64_encode(&v))))
                    .collect();
                object.insert("data".into(), Value::Object(encoded));
            }
        }
    }
    if options.immutable {
        object.insert("immutable".into(), json!(true));
    }
    let mut resource = Resource::new(Value::Object(object));
    resource.behavior = match args.behavior.as_str() {
        "create" => Behavior::Create,
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        _ => Behavior::Unspecified,
    };
    resource.needs_hash = !options.disable_name_suffix_hash;
    resource.origin = Some(Origin::Configured {
        configured_in,
        kind: match kind {
            GeneratorKind::ConfigMap => "ConfigMapGenerator",
            GeneratorKind::Secret => "SecretGenerator",
        }
        .to_string(),
        name: None,
    });
    Ok(resource)
}

fn kind_name(kind: GeneratorKind) -> &'static str {
    match kind {
        GeneratorKind::ConfigMap => "ConfigMap",
        GeneratorKind::Secret => "Secret",
    }
}

/// Base64 as Kustomize writes generated data: lines of 70 characters, each ending in a newline,
/// once the text is 70 characters or longer (kyaml's `encodeBase64`).
fn base64_encode(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Env files first, then literals, then files, as Kustomize's KV loader reads them.
fn load_pairs(args: &GeneratorArgs, files: &dyn FileSource) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::new();
    for env in &args.envs {
        let content = files.read(env)?;
        pairs.extend(parse_env_file(&content).map_err(|e| format!("env file {env:?}: {e}"))?);
    }
    for literal in &args.literals {
        let (key, value) = literal
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("invalid literal {literal:?}, expected key=value"))?;
        pairs.push(Pair {
            key: key.to_string(),
            value: remove_quotes(value).as_bytes().to_vec(),
        });
    }
    for source in &args.files {
        let (key, path) = parse_file_source(source)?;
        let value = files.read(&path)?;
        pairs.push(Pair { key, value });
    }
    Ok(pairs)
}

/// Strips one pair of matching surrounding quotes.
fn remove_quotes(value: &str) -> &str {
    let bytes = value.as_bytes();
    if bytes.len() >= 2 && bytes[0] == bytes[bytes.len() - 1] && (bytes[0] == b'"' || bytes[0] == b'\'') {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// `path` (key = file name) or `key=path`.
fn parse_file_source(source: &str) -> Result<(String, String), String> {
    match source.matches('=').count() {
        0 => {
            let key = source.rsplit('/').next().unwrap_or(source).to_string();
            Ok((key, source.to_string()))
        }
        1 => {
            let (key, path) = source.split_once('=').unwrap_or_default();
            if key.is_empty() {
                Err(format!("missing key name for file path {path:?} in {source:?}"))
            } else if path.is_empty() {
                Err(format!("missing file path for key name {key:?} in {source:?}"))
            } else {
                Ok((key.to_string(), path.to_string()))
            }
        }
        _ => Err(format!("key names or file paths cannot contain '=' ({source:?})")),
    }
}

/// `KEY=value` lines; `#` comments and blank lines skipped; a line without `=` has an empty value.
fn parse_env_file(content: &[u8]) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::new();
    for (index, raw) in content.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let mut line = std::str::from_utf8(raw).map_err(|_| format!("line {} is not valid UTF-8", index + 1))?;
        if index == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if !is_env_var_name(key) {
            return Err(format!(
                "line {}: {key:?} is not a valid variable name (letters, digits, '_', '-' and '.', not starting with a digit)",
                index + 1
            ));
        }
        pairs.push(Pair {
            key: key.to_string(),
            value: value.as_bytes().to_vec(),
        });
    }
    Ok(pairs)
}

fn is_env_var_name(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Kustomize's content hash of an object (the suffix appended to generated names).
pub fn content_hash(object: &Value) -> String {
    let field = |path: &[&str]| -> Value {
        let mut node = object;
        for part in path {
            match node.get(part) {
                Some(next) => node = next,
                None => return Value::String(String::new()),
            }
        }
        match node {
            Value::Object(_) => node.clone(),
            Value::String(s) => Value::String(s.clone()),
            Value::Null => Value::String(String::new()),
            other => Value::String(other.to_string()),
        }
    };
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    // Kustomize looks the name up with a path it does not split, so the name is always empty.
    let encoded = match kind {
        "ConfigMap" => {
            let mut m = Map::new();
            m.insert("kind".into(), json!("ConfigMap"));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), field(&["data"]));
            if let Value::Object(binary) = field(&["binaryData"]) {
                m.insert("binaryData".into(), Value::Object(binary));
            }
            go_json_marshal(&Value::Object(m))
        }
        "Secret" => {
            let mut m = Map::new();
            m.insert("kind".into(), json!("Secret"));
            m.insert("type".into(), field(&["type"]));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), field(&["data"]));
            if let Value::Object(string_data) = field(&["stringData"]) {
                m.insert("stringData".into(), Value::Object(string_data));
            }
            go_json_marshal(&Value::Object(m))
        }
        _ => go_json_marshal(object),
    };
    let digest = Sha256::digest(encoded.as_bytes());
    hex::encode(digest)[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files(Vec<(&'static str, &'static [u8])>);
    impl FileSource for Files {
        fn read(&self, entry: &str) -> Result<Vec<u8>, String> {
            self.0
                .iter()
                .find(|(n, _)| *n == entry)
                .map(|(_, c)| c.to_vec())
                .ok_or_else(|| format!("{entry:?} does not exist"))
        }
    }

    fn args(name: &str) -> GeneratorArgs {
        GeneratorArgs {
            name: name.to_string(),
            ..GeneratorArgs::default()
        }
    }

    #[test]
    fn hashes_like_kubectl() {
        let files = Files(vec![]);
        let empty = generate(GeneratorKind::ConfigMap, &args("empty"), None, &files, String::new()).unwrap();
        assert_eq!(content_hash(&empty.object), "6ct58987ht");
        let mut s = args("s");
        s.literals = vec!["a=b".into()];
        let secret = generate(GeneratorKind::Secret, &s, None, &files, String::new()).unwrap();
        assert_eq!(content_hash(&secret.object), "k695gkmbtk");
        s.secret_type = "kubernetes.io/tls".into();
        s.options = Some(GeneratorOptions {
            immutable: true,
            ..GeneratorOptions::default()
        });
        let tls = generate(GeneratorKind::Secret, &s, None, &files, String::new()).unwrap();
        assert_eq!(content_hash(&tls.object), "92982c4m8f");
        assert_eq!(tls.object["immutable"], json!(true));
    }

    #[test]
    fn reads_env_files_literals_and_files_like_kustomize() {
        let files = Files(vec![
            ("e.env", b"\xef\xbb\xbfA=1\n  # comment\nHOME\nB= spaced  \r\nC=\"q\"\n"),
            ("f.txt", b"hello\n"),
            ("bin.dat", b"\xff\xfe"),
        ]);
        let mut a = args("cm");
        a.envs = vec!["e.env".into()];
        a.literals = vec!["x=\"quoted\"".into(), "y='s'".into(), "z=a=b".into()];
        a.files = vec!["f.txt".into(), "k=f.txt".into(), "bin.dat".into()];
        let cm = generate(GeneratorKind::ConfigMap, &a, None, &files, String::new()).unwrap();
        assert_eq!(
            cm.object["data"],
            json!({"A": "1", "B": " spaced  ", "C": "\"q\"", "HOME": "", "f.txt": "hello\n", "k": "hello\n", "x": "quoted", "y": "s", "z": "a=b"})
        );
        assert_eq!(cm.object["binaryData"], json!({"bin.dat": "//4="}));
        assert_eq!(content_hash(&cm.object), "4kc2d5t4kg");
    }

    #[test]
    fn wraps_long_base64_like_kustomize() {
        assert_eq!(base64_encode(b"short"), "c2hvcnQ=");
        let wrapped = base64_encode(&[b'x'; 60]);
        assert_eq!(wrapped.lines().map(str::len).collect::<Vec<_>>(), vec![70, 10]);
        assert!(wrapped.ends_with('\n'));
    }

    #[test]
    fn refuses_bad_and_repeated_keys() {
        let files = Files(vec![]);
        let mut a = args("cm");
        a.literals = vec!["a=1".into(), "a=2".into()];
        assert!(
            generate(GeneratorKind::ConfigMap, &a, None, &files, String::new())
                .unwrap_err()
                .contains("repeats the key")
        );
        a.literals = vec!["bad key=1".into()];
        assert!(generate(GeneratorKind::ConfigMap, &a, None, &files, String::new()).is_err());
        a.literals = vec!["=1".into()];
        assert!(generate(GeneratorKind::ConfigMap, &a, None, &files, String::new()).is_err());
    }

    #[test]
    fn local_options_win_over_global_ones() {
        let local = GeneratorOptions {
            labels: [("a".to_string(), "local".to_string())].into(),
            ..GeneratorOptions::default()
        };
        let global = GeneratorOptions {
            labels: [
                ("a".to_string(), "global".to_string()),
                ("b".to_string(), "g".to_string()),
            ]
            .into(),
            disable_name_suffix_hash: true,
            ..GeneratorOptions::default()
        };
        let merged = merge_options(Some(&local), Some(&global));
        assert_eq!(merged.labels["a"], "local");
        assert_eq!(merged.labels["b"], "g");
        assert!(merged.disable_name_suffix_hash);
    }
}
