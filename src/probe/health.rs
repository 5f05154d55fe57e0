//! One HTTP health probe: GET the URL, compare the status (and optionally the body) with what
//! the profile expects, and measure how long the answer took. Reached from the laptop with
//! reqwest, or `via` a target over a byte stream the transport opened (an SSH direct-tcpip
//! channel, as `ssh -L` would), with hyper's HTTP/1 client, because reqwest cannot take a
//! stream.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Bytes};
use hyper_util::rt::TokioIo;
use regex::Regex;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::tls::Tls;

/// Most of a body that is read for the `body` regex: health pages are small, and a huge one
/// must not hold the probe.
pub const BODY_BYTES_READ: usize = 64 * 1024;

/// What to ask and what counts as healthy.
#[derive(Debug, Clone)]
pub struct HealthProbe {
    pub url: String,
    /// The status a healthy service answers with.
    pub expect: u16,
    /// A pattern the body must contain (unanchored), for services that answer 200 while
    /// saying `{"db": "down"}`.
    pub body: Option<Regex>,
    /// The whole exchange (connect, request, answer, body) must fit in it.
    pub timeout: Duration,
}

impl HealthProbe {
    pub fn new(url: impl Into<String>, expect: u16, timeout: Duration) -> Self {
        Self {
            url: url.into(),
            expect,
            body: None,
            timeout,
        }
    }

    pub fn with_body(mut self, pattern: Regex) -> Self {
        self.body = Some(pattern);
        self
    }
}

/// One probe's result, as the health pane and the watch rules read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthSample {
    /// The status answered, if an answer came.
    pub status: Option<u16>,
    /// The status was the expected one and the body matched.
    pub ok: bool,
    /// From the request to the answer's headers, or to the end of its body when a `body`
    /// pattern is checked (or to the failure).
    pub latency: Duration,
    /// Why the sample is not ok.
    pub failure: Option<Failure>,
    /// Whole days until the server's certificate expires (negative once expired); HTTPS only.
    pub cert_days_left: Option<i64>,
}

/// Why a probe failed, kept apart so a timeout does not read like a refused connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "failure", rename_all = "snake_case")]
pub enum Failure {
    #[error("no answer within {}", humantime::format_duration(*after))]
    Timeout { after: Duration },
    #[error("connection refused (nothing listening there?)")]
    Refused,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("HTTP exchange failed: {0}")]
    Http(String),
    #[error("answered {got}, expected {expected}")]
    Status { got: u16, expected: u16 },
    #[error("the body does not match /{pattern}/")]
    Body { pattern: String },
    #[error("{0}")]
    Unsupported(String),
}

/// Why a metrics page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("not a URL: {0}")]
    NotAUrl(String),
    #[error("{url}: {source}")]
    BadUrl {
        url: String,
        source: hyper::http::uri::InvalidUri,
    },
    #[error(transparent)]
    Trust(#[from] super::tls::TlsError),
    #[error(transparent)]
    Tunnel(#[from] crate::transport::TunnelError),
    #[error(transparent)]
    Handshake(#[from] super::tls::HandshakeError),
    #[error(transparent)]
    Exchange(#[from] Failure),
    /// Not a 2xx answer: the status, as the client says it.
    #[error("{status} from {url}")]
    Status { status: String, url: String },
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("no HTTP client could be made")]
    NoClient,
    #[error("no answer after {}", humantime::format_duration(*.0))]
    NoAnswer(Duration),
}

impl HealthSample {
    /// What went wrong, in words, for the pane and headless output.
    pub fn error(&self) -> Option<String> {
        self.failure.as_ref().map(ToString::to_string)
    }
}

/// The client for direct probes, built once per release: it keeps the peer certificate for
/// the expiry check and does not follow redirects, so `expect` sees what the endpoint itself
/// answered (a redirect to a login page is not a healthy service).
pub fn direct_client() -> reqwest::Result<reqwest::Client> {
    direct_client_builder().build()
}

/// The builder behind [`direct_client`], for callers that add trust roots (tests, private CAs).
pub fn direct_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "gonogo/",
            env!("CARGO_PKG_VERSION"),
            " health probe"
        ))
}

