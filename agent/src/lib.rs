//! `kluctl-agent`: one agent per namespace, with namespaced RBAC only, that watches
//! `KluctlDeployment` objects, fetches the Flux source artifacts they name and deploys them with
//! the same engine as the plugin.

/// The agent's version, as built.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
