//! TLS over a stream the transport opened (an SSH direct-tcpip channel, or a socket from here):
//! the same trust as the laptop's browser (the platform's verifier, so `SSL_CERT_FILE` and a
//! company CA work), the server's name checked, and how long its certificate has left.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;

use super::health::cert_days_left;

/// How gonogo speaks TLS through a target: built once per release.
/// The trusted certificates could not be loaded: no HTTPS probe can be judged.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot load the trusted certificates: {0}")]
pub struct TlsError(#[source] rustls::Error);

/// A TLS handshake that did not give a certificate to judge.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("{0:?} is not a name a certificate can be for")]
    BadName(String),
    /// rustls's words, with the cause an operator acts on first.
    #[error("{}", describe(.0))]
    Failed(std::io::Error),
    #[error("{0} sent no certificate that could be read")]
    NoCertificate(String),
}

#[derive(Clone)]
pub struct Tls(Arc<rustls::ClientConfig>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// The platform's trust store (and `SSL_CERT_FILE` / `SSL_CERT_DIR` where the platform
    /// reads them).
    pub fn platform() -> Result<Self, TlsError> {
        use rustls_platform_verifier::BuilderVerifierExt;
        let config = rustls::ClientConfig::builder()
            .with_platform_verifier()
            .map_err(TlsError)?
            .with_no_client_auth();
        Ok(Tls(Arc::new(config)))
    }

    /// The platform's trust store and these roots besides (a private CA).
    pub fn with_roots(roots: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider)
            .map_err(TlsError)?;
        let config = rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(Tls(Arc::new(config)))
    }

    /// The handshake with `host` over `stream`: the TLS stream, and the whole days its
    /// certificate has left. Fails, saying why, on a certificate that is expired, not for
    /// `host`, or not signed by a trusted authority.
    pub async fn connect<T>(
        &self,
        stream: T,
        host: &str,
    ) -> Result<(TlsStream<T>, i64), HandshakeError>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| HandshakeError::BadName(host.to_string()))?;
        let connector = tokio_rustls::TlsConnector::from(self.0.clone());
        let tls = connector
            .connect(name, stream)
            .await
            .map_err(HandshakeError::Failed)?;
        let days = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| cert_days_left(leaf, SystemTime::now()))
            .ok_or_else(|| HandshakeError::NoCertificate(host.to_string()))?;
        Ok((tls, days))
    }
}

/// rustls's words for a failed handshake, with the cause an operator acts on first.
fn describe(err: &std::io::Error) -> String {
    let text = err
        .get_ref()
        .map_or_else(|| err.to_string(), ToString::to_string);
    let lower = text.to_ascii_lowercase();
    if lower.contains("expired") {
        format!("the certificate has expired ({text})")
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        format!("the certificate is not for this name ({text})")
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        format!("the certificate is not signed by a trusted authority ({text})")
    } else {
        text
    }
}
