//! TLS for connections that ask for it (`sslmode=require`, or `prefer`, the default, when the
//! server offers it): rustls with the ring provider and the Mozilla roots, as reqwest uses.

use std::sync::Arc;

use tokio_postgres_rustls::MakeRustlsConnect;

/// What makes each connection's TLS session.
pub(crate) fn connector() -> MakeRustlsConnect {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    // Not input: ring supports every default version, so this fails only in a broken build.
    .expect("rustls with ring supports TLS 1.2 and 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    MakeRustlsConnect::new(config)
}
