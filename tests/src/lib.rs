//! Test harness of kubectl-kluctl: an in-memory Kubernetes API server served over real HTTP on
//! 127.0.0.1 (so the plugin, the agent and the real `kubectl` all talk to it as to a cluster),
//! plus artifact and chart servers and fixtures for end-to-end tests.

pub mod apiserver;
pub mod bench;
pub mod fixtures;
pub mod servers;
pub mod ssa;
