//! Other servers tests need on 127.0.0.1: Helm chart repositories, OCI registries, Flux artifact servers.

pub mod artifact;
pub mod chart_repo;
pub mod charts;
pub mod http;
pub mod oci_registry;
