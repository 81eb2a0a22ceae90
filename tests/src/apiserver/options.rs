//! [`ServerOptions`]: what a test server simulates (controllers, RBAC, faults) and how it listens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::faults::FaultSpec;

/// How to run a test API server. `ServerOptions::default()` is a plain server on a free port of 127.0.0.1.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where to write the kubeconfig; `None` writes it into a temp dir owned by the server.
    pub kubeconfig_path: Option<PathBuf>,
    /// Simulate controllers: workloads become ready, Jobs complete, PVCs bind, namespaces get a
    /// `default` ServiceAccount.
    pub simulate_controllers: bool,
    /// How long simulated controllers wait before reporting progress.
    pub controller_delay: Duration,
    /// Enforce RBAC for users outside `system:masters`.
    pub rbac: bool,
    /// Injected faults, if any.
    pub faults: Option<FaultSpec>,
    /// How many store events watches can replay (older resourceVersions get `410 Gone`).
    pub history_limit: usize,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig_path: None,
            simulate_controllers: false,
            controller_delay: Duration::from_millis(100),
            rbac: false,
            faults: None,
            history_limit: 20_000,
            bookmark_interval: Duration::from_secs(5),
        }
    }
}

impl ServerOptions {
    /// Turns controller simulation on.
    pub fn simulate_controllers(mut self) -> Self {
        self.simulate_controllers = true;
        self
    }

    /// Sets the simulated controllers' delay.
    pub fn controller_delay(mut self, delay: Duration) -> Self {
        self.controller_delay = delay;
        self
    }

    /// Turns RBAC enforcement on.
    pub fn rbac(mut self) -> Self {
        self.rbac = true;
        self
    }

    /// Injects faults.
    pub fn faults(mut self, faults: FaultSpec) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Writes the kubeconfig to this file.
    pub fn kubeconfig_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig_path = Some(path.into());
        self
    }

    /// Sets the bookmark interval of watches.
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Sets how many events watches can replay.
    pub fn history_limit(mut self, limit: usize) -> Self {
        self.history_limit = limit;
        self
    }
}
