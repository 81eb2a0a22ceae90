//! Credentials for chart repositories and OCI registries, found as Kluctl finds them.
//!
//! Input: the `--helm-*` / `--registry-*` flag values (`<host>/<path>=<value>`), the
//! `KLUCTL_HELM_[<n>_]*` and `KLUCTL_REGISTRY_[<n>_]*` variables, Helm's `repositories.yaml`, and
//! the Docker / Helm registry `config.json` (`auths` entries); output: the entry for a URL.
//! Flags win over variables, variables over the config files. `Debug` never shows a secret.

mod helm;
mod registry;

pub(crate) use helm::HelmAuthEntry;
pub use helm::{HelmCredentialFlags, HelmCredentials};
pub(crate) use registry::RegistryAuthEntry;
pub use registry::{RegistryCredentialFlags, RegistryCredentials};

use super::HelmError;
use globset::{Glob, GlobMatcher};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A secret string whose `Debug` and `Display` are redacted.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "<redacted>" })
    }
}

/// TLS settings of one entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsFiles {
    pub ca: Option<Vec<u8>>,
    pub cert: Option<Vec<u8>>,
    pub key: Option<Secret>,
    pub insecure_skip_verify: bool,
}

pub(super) fn cred_error(message: impl Into<String>) -> HelmError {
    HelmError::Credentials {
        message: message.into(),
    }
}

pub(super) fn glob(pattern: &str, flag: &str) -> Result<GlobMatcher, HelmError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| cred_error(format!("{flag}: invalid path pattern {pattern:?}: {e}")))
}

pub(super) fn read_file(path: &str, what: &str) -> Result<Vec<u8>, HelmError> {
    std::fs::read(path).map_err(|e| cred_error(format!("{what}: could not read {path}: {e}")))
}

/// Splits `KEY=value` where KEY is `<host>[/<path>]`.
pub(super) fn split_flag<'a>(
    value: &'a str,
    flag: &str,
    expect_value: bool,
) -> Result<(&'a str, Option<&'a str>), HelmError> {
    match value.split_once('=') {
        Some((key, v)) => Ok((key, Some(v))),
        None if expect_value => Err(cred_error(format!(
            "{flag} must be in the form <host>/<path>=<value> (got a value without '=')"
        ))),
        None => Ok((value, None)),
    }
}

/// Parses `KLUCTL_<PREFIX>[_<n>]_<KEY>` variables into sets by index (Kluctl's env config sets).
pub(super) fn env_sets(vars: &[(String, String)], prefix: &str) -> BTreeMap<i64, BTreeMap<String, String>> {
    let mut sets: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    let head = format!("{prefix}_");
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(&head) else {
            continue;
        };
        let (index, key) = match rest.split_once('_') {
            Some((n, key)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (n.parse().unwrap_or(-1), key),
            _ => (-1, rest),
        };
        if !key.is_empty() {
            sets.entry(index).or_default().insert(key.to_string(), value.clone());
        }
    }
    sets
}

pub(super) fn env_bool(value: Option<&String>, default: bool) -> bool {
    match value.map(|v| v.as_str()) {
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => true,
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => false,
        _ => default,
    }
}

pub(super) fn home_config(env_var: &str, relative: &str) -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os(env_var) {
        return Some(PathBuf::from(explicit));
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config_home.join(relative))
}
