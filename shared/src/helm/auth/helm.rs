//! Chart repository credentials: `--helm-*` flags, `KLUCTL_HELM_[<n>_]*` variable sets and
//! Helm's `repositories.yaml`, matched by host and path glob (or the deprecated `credentialsId`).

use super::{Secret, TlsFiles, cred_error, env_bool, env_sets, glob, home_config, read_file, split_flag};
use crate::helm::HelmError;
use globset::GlobMatcher;
use std::path::Path;
use url::Url;

/// One set of chart repository credentials.
#[derive(Clone, Debug, Default)]
pub(crate) struct HelmAuthEntry {
    pub credentials_id: Option<String>,
    pub host: Option<String>,
    pub path: Option<(String, GlobMatcher)>,
    /// A full repository URL prefix (entries from Helm's `repositories.yaml`).
    pub url_prefix: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub tls: TlsFiles,
    pub pass_credentials_all: bool,
}

/// Chart repository credentials, in the order they are tried.
#[derive(Clone, Debug, Default)]
pub struct HelmCredentials {
    entries: Vec<HelmAuthEntry>,
}

/// The `--helm-*` flags, as given on the command line (each value `<host>/<path>=<value>`).
#[derive(Clone, Debug, Default)]
pub struct HelmCredentialFlags {
    /// `--helm-username`.
    pub username: Vec<String>,
    /// `--helm-password`.
    pub password: Vec<String>,
    /// `--helm-key-file`.
    pub key_file: Vec<String>,
    /// `--helm-cert-file`.
    pub cert_file: Vec<String>,
    /// `--helm-ca-file`.
    pub ca_file: Vec<String>,
    /// `--helm-insecure-skip-tls-verify` (value `<host>/<path>`).
    pub insecure_skip_tls_verify: Vec<String>,
    /// `--helm-creds` (`<host>/<path>=<username>:<password>`).
    pub creds: Vec<String>,
}

