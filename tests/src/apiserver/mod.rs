//! The in-memory Kubernetes API server: store, discovery, REST handlers, watch, auth, served over HTTP.
