//! The probes as drivers: each health check and metrics source on its schedule, from the
//! laptop or through each `via` target's SSH connection, its answers sent to the run loop as
//! `HealthSampled` / `MetricsSampled` events. Started before the first change (the baseline),
//! stopped when the release ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::health::{FetchError, HealthProbe, HealthSample, direct_client, probe, probe_via};
use super::metrics::{MetricQueries, Scrape, derive, scrape_values};
use super::tls::Tls;
use crate::engine::EventKind;
use crate::engine::watch::{HealthReading, MetricsReading};
use crate::transport::Link;
use crate::transport::lines::{Redactor, clean};

/// One health check as it is probed: from the laptop (`via` none) or through one target.
#[derive(Debug, Clone)]
pub struct HealthTask {
    pub name: String,
    pub via: Option<String>,
    pub probe: HealthProbe,
    pub every: Duration,
}

/// One metrics source as it is scraped.
#[derive(Debug, Clone)]
pub struct MetricsTask {
    pub name: String,
    pub via: Option<String>,
    pub url: String,
    pub queries: MetricQueries,
    pub every: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Probes {
    pub health: Vec<HealthTask>,
    pub metrics: Vec<MetricsTask>,
}

impl Probes {
    /// Starts every probe; the handles stop them.
    pub fn start(
        &self,
        links: &HashMap<String, Arc<Link>>,
        events: &mpsc::Sender<EventKind>,
        redactor: &Arc<Redactor>,
    ) -> Vec<JoinHandle<()>> {
        let clients = Clients {
            http: direct_client().ok(),
            tls: Tls::platform(),
        };
        let mut tasks = Vec::new();
        for task in &self.health {
            let link = task.via.as_ref().and_then(|v| links.get(v)).cloned();
            let (task, events, clients) = (task.clone(), events.clone(), clients.clone());
            let said = Said(redactor.clone());
            tasks.push(tokio::spawn(health_loop(task, link, clients, events, said)));
        }
        for task in &self.metrics {
            let link = task.via.as_ref().and_then(|v| links.get(v)).cloned();
            let (task, events, clients) = (task.clone(), events.clone(), clients.clone());
            let said = Said(redactor.clone());
            tasks.push(tokio::spawn(metrics_loop(
                task, link, clients, events, said,
            )));
        }
        tasks
    }
}

/// How probes speak HTTP: from here (reqwest), and TLS through a target.
#[derive(Clone)]
struct Clients {
    http: Option<reqwest::Client>,
    tls: Result<Tls, super::tls::TlsError>,
}

/// An error as the release may keep it: a metrics page quoted in a parse error, a URL with a
/// token in it, are the service's words; nothing in them drives a terminal or shows a secret.
struct Said(Arc<Redactor>);

impl Said {
    fn error(&self, why: Option<String>) -> Option<String> {
        why.map(|w| self.0.mask(clean(w.as_bytes())))
    }
}

/// `http://host:port/…` → (host, port), for a tunnel to it.
pub(super) fn host_port(url: &str) -> Option<(String, u16)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    Some((
        parsed.host_str()?.to_string(),
        parsed.port_or_known_default()?,
    ))
}

/// One GET, direct or through the target's connection.
async fn get(check: &HealthProbe, link: Option<&Link>, clients: &Clients) -> HealthSample {
    let failed = |why: String| HealthSample {
        status: None,
        ok: false,
        latency: Duration::ZERO,
        failure: Some(super::health::Failure::Connect(why)),
        cert_days_left: None,
    };
    match (link, clients.http.as_ref()) {
        (Some(link), _) => {
            let Some((host, port)) = host_port(&check.url) else {
                return failed(format!("not a URL: {}", check.url));
            };
            let tls = match &clients.tls {
                Ok(tls) => tls,
                Err(why) => return failed(why.to_string()),
            };
            match link.tunnel(&host, port).await {
                Ok(stream) => probe_via(stream, check, tls).await,
                Err(why) => failed(why.to_string()),
            }
        }
        (None, Some(client)) => probe(client, check).await,
        (None, None) => failed("no HTTP client could be made".into()),
    }
}

