//! `[notify]`: the release told to the team's channel through a webhook. The run loop decides
//! each message from the event it just applied and the release as it stands (`message.rs`,
//! pure), and hands it to the delivery task through a bounded queue without waiting
//! (`outbox.rs`); the task posts it with a short timeout and a few attempts (`deliver.rs`). A
//! message that cannot be delivered comes back as a `NotifyFailed` event: journaled, shown, in
//! the summary. A webhook that fails or hangs never holds up or fails the release.
//!
//! The webhook's URL is a secret: it is in no event, no message, no log line.

mod deliver;
pub use deliver::ClientError;
pub mod message;
mod outbox;
mod place;
mod status;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::{Event, EventKind, Millis, Release};
use crate::profile::NotifyFormat;
use crate::transport::lines::Redactor;

pub use message::{Herald, Message, MessageKind};
use outbox::{Letter, Outbox};

/// Messages waiting for a slow webhook before the oldest are dropped.
const QUEUE: usize = 16;

/// How long the end of a run waits for the last messages to be delivered.
pub const END_GRACE: Duration = Duration::from_secs(5);

/// What a run's `[notify]` resolved to.
#[derive(Clone)]
pub struct Settings {
    /// The webhook's URL, variables expanded: never shown.
    pub url: String,
    pub format: NotifyFormat,
    pub every: Option<Duration>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("url", &crate::profile::MASK)
            .field("format", &self.format)
            .field("every", &self.every)
            .finish()
    }
}

/// The loop's side of the notifications: what was said, the queue to the delivery task, and
/// what the task reports back.
pub struct Notifier {
    herald: Herald,
    outbox: Arc<Outbox>,
    task: JoinHandle<()>,
    /// Messages the task could not deliver, as events for the loop.
    failures: mpsc::Receiver<EventKind>,
    redactor: Arc<Redactor>,
    format: NotifyFormat,
    /// How often a status update is due.
    pub every: Option<Duration>,
    /// Set when the release ended: the last messages are delivered until then.
    deadline: Option<tokio::time::Instant>,
}

/// What the delivery task has to say to the loop.
#[derive(Debug)]
pub enum Delivery {
    /// A message was not delivered.
    Failed(EventKind),
    /// Everything was handed over, and the task ended.
    Done,
    /// The end's grace ran out: these were not delivered.
    GaveUp(Vec<EventKind>),
}

impl Notifier {
    /// Starts the delivery task on the current tokio runtime. `redactor` masks every secret of
    /// the run, the webhook's URL included.
    pub fn start(settings: Settings, redactor: Arc<Redactor>) -> Result<Notifier, ClientError> {
        let client = deliver::client()?;
        let outbox = Arc::new(Outbox::new(QUEUE));
        let (report, failures) = mpsc::channel(QUEUE);
        let task = tokio::spawn(deliver::run(
            outbox.clone(),
            client,
            settings.url,
            redactor.clone(),
            report,
        ));
        Ok(Notifier {
            herald: Herald::default(),
            outbox,
            task,
            failures,
            redactor,
            format: settings.format,
            every: settings.every,
            deadline: None,
        })
    }

    /// The messages `event` makes, handed over at once. What a full queue dropped comes back
    /// as events for the loop to handle like any other.
    pub fn after(&mut self, event: &Event, release: &Release) -> Vec<EventKind> {
        let messages = self.herald.on_event(event, release);
        messages.into_iter().filter_map(|m| self.hand(m)).collect()
    }

    /// The status update, when one is due (the loop keeps the period).
    pub fn status(&mut self, release: &Release, now: Millis) -> Vec<EventKind> {
        let message = self.herald.status(release, now);
        message.into_iter().filter_map(|m| self.hand(m)).collect()
    }

    fn hand(&mut self, message: Message) -> Option<EventKind> {
        if self.deadline.is_some() {
            return None;
        }
        let letter = letter(&message, self.format, &self.redactor);
        let dropped = self.outbox.push(letter)?;
        Some(EventKind::NotifyFailed {
            message: dropped.title,
            error: format!(
                "dropped unsent: {QUEUE} newer messages were waiting for a slow webhook ({} dropped so far)",
                self.outbox.dropped()
            ),
            attempts: 0,
        })
    }

    /// The release ended: the task delivers what is queued, for up to [`END_GRACE`].
    pub fn finish(&mut self) {
        if self.deadline.is_none() {
            self.outbox.close();
            self.deadline = Some(tokio::time::Instant::now() + END_GRACE);
        }
    }

    /// What the delivery task says next. Cancel-safe: the loop selects on it with its inputs.
    pub async fn next(&mut self) -> Delivery {
        let deadline = self.deadline;
        let grace_over = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            failed = self.failures.recv() => match failed {
                Some(kind) => Delivery::Failed(kind),
                None => Delivery::Done,
            },
            () = grace_over => {
                self.task.abort();
                let mut out = Vec::new();
                while let Ok(kind) = self.failures.try_recv() {
                    out.push(kind);
                }
                out.extend(self.outbox.undelivered().into_iter().map(|(letter, attempts)| {
                    EventKind::NotifyFailed {
                        message: letter.title,
                        error: format!(
                            "the webhook had not taken it {}s after the release ended",
                            END_GRACE.as_secs()
                        ),
                        attempts,
                    }
                }));
                Delivery::GaveUp(out)
            }
        }
    }
}

/// The message as the webhook takes it, every secret masked.
pub fn letter(message: &Message, format: NotifyFormat, redactor: &Redactor) -> Letter {
    let mask = |s: &str| redactor.mask(s.to_string());
    let text = mask(&message.text);
    let body = match format {
        NotifyFormat::Slack => serde_json::json!({ "text": text }),
        NotifyFormat::Json => serde_json::json!({
            "event": message.kind,
            "title": mask(&message.title),
            "release": mask(&message.release),
            "version": message.version.as_deref().map(mask),
            "environment": mask(&message.environment),
            "operator": mask(&message.operator),
            "session": message.session,
            "text": text,
            "time": crate::journal::timestamp(message.at),
        }),
    };
    Letter {
        title: mask(&message.title),
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests;
