//! Kubernetes objects as the engine holds them: plain JSON values (`serde_json::Value`, key order
//! preserved) addressed by an [`ObjectRef`], and grouped per deployment item in an [`ObjectSet`].

mod object_ref;
mod object_set;

pub use object_ref::ObjectRef;
pub use object_set::{DuplicateObject, ItemObjects, ObjectSet};