impl HelmCredentials {
    /// Flags, then `KLUCTL_HELM_*` variables, then Helm's `repositories.yaml`.
    pub fn load(flags: &HelmCredentialFlags) -> Result<Self, HelmError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let repo_config = home_config("HELM_REPOSITORY_CONFIG", "helm/repositories.yaml");
        Self::from_sources(flags, &vars, repo_config.as_deref())
    }

    /// [`HelmCredentials::load`] with explicit sources (tests, the agent).
    pub fn from_sources(
        flags: &HelmCredentialFlags,
        vars: &[(String, String)],
        repositories_yaml: Option<&Path>,
    ) -> Result<Self, HelmError> {
        let mut creds = Self::from_flags(flags)?;
        creds.add_env(vars)?;
        if let Some(path) = repositories_yaml {
            creds.add_repositories_yaml(path)?;
        }
        Ok(creds)
    }

    fn from_flags(flags: &HelmCredentialFlags) -> Result<Self, HelmError> {
        let mut entries: Vec<(String, HelmAuthEntry)> = Vec::new();
        let groups: [(&Vec<String>, &str, bool); 7] = [
            (&flags.username, "--helm-username", true),
            (&flags.password, "--helm-password", true),
            (&flags.key_file, "--helm-key-file", true),
            (&flags.cert_file, "--helm-cert-file", true),
            (&flags.ca_file, "--helm-ca-file", true),
            (
                &flags.insecure_skip_tls_verify,
                "--helm-insecure-skip-tls-verify",
                false,
            ),
            (&flags.creds, "--helm-creds", true),
        ];
        for (values, flag, expect) in groups {
            for raw in values {
                // Kluctl still accepts the deprecated `<credentialsId>:<value>` form (no '=').
                let deprecated_id = expect && !raw.contains('=') && raw.matches(':').count() == 1;
                let (key, value) = if deprecated_id {
                    let (id, v) = raw.split_once(':').unwrap_or_default();
                    (id, Some(v))
                } else {
                    split_flag(raw, flag, expect)?
                };
                let index = match entries.iter().position(|(k, _)| k == key) {
                    Some(i) => i,
                    None => {
                        let mut e = HelmAuthEntry::default();
                        if deprecated_id {
                            e.credentials_id = Some(key.to_string());
                        } else if let Some((host, path)) = key.split_once('/') {
                            e.host = Some(host.to_string());
                            e.path = Some((path.to_string(), glob(path, flag)?));
                        } else {
                            e.host = Some(key.to_string());
                        }
                        entries.push((key.to_string(), e));
                        entries.len() - 1
                    }
                };
                let e = &mut entries[index].1;
                let value = value.unwrap_or_default().to_string();
                match flag {
                    "--helm-username" => e.username = Some(value),
                    "--helm-password" => e.password = Some(Secret(value)),
                    "--helm-key-file" => {
                        e.tls.key = Some(Secret(String::from_utf8_lossy(&read_file(&value, flag)?).into()))
                    }
                    "--helm-cert-file" => e.tls.cert = Some(read_file(&value, flag)?),
                    "--helm-ca-file" => e.tls.ca = Some(read_file(&value, flag)?),
                    "--helm-insecure-skip-tls-verify" => e.tls.insecure_skip_verify = true,
                    _ => {
                        let (user, pass) = value.split_once(':').ok_or_else(|| {
                            cred_error("--helm-creds must be in the form <host>/<path>=<username>:<password>")
                        })?;
                        e.username = Some(user.to_string());
                        e.password = Some(Secret(pass.to_string()));
                    }
                }
            }
        }
        // Kluctl lists credentialsId entries before host entries.
        entries.sort_by_key(|(_, e)| e.credentials_id.is_none());
        Ok(HelmCredentials {
            entries: entries.into_iter().map(|(_, e)| e).collect(),
        })
    }

    fn add_env(&mut self, vars: &[(String, String)]) -> Result<(), HelmError> {
        let default_insecure = vars
            .iter()
            .find(|(k, _)| k == "KLUCTL_HELM_DEFAULT_INSECURE_SKIP_TLS_VERIFY")
            .map(|(_, v)| v);
        let default_insecure = env_bool(default_insecure, false);
        for (index, set) in env_sets(vars, "KLUCTL_HELM") {
            let host = set.get("HOST").filter(|h| !h.is_empty());
            let id = set.get("CREDENTIALS_ID").filter(|h| !h.is_empty());
            if host.is_none() && id.is_none() {
                continue;
            }
            let var = |key: &str| {
                if index < 0 {
                    format!("KLUCTL_HELM_{key}")
                } else {
                    format!("KLUCTL_HELM_{index}_{key}")
                }
            };
            let mut e = HelmAuthEntry {
                credentials_id: id.cloned(),
                host: host.cloned(),
                username: set.get("USERNAME").cloned(),
                password: set.get("PASSWORD").cloned().map(Secret),
                pass_credentials_all: env_bool(set.get("PASS_CREDENTIALS_ALL"), false),
                ..Default::default()
            };
            e.tls.insecure_skip_verify = env_bool(set.get("INSECURE_SKIP_TLS_VERIFY"), default_insecure);
            if let Some(path) = set.get("PATH").filter(|p| !p.is_empty()) {
                e.path = Some((path.clone(), glob(path, &var("PATH"))?));
            }
            if let Some(p) = set.get("CERT_FILE") {
                e.tls.cert = Some(read_file(p, &var("CERT_FILE"))?);
            }
            if let Some(p) = set.get("KEY_FILE") {
                e.tls.key = Some(Secret(String::from_utf8_lossy(&read_file(p, &var("KEY_FILE"))?).into()));
            }
            if let Some(p) = set.get("CA_FILE") {
                e.tls.ca = Some(read_file(p, &var("CA_FILE"))?);
            }
            self.entries.push(e);
        }
        Ok(())
    }

    fn add_repositories_yaml(&mut self, path: &Path) -> Result<(), HelmError> {
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(());
        };
        let doc = crate::yaml::parse_single(&text, &path.display().to_string())
            .map_err(|e| cred_error(format!("invalid Helm repository config: {e}")))?;
        let repos = doc
            .get("repositories")
            .and_then(|r| r.as_array())
            .cloned()
            .unwrap_or_default();
        for repo in repos {
            let s = |k: &str| repo.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
            let Some(url) = s("url") else { continue };
            let mut e = HelmAuthEntry {
                url_prefix: Some(url.trim_end_matches('/').to_string()),
                username: s("username").map(str::to_string),
                password: s("password").map(|p| Secret(p.to_string())),
                pass_credentials_all: repo
                    .get("pass_credentials_all")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                ..Default::default()
            };
            e.tls.insecure_skip_verify = repo
                .get("insecure_skip_tls_verify")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            // Unreadable TLS files in someone's Helm config should not break charts that do not need them.
            e.tls.ca = s("caFile").and_then(|p| std::fs::read(p).ok());
            e.tls.cert = s("certFile").and_then(|p| std::fs::read(p).ok());
            e.tls.key = s("keyFile")
                .and_then(|p| std::fs::read(p).ok())
                .map(|b| Secret(String::from_utf8_lossy(&b).into()));
            self.entries.push(e);
        }
        Ok(())
    }

    /// The entry for a repository URL (and the chart's deprecated `credentialsId`).
    pub(crate) fn find(&self, repo: &Url, credentials_id: Option<&str>) -> Option<&HelmAuthEntry> {
        let host = host_with_port(repo);
        let path = repo.path().trim_start_matches('/');
        let repo_text = repo.as_str().trim_end_matches('/');
        self.entries.iter().find(|e| {
            if let (Some(id), Some(want)) = (&e.credentials_id, credentials_id) {
                return id == want;
            }
            if let Some(prefix) = &e.url_prefix {
                return repo_text == prefix;
            }
            match &e.host {
                Some(h) => *h == host && e.path.as_ref().is_none_or(|(_, g)| g.is_match(path)),
                None => false,
            }
        })
    }

    /// True when no credentials are configured at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn host_with_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn helm_flags_match_host_and_path_glob() {
        let flags = HelmCredentialFlags {
            creds: vec!["charts.example.com/private/*=alice:s3cret".into()],
            username: vec!["other.io=bob".into()],
            ..Default::default()
        };
        let creds = HelmCredentials::from_sources(&flags, &[], None).unwrap();
        let hit = creds
            .find(&Url::parse("https://charts.example.com/private/stable").unwrap(), None)
            .unwrap();
        assert_eq!(hit.username.as_deref(), Some("alice"));
        assert_eq!(hit.password.as_ref().unwrap().0, "s3cret");
        assert!(
            creds
                .find(&Url::parse("https://charts.example.com/public").unwrap(), None)
                .is_none()
        );
        assert!(creds.find(&Url::parse("https://other.io/x").unwrap(), None).is_some());
        assert!(!format!("{creds:?}").contains("s3cret"));
    }

    #[test]
    fn helm_env_sets_and_credentials_ids() {
        let env = vars(&[
            ("KLUCTL_HELM_0_HOST", "127.0.0.1:8080"),
            ("KLUCTL_HELM_0_USERNAME", "u0"),
            ("KLUCTL_HELM_0_PASSWORD", "p0"),
            ("KLUCTL_HELM_CREDENTIALS_ID", "legacy"),
            ("KLUCTL_HELM_USERNAME", "u1"),
            ("KLUCTL_HELM_BINARY", "/usr/bin/helm"),
        ]);
        let creds = HelmCredentials::from_sources(&Default::default(), &env, None).unwrap();
        let url = Url::parse("http://127.0.0.1:8080/charts").unwrap();
        assert_eq!(creds.find(&url, None).unwrap().username.as_deref(), Some("u0"));
        assert_eq!(
            creds.find(&url, Some("legacy")).unwrap().username.as_deref(),
            Some("u1")
        );
    }

    #[test]
    fn malformed_flags_are_explained_without_secrets() {
        let flags = HelmCredentialFlags {
            creds: vec!["host=nopassword".into()],
            ..Default::default()
        };
        let err = HelmCredentials::from_sources(&flags, &[], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("<username>:<password>"), "{err}");
        let flags = HelmCredentialFlags {
            ca_file: vec!["host=/does/not/exist".into()],
            ..Default::default()
        };
        let err = HelmCredentials::from_sources(&flags, &[], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--helm-ca-file") && err.contains("/does/not/exist"),
            "{err}"
        );
    }
}
