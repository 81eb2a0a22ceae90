//! The transformations of a kustomization layer, one module per field (in the order Kustomize
//! runs them: patches, namespace, prefix and suffix, labels, annotations, JSON 6902 patches,
//! replicas, images, replacements), plus the steps run once for the whole build: name
//! references, vars and sorting.

pub mod affix;
pub mod images;
pub mod metadata;
pub mod nameref;
pub mod namespace;
pub mod patches;
pub mod replacements;
pub mod replicas;
pub mod sort;
pub mod vars;
