//! OCI registry credentials: `--registry-*` flags, `KLUCTL_REGISTRY_[<n>_]*` variable sets and
//! the Docker / Helm registry `config.json` (`auths` entries), matched by registry and repository.

use super::{Secret, TlsFiles, env_bool, env_sets, glob, home_config, read_file, split_flag};
use crate::helm::HelmError;
use base64::Engine as _;
use globset::GlobMatcher;
use std::path::{Path, PathBuf};

/// One set of OCI registry credentials.
#[derive(Clone, Debug, Default)]
pub(crate) struct RegistryAuthEntry {
    pub registry: String,
    pub repository: Option<(String, GlobMatcher)>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub identity_token: Option<Secret>,
    pub token: Option<Secret>,
    pub tls: TlsFiles,
    pub plain_http: bool,
}

/// OCI registry credentials, in the order they are tried.
#[derive(Clone, Debug, Default)]
pub struct RegistryCredentials {
    entries: Vec<RegistryAuthEntry>,
}

/// The `--registry-*` flags (each value `<registry>/<repo>=<value>`).
#[derive(Clone, Debug, Default)]
pub struct RegistryCredentialFlags {
    /// `--registry-username`.
    pub username: Vec<String>,
    /// `--registry-password`.
    pub password: Vec<String>,
    /// `--registry-identity-token`.
    pub identity_token: Vec<String>,
    /// `--registry-token`.
    pub token: Vec<String>,
    /// `--registry-creds` (`<username>:<password>` or a token).
    pub creds: Vec<String>,
    /// `--registry-key-file`.
    pub key_file: Vec<String>,
    /// `--registry-cert-file`.
    pub cert_file: Vec<String>,
    /// `--registry-ca-file`.
    pub ca_file: Vec<String>,
    /// `--registry-plain-http` (value `<registry>/<repo>`).
    pub plain_http: Vec<String>,
    /// `--registry-insecure-skip-tls-verify` (value `<registry>/<repo>`).
    pub insecure_skip_tls_verify: Vec<String>,
}

