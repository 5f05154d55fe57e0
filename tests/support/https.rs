//! A real HTTPS service on loopback, its certificate signed by a test CA the test trusts (the
//! way a company CA is trusted: `SSL_CERT_FILE`), for probes and checks that speak TLS.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct HttpsService {
    pub addr: SocketAddr,
    /// The CA that signed the service's certificate, PEM (for `SSL_CERT_FILE`) and DER.
    pub ca_pem: String,
    pub ca_der: CertificateDer<'static>,
}

/// Serves `/health` (200 "ok") and everything else 404, over TLS with a certificate for
/// `app.example`, `localhost` and 127.0.0.1 that expires `days_left` days from now (negative:
/// expired that long ago).
pub async fn serve(days_left: i64) -> HttpsService {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "gonogo test CA");
    ca_params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(400);
    ca_params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(400);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

    let key = rcgen::KeyPair::generate().unwrap();
    let names = vec!["app.example".into(), "localhost".into(), "127.0.0.1".into()];
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(300);
    // An hour past the whole days, so "30 days left" reads 30 all day.
    params.not_after = time::OffsetDateTime::now_utc()
        + time::Duration::days(days_left)
        + time::Duration::hours(1);
    let cert = params.signed_by(&key, &ca).unwrap();

    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let answer = hyper::service::service_fn(|request| async move {
                    let (status, body) = if request.uri().path() == "/health" {
                        (200, "ok")
                    } else {
                        (404, "not found")
                    };
                    hyper::Response::builder()
                        .status(status)
                        .body(Full::new(Bytes::from(body)))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), answer)
                    .await;
            });
        }
    });
    HttpsService {
        addr,
        ca_pem: ca.pem(),
        ca_der: ca.der().clone(),
    }
}
