//! `kluctl-agent`: one agent per namespace, with namespaced RBAC only, that watches
//! `KluctlDeployment` objects, fetches the Flux source artifacts they name and deploys them with
//! the same engine as the plugin.

pub mod artifact;

/// The agent's version, as built.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    /// `agent/config/crd.yaml` is generated from `shared::crd`; regenerate it with
    /// `cargo run -p kluctl-agent --bin crdgen > agent/config/crd.yaml`.
    #[test]
    fn committed_crd_is_up_to_date() {
        let committed = include_str!("../config/crd.yaml");
        assert!(
            committed == shared::crd::crd_yaml(),
            "agent/config/crd.yaml is out of date: run `cargo run -p kluctl-agent --bin crdgen > agent/config/crd.yaml`"
        );
    }
}
