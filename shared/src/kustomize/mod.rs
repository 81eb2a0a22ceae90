//! The native Kustomize engine: builds a kustomization directory into a list of objects, like `kubectl kustomize`.

pub mod goyaml;