/// Probes `check.url` from this machine.
pub async fn probe(client: &reqwest::Client, check: &HealthProbe) -> HealthSample {
    let started = Instant::now();
    let exchange = async {
        let classify = |e| classify(e, check.timeout);
        let response = client.get(&check.url).send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let cert_days_left = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|tls| tls.peer_certificate())
            .and_then(|der| cert_days_left(der, SystemTime::now()));
        let mut body = Vec::new();
        let mut response = response;
        if check.body.is_some() {
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                body.extend_from_slice(&chunk);
                if body.len() >= BODY_BYTES_READ {
                    break;
                }
            }
        }
        Ok::<_, Failure>((status, body, cert_days_left))
    };
    finish(
        check,
        started,
        tokio::time::timeout(check.timeout, exchange).await,
    )
}

/// Probes `check.url` over `stream`, a connection already opened to the URL's host and port
/// (through a target's SSH connection). An `https` URL is spoken over TLS with `tls`, checking
/// the certificate for the URL's host as a browser would. The Host header comes from the URL.
/// Opening the stream is the caller's, and so is bounding how long that takes.
pub async fn probe_via<T>(stream: T, check: &HealthProbe, tls: &Tls) -> HealthSample
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let started = Instant::now();
    let uri: hyper::Uri = match check.url.parse() {
        Ok(uri) => uri,
        Err(e) => return failed(started, Failure::Unsupported(format!("{}: {e}", check.url))),
    };
    let limit = check.body.as_ref().map(|_| BODY_BYTES_READ);
    let exchange = async {
        match uri.scheme_str() {
            Some("http") => {
                let (status, body) = get_over(stream, &uri, limit).await?;
                Ok::<_, Failure>((status, body, None))
            }
            Some("https") => {
                let host = uri.host().unwrap_or_default();
                let (stream, days) = tls
                    .connect(stream, host)
                    .await
                    .map_err(|e| Failure::Tls(e.to_string()))?;
                let (status, body) = get_over(stream, &uri, limit).await?;
                Ok((status, body, Some(days)))
            }
            _ => Err(Failure::Unsupported(format!(
                "{}: only http:// and https:// are probed",
                check.url
            ))),
        }
    };
    finish(
        check,
        started,
        tokio::time::timeout(check.timeout, exchange).await,
    )
}

/// A metrics page read through a target: the whole text (up to `METRICS_BYTES_READ`), or why
/// not. Bounded in time by the caller.
pub async fn fetch_text_via<T>(
    stream: T,
    check: &HealthProbe,
    tls: &Tls,
) -> Result<String, FetchError>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let uri: hyper::Uri = check.url.parse().map_err(|source| FetchError::BadUrl {
        url: check.url.clone(),
        source,
    })?;
    let limit = Some(METRICS_BYTES_READ);
    let answer = if uri.scheme_str() == Some("https") {
        let host = uri.host().unwrap_or_default();
        let (stream, _) = tls.connect(stream, host).await?;
        get_over(stream, &uri, limit).await
    } else {
        get_over(stream, &uri, limit).await
    };
    let (status, body) = answer?;
    if !(200..300).contains(&status) {
        return Err(FetchError::Status {
            status: status.to_string(),
            url: check.url.clone(),
        });
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The most of a metrics page that is read.
pub const METRICS_BYTES_READ: usize = 8 * 1024 * 1024;

/// One GET over an opened stream; the body is read up to `limit` bytes when asked.
async fn get_over<T>(
    stream: T,
    uri: &hyper::Uri,
    limit: Option<usize>,
) -> Result<(u16, Vec<u8>), Failure>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Failure::Http(chain(&e)))?;
    // The connection is driven beside the request and stopped with the probe.
    let _connection = AbortOnDrop(tokio::spawn(connection));
    let host = uri.authority().map_or("", |a| a.as_str()).to_string();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, host)
        .header(
            hyper::header::USER_AGENT,
            concat!("gonogo/", env!("CARGO_PKG_VERSION"), " health probe"),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| Failure::Http(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Failure::Http(chain(&e)))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    if let Some(limit) = limit {
        let mut incoming = response.into_body();
        while !incoming.is_end_stream() && body.len() < limit {
            let Some(frame) = incoming.frame().await else {
                break;
            };
            let frame = frame.map_err(|e| Failure::Http(chain(&e)))?;
            if let Some(data) = frame.data_ref() {
                body.extend_from_slice(data);
            }
        }
    }
    Ok((status, body))
}

