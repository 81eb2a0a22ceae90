//! Kubernetes objects as the engine holds them: plain JSON values (`serde_json::Value`, key order
//! preserved) addressed by an [`ObjectRef`].

mod object_ref;

pub use object_ref::ObjectRef;
