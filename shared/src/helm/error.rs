//! [`HelmError`]: every way rendering, pulling or updating a Helm chart can fail.
//!
//! Files are named as the user knows them (project-relative, `/`-separated), URLs never carry
//! credentials or query strings, and each message says what to do where there is something to do.

/// A failed Helm step.
#[derive(Clone, Debug, thiserror::Error)]
pub enum HelmError {
    /// No `helm` binary was found.
    #[error(
        "failed to find the helm binary: {reason} (install Helm v3.8 or newer from https://helm.sh/docs/intro/install/ \
         and put it on PATH, or set KLUCTL_HELM_BINARY to its path)"
    )]
    FindHelm {
        /// Where we looked.
        reason: String,
    },
    /// The `helm` binary could not be started or its output not read.
    #[error("failed to run {binary}: {message}")]
    RunHelm {
        /// The binary.
        binary: String,
        /// What went wrong.
        message: String,
    },
    /// A `helm-chart.yaml` could not be read, parsed or validated.
    #[error("failed to read helm chart config {location}: {message}")]
    ReadChartConfig {
        /// `file[:line[:column]]`.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The chart's source cannot be used (a git chart, a local chart outside the project).
    #[error("failed to resolve the helm chart of {file}: {message}")]
    ResolveChart {
        /// The `helm-chart.yaml`.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The chart is missing from `.helm-charts`, or is there in another version.
    #[error(
        "failed to find pre-pulled helm chart {chart} version {version} for {file}: {reason} \
         (run 'kubectl kluctl helm-pull' in the project root, or set skipPrePull: true to pull at render time)"
    )]
    ChartNotPulled {
        /// Chart name.
        chart: String,
        /// Wanted version.
        version: String,
        /// The `helm-chart.yaml`.
        file: String,
        /// What was found instead.
        reason: String,
    },
    /// `helm template` failed.
    #[error("failed to render helm chart {chart} for release {release} ({files}): {message}")]
    HelmTemplate {
        /// Chart name and version.
        chart: String,
        /// Release name.
        release: String,
        /// The `helm-chart.yaml`, and `, values <file>` when a values file was used.
        files: String,
        /// Helm's own message, with temporary paths replaced by project paths.
        message: String,
    },
    /// Helm printed something that is not a stream of YAML objects.
    #[error("failed to parse the output of helm template for {file}: {message}")]
    ParseHelmOutput {
        /// The `helm-chart.yaml`.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The rendered manifests could not be written.
    #[error("failed to write {file}: {message}")]
    WriteOutput {
        /// The output file.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// helm-pull or helm-update was pointed at a directory that is not a Kluctl project root.
    #[error(
        "failed to find a Kluctl project in {dir}: neither .kluctl.yaml nor .kluctl-library.yaml exists \
         (run the command in the project root or pass --project-dir)"
    )]
    FindProject {
        /// The directory.
        dir: String,
    },
    /// The project's files could not be listed.
    #[error("failed to scan {dir} for helm-chart.yaml files: {message}")]
    ScanProject {
        /// The directory.
        dir: String,
        /// The I/O error.
        message: String,
    },
    /// The repository's `index.yaml` could not be fetched or parsed.
    #[error("failed to fetch the index of helm repository {repo}: {message}")]
    FetchIndex {
        /// Repository URL without credentials.
        repo: String,
        /// What went wrong.
        message: String,
    },
    /// The chart, or the version, does not exist in the repository or registry.
    #[error("failed to find helm chart {chart} version {version} in {repo}: {message}")]
    ChartVersionNotFound {
        /// Chart name.
        chart: String,
        /// Wanted version.
        version: String,
        /// Repository URL without credentials.
        repo: String,
        /// What exists instead, and what to check.
        message: String,
    },
    /// The chart archive could not be downloaded.
    #[error("failed to download helm chart {chart} version {version} from {url}: {message}")]
    DownloadChart {
        /// Chart name.
        chart: String,
        /// Version.
        version: String,
        /// URL without credentials.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The downloaded archive does not have the digest the index or manifest promised.
    #[error(
        "failed to verify helm chart {chart} from {url}: its digest is {actual} but the {authority} \
         says {expected} (the download is corrupt or was tampered with; nothing was changed)"
    )]
    VerifyChart {
        /// Chart name and version.
        chart: String,
        /// URL without credentials.
        url: String,
        /// Digest of what we received.
        actual: String,
        /// The digest we were promised.
        expected: String,
        /// Who promised it (`repository index`, `registry manifest`).
        authority: &'static str,
    },
    /// The archive is malformed or unsafe (links, paths leaving the chart, too large).
    #[error("failed to unpack helm chart {chart} version {version} from {url}: {message} (nothing was changed)")]
    UnpackChart {
        /// Chart name.
        chart: String,
        /// Version.
        version: String,
        /// URL without credentials.
        url: String,
        /// What is wrong with the archive.
        message: String,
    },
    /// `.helm-charts` (or the chart cache) could not be updated.
    #[error("failed to update {path}: {message}")]
    WriteCharts {
        /// The directory, project-relative where possible.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The OCI registry refused a request or sent something unexpected.
    #[error("failed to pull {repo} from its oci registry: {message}")]
    Registry {
        /// `oci://` URL without credentials.
        repo: String,
        /// What went wrong.
        message: String,
    },
    /// `updateConstraints` is not a valid semver constraint.
    #[error("failed to parse updateConstraints {constraint:?} in {file}: {message}")]
    InvalidConstraint {
        /// The constraint text.
        constraint: String,
        /// The `helm-chart.yaml`.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// `chartVersion` could not be rewritten by `helm-update --upgrade`.
    #[error("failed to update chartVersion in {file}: {message}")]
    UpdateChartConfig {
        /// The `helm-chart.yaml`.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A credential flag or `KLUCTL_HELM_*` / `KLUCTL_REGISTRY_*` variable is malformed.
    #[error("failed to read helm credentials: {message}")]
    Credentials {
        /// What is wrong (never the secret itself).
        message: String,
    },
}

impl HelmError {
    /// The `helm-chart.yaml` (project-relative) the error is about, when it is about one.
    pub fn config_file(&self) -> Option<&str> {
        match self {
            HelmError::ReadChartConfig { location, .. } => {
                // `file:line:col`: the file is everything before the position.
                let file = location
                    .split(':')
                    .next()
                    .filter(|f| !f.is_empty())
                    .unwrap_or(location.as_str());
                Some(file)
            }
            HelmError::ResolveChart { file, .. }
            | HelmError::ChartNotPulled { file, .. }
            | HelmError::ParseHelmOutput { file, .. } => Some(file),
            HelmError::HelmTemplate { files, .. } => files.split(", values ").next(),
            _ => None,
        }
    }
}

/// Shows a URL without user info, query or fragment, so it is safe in messages and logs.
pub(crate) fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        // Not a URL: drop anything that looks like user info or a query.
        Err(_) => {
            let without_query = raw.split(['?', '#']).next().unwrap_or_default();
            match without_query.rsplit_once('@') {
                Some((_, rest)) => rest.to_string(),
                None => without_query.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_helm_chart_file() {
        let err = HelmError::ReadChartConfig {
            location: "apps/x/helm-chart.yaml:3:5".into(),
            message: "bad".into(),
        };
        assert_eq!(err.config_file(), Some("apps/x/helm-chart.yaml"));
        let err = HelmError::HelmTemplate {
            chart: "c 1.0.0".into(),
            release: "r".into(),
            files: "a/helm-chart.yml, values a/helm-values.yml".into(),
            message: "m".into(),
        };
        assert_eq!(err.config_file(), Some("a/helm-chart.yml"));
        assert_eq!(HelmError::FindHelm { reason: "x".into() }.config_file(), None);
    }

    #[test]
    fn urls_in_messages_never_carry_credentials_or_queries() {
        assert_eq!(
            redact_url("https://user:secret@charts.example.com/x/c-1.0.0.tgz?sig=abc"),
            "https://charts.example.com/x/c-1.0.0.tgz"
        );
        assert_eq!(redact_url("oci://user:pw@ghcr.io/org/chart"), "oci://ghcr.io/org/chart");
        assert_eq!(redact_url("not a url user:pw@host?x"), "host");
    }
}
