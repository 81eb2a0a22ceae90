//! End-to-end tests of the agent: the in-memory API server with the Flux CRDs and the generated
//! `KluctlDeployment` CRD, an artifact server on 127.0.0.1, and the agent: in-process with a
//! scripted engine for the controller's behaviour (`controller`, `gitops`), and the real
//! `kluctl-agent` process with the real engine (`binary`).

mod binary;
mod controller;
mod gitops;
mod harness;
mod proxy;
