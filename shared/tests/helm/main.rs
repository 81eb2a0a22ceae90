//! Integration tests of `shared::helm`: rendering with the real `helm` binary, and helm-pull /
//! helm-update against a chart repository and an OCI registry served on 127.0.0.1 by the test.

mod common;
mod examples;
mod oci;
mod pull;
mod render;
mod update;
