//! The delivery task: posts each letter in order, with a short timeout and a few attempts with
//! backoff, and reports a letter it could not deliver as an event. It holds no release state.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::outbox::{Letter, Outbox};
use crate::engine::EventKind;
use crate::transport::lines::Redactor;

/// Attempts per message, and the waits between them.
pub const ATTEMPTS: u32 = 3;
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];
/// How long one attempt may take, all of it; connecting alone, less.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The webhook's HTTP client could not be made (TLS roots, the platform): its error without
/// any URL.
#[derive(Debug, thiserror::Error)]
#[error("cannot make the webhook's HTTP client: {0}")]
pub struct ClientError(#[source] reqwest::Error);

/// The HTTP client for the webhook: short timeouts, no redirects (a webhook that moved is
/// misconfigured, and its new place must not get the messages unasked).
pub fn client() -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gonogo/", env!("CARGO_PKG_VERSION"), " notify"))
        .build()
        .map_err(|e| ClientError(e.without_url()))
}

/// Posts every letter the outbox hands over, until it is closed and empty; each it could not
/// deliver is reported on `failures`.
pub async fn run(
    outbox: Arc<Outbox>,
    client: reqwest::Client,
    url: String,
    redactor: Arc<Redactor>,
    failures: mpsc::Sender<EventKind>,
) {
    while let Some(letter) = outbox.next().await {
        let result = post(&outbox, &client, &url, &letter).await;
        if let Err((error, attempts)) = result {
            tracing::warn!(message = %letter.title, attempts, "notify: not delivered");
            let failed = EventKind::NotifyFailed {
                message: letter.title.clone(),
                error: redactor.mask(error),
                attempts,
            };
            if failures.send(failed).await.is_err() {
                return;
            }
        } else {
            tracing::info!(message = %letter.title, "notify: delivered");
        }
        outbox.done();
    }
}

/// One letter, attempt after attempt: `Err` with why and how many attempts were made.
async fn post(
    outbox: &Outbox,
    client: &reqwest::Client,
    url: &str,
    letter: &Letter,
) -> Result<(), (String, u32)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        outbox.attempt();
        let answer = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(letter.body.clone())
            .send()
            .await;
        let (error, again) = match answer {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let status = response.status();
                let said = response.text().await.unwrap_or_default();
                let said: String = said.trim().chars().take(120).collect();
                let said = crate::text::printable(&said).into_owned();
                let said = if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                };
                // A refusal (a revoked hook, a bad payload) is not cured by asking again.
                let again = status.is_server_error() || status.as_u16() == 429;
                (format!("the webhook answered {status}{said}"), again)
            }
            Err(e) if e.is_timeout() => (
                format!(
                    "the webhook did not answer within {}s",
                    ATTEMPT_TIMEOUT.as_secs()
                ),
                true,
            ),
            Err(e) => (format!("cannot reach the webhook: {}", chain(e)), true),
        };
        let Some(wait) = BACKOFF.get(attempts as usize - 1).filter(|_| again) else {
            return Err((error, attempts));
        };
        if attempts >= ATTEMPTS {
            return Err((error, attempts));
        }
        tokio::time::sleep(*wait).await;
    }
}

/// An error and its causes, without the URL (it is a secret).
fn chain(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        source = cause.source();
    }
    text
}