type Exchange = Result<(u16, Vec<u8>, Option<i64>), Failure>;

fn finish(
    check: &HealthProbe,
    started: Instant,
    outcome: Result<Exchange, tokio::time::error::Elapsed>,
) -> HealthSample {
    let latency = started.elapsed();
    let (status, body, cert_days_left) = match outcome {
        Err(_) => {
            let after = check.timeout;
            return failed(started, Failure::Timeout { after });
        }
        Ok(Err(failure)) => return failed(started, failure),
        Ok(Ok(answer)) => answer,
    };
    let failure = if status != check.expect {
        Some(Failure::Status {
            got: status,
            expected: check.expect,
        })
    } else {
        check
            .body
            .as_ref()
            .filter(|re| !re.is_match(&String::from_utf8_lossy(&body)))
            .map(|re| Failure::Body {
                pattern: re.as_str().to_string(),
            })
    };
    HealthSample {
        status: Some(status),
        ok: failure.is_none(),
        latency,
        failure,
        cert_days_left,
    }
}

fn failed(started: Instant, failure: Failure) -> HealthSample {
    HealthSample {
        status: None,
        ok: false,
        latency: started.elapsed(),
        failure: Some(failure),
        cert_days_left: None,
    }
}

/// Sorts a reqwest error into what an operator needs to tell apart.
fn classify(err: reqwest::Error, timeout: Duration) -> Failure {
    let text = chain(&err);
    let mut refused = false;
    let mut source = err.source();
    while let Some(cause) = source {
        refused |= cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        source = cause.source();
    }
    if refused {
        Failure::Refused
    } else if err.is_timeout() {
        Failure::Timeout { after: timeout }
    } else if err.is_connect() {
        // rustls is reached only through reqwest, so its errors are known by their words.
        let lower = text.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            Failure::Tls(text)
        } else {
            Failure::Connect(text)
        }
    } else {
        Failure::Http(text)
    }
}

/// An error with its causes, `outer: inner: root`, without repeating a cause already said.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        source = cause.source();
    }
    text
}

/// Whole days from `now` until the certificate's notAfter; `None` if the DER does not parse.
pub fn cert_days_left(der: &[u8], now: SystemTime) -> Option<i64> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let not_after = cert
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration();
    let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let left = not_after.as_secs() as i64 - now.as_secs() as i64;
    Some(left.div_euclid(24 * 60 * 60))
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate whose notAfter is `seconds` from 2027-01-01T00:00:00Z.
    fn cert_expiring(seconds: i64) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["app.example".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        let start = rcgen::date_time_ymd(2027, 1, 1);
        let offset = Duration::from_secs(seconds.unsigned_abs());
        params.not_after = if seconds < 0 {
            start - offset
        } else {
            start + offset
        };
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn certificate_days_left_count_whole_days_and_go_negative_once_expired() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_761_600); // 2027-01-01
        let in_days = |d: i64| cert_expiring(d * 24 * 60 * 60 + 60);
        assert_eq!(cert_days_left(&in_days(30), now), Some(30));
        assert_eq!(cert_days_left(&in_days(13), now), Some(13));
        assert_eq!(cert_days_left(&in_days(0), now), Some(0));
        assert_eq!(cert_days_left(&in_days(-3), now), Some(-3));
        assert_eq!(cert_days_left(b"not a certificate", now), None);
    }

    #[test]
    fn failures_say_which_kind_they_are() {
        let timeout = Failure::Timeout {
            after: Duration::from_secs(2),
        };
        assert_eq!(timeout.to_string(), "no answer within 2s");
        let status = Failure::Status {
            got: 503,
            expected: 200,
        };
        assert_eq!(status.to_string(), "answered 503, expected 200");
        assert!(
            Failure::Refused
                .to_string()
                .starts_with("connection refused")
        );
    }
}
