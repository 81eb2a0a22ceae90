//! Completion of `--context`: the context names of the kubeconfig files kubectl would read
//! (`--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`). Only names are read; nothing
//! from a kubeconfig (tokens, keys) is ever printed.

use super::Candidate;
use crate::cli::flags::KubeOptions;
use crate::io::Env;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The contexts in file order (first file wins for duplicates), with their cluster as description.
pub(super) fn contexts(explicit: Option<&Path>, env: &Env) -> Vec<Candidate> {
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
        let contexts = config.get("contexts").and_then(Value::as_array).into_iter().flatten();
        for context in contexts {
            let Some(name) = context.get("name").and_then(Value::as_str) else {
                continue;
            };
            if seen.insert(name.to_string()) {
                let cluster = context
                    .pointer("/context/cluster")
                    .and_then(Value::as_str)
                    .map(|c| format!("cluster {c}"));
                candidates.push(Candidate::new(name, cluster));
            }
        }
    }
    candidates
}
