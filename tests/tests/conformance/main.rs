//! Conformance suite of the test API server: the real `kubectl` drives it, and each case asserts on
//! kubectl's output and on the stored object. One test binary, one module per area.

mod util;

mod apply;
mod binary;
mod crds;
mod create;
mod delete;
mod diff;
mod discovery;
mod faults;
mod get;
mod kube_client;
mod rbac;
mod update;
mod wait;
mod watch;
