//! [`ApiState`]: everything one server instance holds (options, registry, store, tokens, faults,
//! address allocators), shared by the HTTP handlers, the operations and the built-in controllers.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use super::auth::Authenticator;
use super::faults::Faults;
use super::openapi::OpenApiCache;
use super::options::ServerOptions;
use super::registry::Registry;
use super::store::Store;

/// Cluster IPs (10.96.0.0/12 from 10.96.0.10) and node ports (30000-32767), handed out in order.
#[derive(Debug)]
pub struct Allocator {
    next_ip: u32,
    next_port: u16,
}

impl Default for Allocator {
    fn default() -> Self {
        Allocator {
            next_ip: u32::from_be_bytes([10, 96, 0, 10]),
            next_port: 30000,
        }
    }
}

impl Allocator {
    /// The next cluster IP; `reserve = false` only peeks (dry-run).
    pub fn cluster_ip(&mut self, reserve: bool) -> String {
        let ip = std::net::Ipv4Addr::from(self.next_ip).to_string();
        if reserve {
            self.next_ip += 1;
        }
        ip
    }

    /// The next node port; `reserve = false` only peeks (dry-run).
    pub fn node_port(&mut self, reserve: bool) -> u16 {
        let port = self.next_port;
        if reserve {
            self.next_port = if self.next_port >= 32767 {
                30000
            } else {
                self.next_port + 1
            };
        }
        port
    }
}

/// One server's state.
pub struct ApiState {
    /// How the server was started.
    pub options: ServerOptions,
    /// Served resources.
    pub registry: Registry,
    /// Objects.
    pub store: Store,
    /// Tokens and users.
    pub auth: Authenticator,
    /// Fault injection, when configured.
    pub faults: Option<Faults>,
    /// Cluster IP and node port allocation.
    pub allocator: Mutex<Allocator>,
    /// Generated OpenAPI documents.
    pub openapi: OpenApiCache,
    /// The address the server listens on.
    pub address: SocketAddr,
    /// When the server started.
    pub started: Instant,
    /// Set to true when the server stops; watches, controllers and connections end.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl ApiState {
    /// Fresh state with the built-in resources and no objects.
    pub fn new(options: ServerOptions, address: SocketAddr) -> Self {
        let faults = options.faults.as_ref().map(Faults::new);
        ApiState {
            registry: Registry::with_builtins(),
            store: Store::new(options.history_limit),
            auth: Authenticator::new(),
            faults,
            allocator: Mutex::new(Allocator::default()),
            openapi: OpenApiCache::default(),
            address,
            started: Instant::now(),
            options,
            shutdown: tokio::sync::watch::Sender::new(false),
        }
    }

    /// A receiver that changes to true when the server stops.
    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Stops watches, controllers and connections.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// True once the server is stopping.
    pub fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_sequential_and_dry_runs_reserve_nothing() {
        let mut allocator = Allocator::default();
        assert_eq!(allocator.cluster_ip(false), "10.96.0.10");
        assert_eq!(allocator.cluster_ip(true), "10.96.0.10");
        assert_eq!(allocator.cluster_ip(true), "10.96.0.11");
        assert_eq!(allocator.node_port(true), 30000);
        assert_eq!(allocator.node_port(false), 30001);
    }
}
