//! [`HelmBinary`]: finding the `helm` executable and running `helm template` without a shell.
//!
//! Input: [`TemplateArgs`]; output: Helm's stdout (the manifests) or its stderr as the error.

use super::HelmError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `helm` executable used for rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmBinary {
    path: PathBuf,
}

/// Environment variable naming the helm binary explicitly.
pub const HELM_BINARY_ENV: &str = "KLUCTL_HELM_BINARY";

impl HelmBinary {
    /// Finds helm: `KLUCTL_HELM_BINARY` when set, otherwise `helm` on `PATH`.
    pub fn resolve() -> Result<Self, HelmError> {
        Self::resolve_from(std::env::var_os(HELM_BINARY_ENV), std::env::var_os("PATH"))
    }

    /// [`HelmBinary::resolve`] with explicit values for the two variables.
    pub fn resolve_from(explicit: Option<OsString>, path_var: Option<OsString>) -> Result<Self, HelmError> {
        if let Some(explicit) = explicit.filter(|v| !v.is_empty()) {
            let path = PathBuf::from(&explicit);
            if is_executable(&path) {
                return Ok(HelmBinary { path });
            }
            return Err(HelmError::FindHelm {
                reason: format!("{HELM_BINARY_ENV}={} is not an executable file", path.display()),
            });
        }
        let name = if cfg!(windows) { "helm.exe" } else { "helm" };
        if let Some(path_var) = path_var {
            for dir in std::env::split_paths(&path_var) {
                let candidate = dir.join(name);
                if is_executable(&candidate) {
                    return Ok(HelmBinary { path: candidate });
                }
            }
        }
        Err(HelmError::FindHelm {
            reason: format!("no {name} on PATH and {HELM_BINARY_ENV} is not set"),
        })
    }

    /// Uses the binary at `path` without checking it.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        HelmBinary { path: path.into() }
    }

    /// Where the binary is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `helm version --short`, e.g. `v4.1.4+g05fa379`.
    pub fn version(&self) -> Result<String, HelmError> {
        let output = Command::new(&self.path)
            .args(["version", "--short"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.run_error(e.to_string()))?;
        if !output.status.success() {
            return Err(self.run_error(String::from_utf8_lossy(&output.stderr).trim().to_string()));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Runs `helm template` and returns the manifests it printed.
    pub(crate) fn template(&self, args: &TemplateArgs<'_>) -> Result<String, TemplateFailure> {
        let mut command = Command::new(&self.path);
        command
            .arg("template")
            .arg(args.release)
            .arg(args.chart_dir)
            .arg("--namespace")
            .arg(args.namespace)
            // Test hooks are never deployed by Kluctl.
            .arg("--skip-tests");
        command.arg(if args.include_crds {
            "--include-crds"
        } else {
            "--skip-crds"
        });
        if let Some(values) = args.values {
            command.arg("--values").arg(values);
        }
        if let Some(kube_version) = args.kube_version {
            command.arg("--kube-version").arg(kube_version);
        }
        if !args.api_versions.is_empty() {
            command.arg("--api-versions").arg(args.api_versions.join(","));
        }
        // NB: HELM_NAMESPACE and a debug flag in the user's environment would change the output.
        command
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_DEBUG")
            .stdin(Stdio::null());
        let output = command
            .output()
            .map_err(|e| TemplateFailure::Run(Box::new(self.run_error(e.to_string()))))?;
        if !output.status.success() {
            return Err(TemplateFailure::Helm(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ));
        }
        String::from_utf8(output.stdout)
            .map_err(|_| TemplateFailure::Run(Box::new(self.run_error("helm printed invalid UTF-8".to_string()))))
    }

    fn run_error(&self, message: String) -> HelmError {
        HelmError::RunHelm {
            binary: self.path.display().to_string(),
            message,
        }
    }
}

/// Why `helm template` produced no manifests.
#[derive(Debug)]
pub(crate) enum TemplateFailure {
    /// Helm ran and refused, with this message on stderr.
    Helm(String),
    /// Helm could not be run at all.
    Run(Box<HelmError>),
}

/// The arguments of one `helm template` call.
#[derive(Debug)]
pub(crate) struct TemplateArgs<'a> {
    pub release: &'a str,
    pub chart_dir: &'a Path,
    pub namespace: &'a str,
    pub values: Option<&'a Path>,
    pub include_crds: bool,
    pub kube_version: Option<&'a str>,
    pub api_versions: &'a [String],
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    if !metadata.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_variable_wins_and_must_point_at_an_executable() {
        let dir = tempfile::tempdir().unwrap();
        let err = HelmBinary::resolve_from(Some(dir.path().join("nope").into()), None).unwrap_err();
        assert!(err.to_string().contains("KLUCTL_HELM_BINARY="), "{err}");
        assert!(err.to_string().contains("install Helm"), "{err}");
    }

    #[test]
    fn missing_helm_says_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let err = HelmBinary::resolve_from(None, Some(dir.path().as_os_str().to_owned())).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no helm on PATH"), "{text}");
        assert!(text.contains("https://helm.sh/docs/intro/install/"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn finds_helm_on_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let helm = dir.path().join("helm");
        std::fs::write(&helm, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = HelmBinary::resolve_from(None, Some(dir.path().as_os_str().to_owned())).unwrap();
        assert_eq!(found.path(), helm);
    }
}
