//! `/version`: the Kubernetes version this server presents itself as. It claims 1.32, the version of
//! the reference `kubectl` (the Debian package's dispatcher picks the kubectl matching the server);
//! the schemas come from k8s-openapi's 1.33 types, a superset for what deployment tools use.

use serde_json::{Value, json};

/// The `gitVersion` reported by `/version` and the OpenAPI documents.
pub const GIT_VERSION: &str = "v1.32.0";

/// The `/version` body.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "kluctl-test-apiserver",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": format!("{}/{}", std::env::consts::OS, match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        }),
    })
}
