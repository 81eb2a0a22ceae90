//! Integration tests of the native Kustomize engine: the reference outputs of the shared test
//! data, the corpus recorded with `kubectl kustomize`, and errors and safety.

mod corpus;
mod errors;
mod reference;
mod support;
