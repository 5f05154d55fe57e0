//! Reaching targets: SSH (russh) or the local shell, behind one `Link` per target that
//! reconnects with backoff when the connection drops. Drivers only; no release state here.

pub mod known_hosts;
pub mod lines;
pub mod local;
pub mod lock;
pub mod remote;
pub mod ssh;
pub mod ssh_config;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};

use crate::engine::{EventKind, Stream};
use ssh::{ConnectError, Endpoint, ExecEnd, Session, SshOptions};

/// Where an exec sends its output: chunks of bytes, per stream, not lines.
pub type Chunks = mpsc::Sender<(Stream, Vec<u8>)>;

/// How long a dropped link is retried before the steps on it are given up.
pub const RECONNECT_BUDGET: Duration = Duration::from_secs(120);

/// The one connection to a target, reused for every step (and later logs and tunnels).
pub struct Link {
    pub target: String,
    kind: LinkKind,
    events: mpsc::Sender<EventKind>,
}

enum LinkKind {
    Ssh {
        endpoint: Endpoint,
        opts: Arc<SshOptions>,
        session: Mutex<Option<Arc<Session>>>,
    },
    Local,
}

impl Link {
    pub fn ssh(
        target: &str,
        endpoint: Endpoint,
        opts: Arc<SshOptions>,
        events: mpsc::Sender<EventKind>,
    ) -> Self {
        Link {
            target: target.to_string(),
            kind: LinkKind::Ssh {
                endpoint,
                opts,
                session: Mutex::new(None),
            },
            events,
        }
    }

    pub fn local(target: &str, events: mpsc::Sender<EventKind>) -> Self {
        Link {
            target: target.to_string(),
            kind: LinkKind::Local,
            events,
        }
    }

    /// The first connection, before the release starts. The error is the whole explanation.
    pub async fn connect(&self) -> Result<(), String> {
        let LinkKind::Ssh {
            endpoint,
            opts,
            session,
        } = &self.kind
        else {
            return Ok(());
        };
        let s = Session::connect(endpoint, opts)
            .await
            .map_err(|e| e.explain(endpoint))?;
        *session.lock().await = Some(Arc::new(s));
        Ok(())
    }

    /// Runs a command on the target, streaming its output chunks to `chunks`.
    pub async fn exec(&self, command: &str, chunks: Chunks) -> Result<ExecEnd, String> {
        match &self.kind {
            LinkKind::Local => local::exec(command, chunks).await,
            LinkKind::Ssh { session, .. } => {
                let current = session.lock().await.clone();
                match current {
                    Some(s) if !s.is_closed() => s.exec(command, chunks).await,
                    _ => Ok(ExecEnd::Lost),
                }
            }
        }
    }

    /// Runs a short command and returns its stdout, stderr and end.
    pub async fn output(&self, command: &str) -> Result<(ExecEnd, String, String), String> {
        let (tx, mut rx) = mpsc::channel::<(Stream, Vec<u8>)>(16);
        let collect = async {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            while let Some((stream, data)) = rx.recv().await {
                match stream {
                    Stream::Stdout => out.extend_from_slice(&data),
                    Stream::Stderr => err.extend_from_slice(&data),
                }
            }
            (
                String::from_utf8_lossy(&out).into_owned(),
                String::from_utf8_lossy(&err).into_owned(),
            )
        };
        let (end, (out, err)) = tokio::join!(self.exec(command, tx), collect);
        Ok((end?, out, err))
    }

    /// Gets the link back after a drop, with backoff; tells the release it was lost and found.
    /// Several runs on one target share one reconnection.
    pub async fn reconnect(&self) -> Result<(), String> {
        let LinkKind::Ssh {
            endpoint,
            opts,
            session,
        } = &self.kind
        else {
            return Ok(());
        };
        let mut guard = session.lock().await;
        if guard.as_ref().is_some_and(|s| !s.is_closed()) {
            return Ok(()); // another run already reconnected
        }
        let _ = self
            .events
            .send(EventKind::ConnectionLost {
                target: self.target.clone(),
                error: "connection lost".into(),
            })
            .await;
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            match Session::connect(endpoint, opts).await {
                Ok(s) => {
                    *guard = Some(Arc::new(s));
                    let _ = self
                        .events
                        .send(EventKind::Reconnected {
                            target: self.target.clone(),
                        })
                        .await;
                    return Ok(());
                }
                // A host that now shows another key is not the host we were talking to.
                Err(
                    e @ (ConnectError::ChangedHostKey { .. }
                    | ConnectError::RevokedHostKey { .. }
                    | ConnectError::Auth { .. }),
                ) => {
                    return Err(e.explain(endpoint));
                }
                Err(e) if started.elapsed() > RECONNECT_BUDGET => return Err(e.explain(endpoint)),
                Err(_) => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    pub async fn close(&self) {
        if let LinkKind::Ssh { session, .. } = &self.kind
            && let Some(s) = session.lock().await.take()
        {
            s.close().await;
        }
    }
}
