//! Completion of `--context`, `--cluster` and `--user`: the names in the kubeconfig files kubectl would read
//! (`--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`). Only names are read; nothing
//! from a kubeconfig (tokens, keys) is ever printed.

use super::Candidate;
use crate::cli::flags::KubeOptions;
use crate::io::Env;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Which list of a kubeconfig to complete from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Section {
    Contexts,
    Clusters,
    Users,
}

/// The names of a section in file order (the first file wins for duplicates); contexts are
/// described by their cluster.
pub(super) fn names(section: Section, explicit: Option<&Path>, env: &Env) -> Vec<Candidate> {
    let key = match section {
        Section::Contexts => "contexts",
        Section::Clusters => "clusters",
        Section::Users => "users",
    };
    let options = KubeOptions {
        kubeconfig: explicit.map(Path::to_path_buf),
        ..Default::default()
    };
    let mut seen = BTreeSet::new();
    let mut candidates = Vec::new();
    for path in options.kubeconfig_paths(env) {
        let Some(config) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| shared::yaml::parse_single(&text, "").ok())
        else {
            continue;
        };
        let entries = config.get(key).and_then(Value::as_array).into_iter().flatten();
        for entry in entries {
            let Some(name) = entry.get("name").and_then(Value::as_str) else {
                continue;
            };
            if seen.insert(name.to_string()) {
                // Only the context's cluster name: nothing of a user or cluster entry is shown.
                let cluster = entry
                    .pointer("/context/cluster")
                    .and_then(Value::as_str)
                    .map(|c| format!("cluster {c}"));
                candidates.push(Candidate::new(name, cluster));
            }
        }
    }
    candidates
}
