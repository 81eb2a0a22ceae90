//! YAML and JSON exactly as Kustomize (Go) reads and writes them: yaml.v3's scalar resolution on
//! input, go-yaml v2's layout on output (what `kubectl kustomize` prints) and `encoding/json`'s
//! bytes for content hashes.

mod emit;
mod json;
mod number;

pub use number::integral;
mod read;
mod style;

pub use emit::{go_yaml_key_cmp, write_document};
pub use json::go_json_marshal;
pub use read::{
    Document, DuplicateKeys, ReadError, Resolution, read_documents, read_documents_full, read_documents_with,
    read_single, read_single_with, resolve_text,
};
