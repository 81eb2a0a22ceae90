//! TLS for the test server. client-go (kubectl) sends bearer tokens only over TLS, so the server speaks
//! HTTPS and plain HTTP on the same port (told apart by the first byte of a connection), with a CA and
//! a `127.0.0.1`/`localhost` certificate generated once per process. The kubeconfig names the
//! `https://` URL and carries the CA as `certificate-authority-data`.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::{Arc, OnceLock};
use tokio_rustls::TlsAcceptor;

/// The first byte of a TLS handshake record.
pub const TLS_HANDSHAKE: u8 = 0x16;

/// The process-wide CA and server certificate.
pub struct TlsMaterial {
    /// The CA certificate in PEM, for kubeconfigs.
    pub ca_pem: String,
    /// Accepts TLS connections with the server certificate (ALPN `h2` and `http/1.1`).
    pub acceptor: TlsAcceptor,
}

/// The TLS material, generated on first use.
pub fn material() -> Result<&'static TlsMaterial, String> {
    static MATERIAL: OnceLock<Result<TlsMaterial, String>> = OnceLock::new();
    MATERIAL.get_or_init(generate).as_ref().map_err(Clone::clone)
}

fn generate() -> Result<TlsMaterial, String> {
    let fail = |step: &str, err: &dyn std::fmt::Display| format!("failed to {step}: {err}");
    let ca_key = KeyPair::generate().map_err(|e| fail("generate the CA key", &e))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail("build the CA", &e))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kluctl test-apiserver CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(|e| fail("sign the CA", &e))?;
    let key = KeyPair::generate().map_err(|e| fail("generate the server key", &e))?;
    let mut params = CertificateParams::new(vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        "::1".to_string(),
    ])
    .map_err(|e| fail("build the server certificate", &e))?;
    params.distinguished_name.push(DnType::CommonName, "test-apiserver");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    let cert = params
        .signed_by(&key, &ca)
        .map_err(|e| fail("sign the server certificate", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("configure TLS", &e))?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.as_ref().der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(|e| fail("load the server certificate", &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_pem: ca.as_ref().pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_is_generated_once_with_a_pem_ca() {
        let first = material().unwrap();
        assert!(first.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(std::ptr::eq(first, material().unwrap()));
    }
}
