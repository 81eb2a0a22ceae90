//! HTTP clients for everything the engine downloads (chart repositories, `http` vars sources).
//!
//! TLS is rustls with the `ring` provider; the provider is installed once per process, here,
//! so that every caller gets the same configuration.

use std::sync::Once;
use std::time::Duration;

static INSTALL_PROVIDER: Once = Once::new();

/// Installs rustls' `ring` crypto provider as the process default (idempotent).
pub fn install_crypto_provider() {
    INSTALL_PROVIDER.call_once(|| {
        // Fails only when another provider was installed first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client builder with the engine's defaults: rustls, a user agent, and bounded timeouts.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(concat!("kubectl-kluctl/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
}