async fn health_loop(
    task: HealthTask,
    link: Option<Arc<Link>>,
    clients: Clients,
    events: mpsc::Sender<EventKind>,
    said: Said,
) {
    let mut every = tokio::time::interval(task.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let sample = get(&task.probe, link.as_deref(), &clients).await;
        let reading = HealthReading {
            ok: sample.ok,
            status: sample.status,
            latency_ms: u64::try_from(sample.latency.as_millis()).unwrap_or(u64::MAX),
            error: said.error(sample.error()),
            cert_days: sample.cert_days_left,
        };
        let event = EventKind::HealthSampled {
            check: task.name.clone(),
            via: task.via.clone(),
            reading,
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// The page's text, direct or through the target's connection.
async fn fetch(
    url: &str,
    link: Option<&Link>,
    clients: &Clients,
    timeout: Duration,
) -> Result<String, FetchError> {
    let check = HealthProbe::new(url, 200, timeout);
    let fetching = async {
        match (link, clients.http.as_ref()) {
            (Some(link), _) => {
                let (host, port) =
                    host_port(url).ok_or_else(|| FetchError::NotAUrl(url.to_string()))?;
                let tls = clients.tls.as_ref().map_err(Clone::clone)?;
                let stream = link.tunnel(&host, port).await?;
                super::health::fetch_text_via(stream, &check, tls).await
            }
            (None, Some(client)) => {
                let answer = client.get(url).send().await?;
                if !answer.status().is_success() {
                    return Err(FetchError::Status {
                        status: answer.status().to_string(),
                        url: url.to_string(),
                    });
                }
                Ok(answer.text().await?)
            }
            (None, None) => Err(FetchError::NoClient),
        }
    };
    tokio::time::timeout(timeout, fetching)
        .await
        .unwrap_or(Err(FetchError::NoAnswer(timeout)))
}

async fn metrics_loop(
    task: MetricsTask,
    link: Option<Arc<Link>>,
    clients: Clients,
    events: mpsc::Sender<EventKind>,
    said: Said,
) {
    let mut every = tokio::time::interval(task.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous: Option<(Instant, Scrape)> = None;
    let timeout = task.every.min(Duration::from_secs(10));
    loop {
        every.tick().await;
        let text = fetch(&task.url, link.as_deref(), &clients, timeout).await;
        let scraped = text
            .map_err(|e| e.to_string())
            .and_then(|t| scrape_values(&t, &task.queries).map_err(|e| e.to_string()));
        let reading = match scraped {
            Err(why) => Some(MetricsReading {
                error: said.error(Some(why)),
                ..MetricsReading::default()
            }),
            Ok(scrape) => {
                let now = Instant::now();
                // The first scrape only starts the count: rates need two.
                let reading = previous.as_ref().map(|(at, before)| {
                    let d = derive(before, &scrape, now.duration_since(*at).as_secs_f64());
                    let ms = |s: Option<f64>| s.map(|v| v * 1000.0);
                    MetricsReading {
                        error_ratio: d.error_ratio,
                        request_rate: d.request_rate,
                        latency_p50_ms: ms(d.latency_p50),
                        latency_p90_ms: ms(d.latency_p90),
                        latency_p95_ms: ms(d.latency_p95),
                        latency_p99_ms: ms(d.latency_p99),
                        error: None,
                    }
                });
                previous = Some((now, scrape));
                reading
            }
        };
        let Some(reading) = reading else {
            continue;
        };
        let event = EventKind::MetricsSampled {
            source: task.name.clone(),
            via: task.via.clone(),
            reading,
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_services_words_in_an_error_drive_no_terminal_and_show_no_secret() {
        let said = Said(Arc::new(Redactor::new(["s3cret-token"])));
        let quoted = "line 3 of the metrics page: bad value: http_requests_total \u{1b}]0;pwned\u{7}\u{1b}[2J x\nhttp://h/metrics?token=s3cret-token";
        let shown = said.error(Some(quoted.into())).expect("an error");
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\n'),
            "{shown:?}"
        );
        assert!(!shown.contains("s3cret-token"), "{shown:?}");
        assert!(shown.contains("line 3 of the metrics page"), "{shown:?}");
    }
}