impl RegistryCredentials {
    /// Flags, then `KLUCTL_REGISTRY_*` variables, then Docker's and Helm's registry `config.json`.
    pub fn load(flags: &RegistryCredentialFlags) -> Result<Self, HelmError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let mut configs = Vec::new();
        if let Some(p) = home_config("HELM_REGISTRY_CONFIG", "helm/registry/config.json") {
            configs.push(p);
        }
        let docker = std::env::var_os("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")));
        configs.extend(docker);
        Self::from_sources(flags, &vars, &configs)
    }

    /// [`RegistryCredentials::load`] with explicit sources.
    pub fn from_sources(
        flags: &RegistryCredentialFlags,
        vars: &[(String, String)],
        auth_configs: &[PathBuf],
    ) -> Result<Self, HelmError> {
        let mut creds = Self::from_flags(flags)?;
        creds.add_env(vars)?;
        for path in auth_configs {
            creds.add_auth_config(path);
        }
        Ok(creds)
    }

    fn from_flags(flags: &RegistryCredentialFlags) -> Result<Self, HelmError> {
        let mut entries: Vec<(String, RegistryAuthEntry)> = Vec::new();
        let groups: [(&Vec<String>, &str, bool); 10] = [
            (&flags.username, "--registry-username", true),
            (&flags.password, "--registry-password", true),
            (&flags.identity_token, "--registry-identity-token", true),
            (&flags.token, "--registry-token", true),
            (&flags.key_file, "--registry-key-file", true),
            (&flags.cert_file, "--registry-cert-file", true),
            (&flags.ca_file, "--registry-ca-file", true),
            (&flags.plain_http, "--registry-plain-http", false),
            (
                &flags.insecure_skip_tls_verify,
                "--registry-insecure-skip-tls-verify",
                false,
            ),
            (&flags.creds, "--registry-creds", true),
        ];
        for (values, flag, expect) in groups {
            for raw in values {
                let (key, value) = split_flag(raw, flag, expect)?;
                let index = match entries.iter().position(|(k, _)| k == key) {
                    Some(i) => i,
                    None => {
                        let mut e = RegistryAuthEntry::default();
                        match key.split_once('/') {
                            Some((registry, repo)) => {
                                e.registry = registry.to_string();
                                e.repository = Some((repo.to_string(), glob(repo, flag)?));
                            }
                            None => e.registry = key.to_string(),
                        }
                        entries.push((key.to_string(), e));
                        entries.len() - 1
                    }
                };
                let e = &mut entries[index].1;
                let value = value.unwrap_or_default().to_string();
                match flag {
                    "--registry-username" => e.username = Some(value),
                    "--registry-password" => e.password = Some(Secret(value)),
                    "--registry-identity-token" => e.identity_token = Some(Secret(value)),
                    "--registry-token" => e.token = Some(Secret(value)),
                    "--registry-key-file" => {
                        e.tls.key = Some(Secret(String::from_utf8_lossy(&read_file(&value, flag)?).into()))
                    }
                    "--registry-cert-file" => e.tls.cert = Some(read_file(&value, flag)?),
                    "--registry-ca-file" => e.tls.ca = Some(read_file(&value, flag)?),
                    "--registry-plain-http" => e.plain_http = true,
                    "--registry-insecure-skip-tls-verify" => e.tls.insecure_skip_verify = true,
                    _ => match value.split_once(':') {
                        Some((user, pass)) => {
                            e.username = Some(user.to_string());
                            e.password = Some(Secret(pass.to_string()));
                        }
                        None => e.token = Some(Secret(value)),
                    },
                }
            }
        }
        Ok(RegistryCredentials {
            entries: entries.into_iter().map(|(_, e)| e).collect(),
        })
    }

    fn add_env(&mut self, vars: &[(String, String)]) -> Result<(), HelmError> {
        let default_insecure = vars
            .iter()
            .find(|(k, _)| k == "KLUCTL_REGISTRY_DEFAULT_INSECURE_SKIP_TLS_VERIFY")
            .map(|(_, v)| v);
        let default_insecure = env_bool(default_insecure, false);
        for (index, set) in env_sets(vars, "KLUCTL_REGISTRY") {
            let var = |key: &str| {
                if index < 0 {
                    format!("KLUCTL_REGISTRY_{key}")
                } else {
                    format!("KLUCTL_REGISTRY_{index}_{key}")
                }
            };
            let mut host = set.get("HOST").cloned().unwrap_or_default();
            let mut repo = set.get("REPOSITORY").cloned().unwrap_or_default();
            if host.is_empty() && repo.is_empty() {
                continue;
            }
            if host.is_empty() {
                // REPOSITORY alone is a full reference: `registry/repo`.
                let reference = repo.trim_start_matches("oci://").to_string();
                let Some((h, r)) = reference.split_once('/') else {
                    continue;
                };
                host = h.to_string();
                repo = r.to_string();
            }
            let mut e = RegistryAuthEntry {
                registry: host,
                username: set.get("USERNAME").cloned(),
                password: set.get("PASSWORD").cloned().map(Secret),
                identity_token: set.get("IDENTITY_TOKEN").cloned().map(Secret),
                token: set.get("TOKEN").cloned().map(Secret),
                plain_http: env_bool(set.get("PLAIN_HTTP"), false),
                ..Default::default()
            };
            e.tls.insecure_skip_verify = env_bool(set.get("INSECURE_SKIP_TLS_VERIFY"), default_insecure);
            if !repo.is_empty() {
                e.repository = Some((repo.clone(), glob(&repo, &var("REPOSITORY"))?));
            }
            if let Some(p) = set.get("CA_FILE") {
                e.tls.ca = Some(read_file(p, &var("CA_FILE"))?);
            }
            if let Some(p) = set.get("CERT_FILE") {
                e.tls.cert = Some(read_file(p, &var("CERT_FILE"))?);
            }
            if let Some(p) = set.get("KEY_FILE") {
                e.tls.key = Some(Secret(String::from_utf8_lossy(&read_file(p, &var("KEY_FILE"))?).into()));
            }
            self.entries.push(e);
        }
        Ok(())
    }

    /// Reads `auths` of a Docker-style `config.json`; credential helpers are not run.
    fn add_auth_config(&mut self, path: &Path) {
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
            return;
        };
        let Some(auths) = doc.get("auths").and_then(|a| a.as_object()) else {
            return;
        };
        for (registry, auth) in auths {
            let registry = registry
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .trim_end_matches("/v1")
                .to_string();
            let s = |k: &str| auth.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
            let mut e = RegistryAuthEntry {
                registry,
                identity_token: s("identitytoken").map(|t| Secret(t.to_string())),
                ..Default::default()
            };
            if let Some(encoded) = s("auth")
                && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded)
                && let Some((user, pass)) = String::from_utf8_lossy(&decoded).split_once(':')
            {
                e.username = Some(user.to_string());
                e.password = Some(Secret(pass.to_string()));
            } else {
                e.username = s("username").map(str::to_string);
                e.password = s("password").map(|p| Secret(p.to_string()));
            }
            self.entries.push(e);
        }
    }

    /// The entry for `registry` (`host[:port]`) and repository path (`org/chart`).
    pub(crate) fn find(&self, registry: &str, repository: &str) -> Option<&RegistryAuthEntry> {
        self.entries
            .iter()
            .find(|e| e.registry == registry && e.repository.as_ref().is_none_or(|(_, g)| g.is_match(repository)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn registry_flags_env_and_docker_config() {
        let flags = RegistryCredentialFlags {
            creds: vec!["ghcr.io/org/*=alice:pw".into()],
            plain_http: vec!["127.0.0.1:5000".into()],
            ..Default::default()
        };
        let env = vars(&[
            ("KLUCTL_REGISTRY_1_REPOSITORY", "registry.example.com/team/chart"),
            ("KLUCTL_REGISTRY_1_TOKEN", "tok"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"auths": {"https://docker.example.com": {"auth": "Ym9iOmh1bnRlcjI="}}}"#,
        )
        .unwrap();
        let creds = RegistryCredentials::from_sources(&flags, &env, &[config]).unwrap();
        assert_eq!(
            creds.find("ghcr.io", "org/chart").unwrap().username.as_deref(),
            Some("alice")
        );
        assert!(creds.find("ghcr.io", "elsewhere/chart").is_none());
        assert!(creds.find("127.0.0.1:5000", "x").unwrap().plain_http);
        assert_eq!(
            creds
                .find("registry.example.com", "team/chart")
                .unwrap()
                .token
                .as_ref()
                .unwrap()
                .0,
            "tok"
        );
        let docker = creds.find("docker.example.com", "any").unwrap();
        assert_eq!(docker.username.as_deref(), Some("bob"));
        assert_eq!(docker.password.as_ref().unwrap().0, "hunter2");
    }
}
