//! Reaching targets: SSH (russh) or the local shell, behind one `Link` per target that
//! reconnects with backoff when the connection drops. Drivers only; no release state here.

pub mod error;
pub mod follow;
pub mod frame;
pub mod known_hosts;
pub mod lines;
pub mod local;
pub mod lock;
pub mod openssh;
pub mod remote;
pub mod script;
pub mod ssh;
pub mod ssh_config;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};

use crate::engine::{EventKind, Stream};
pub use error::{ExecError, LinkError, TunnelError};
use ssh::{ConnectError, Connection, Endpoint, ExecEnd, SshOptions};

/// How long one of gonogo's short scripts (lock, status, stop) may take on a host.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where an exec sends its output: chunks of bytes, per stream, not lines.
pub type Chunks = mpsc::Sender<(Stream, Vec<u8>)>;

/// A connected byte stream: a TCP socket, or an SSH channel forwarded like `ssh -L`.
pub trait ByteStream:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static
{
}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> ByteStream for T {}

/// How long a dropped link is retried, by default, before the steps on it are given up.
pub const RECONNECT_BUDGET: Duration = Duration::from_secs(120);

/// The one connection to a target, reused for every step (and later logs and tunnels).
pub struct Link {
    pub target: String,
    kind: LinkKind,
    events: mpsc::Sender<EventKind>,
    /// How long a dropped link is retried before what depends on it is given up.
    budget: Duration,
}

enum LinkKind {
    Ssh {
        endpoint: Endpoint,
        opts: Arc<SshOptions>,
        session: Mutex<Option<Arc<Connection>>>,
    },
    Local {
        place: Option<Arc<local::LocalPlace>>,
    },
}

impl Link {
    pub fn ssh(
        target: &str,
        endpoint: Endpoint,
        opts: Arc<SshOptions>,
        budget: Duration,
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
            budget,
        }
    }

    pub fn local(target: &str, events: mpsc::Sender<EventKind>) -> Self {
        Link {
            target: target.to_string(),
            kind: LinkKind::Local { place: None },
            events,
            budget: RECONNECT_BUDGET,
        }
    }

    /// A local target that is a simulated host: its own home and loopback ports.
    pub fn placed(mut self, place: Arc<local::LocalPlace>) -> Self {
        if let LinkKind::Local { place: p } = &mut self.kind {
            *p = Some(place);
        }
        self
    }

    /// The first connection, before the release starts. The error is the whole explanation.
    /// Connects; the fingerprint of the host key trusted comes back (none for a local target).
    pub async fn connect(&self) -> Result<Option<String>, LinkError> {
        let LinkKind::Ssh {
            endpoint,
            opts,
            session,
        } = &self.kind
        else {
            return Ok(None);
        };
        let s = Connection::connect(endpoint, opts)
            .await
            .map_err(|error| LinkError::Connect {
                error,
                endpoint: Box::new(endpoint.clone()),
            })?;
        let host_key = s.host_key.clone();
        *session.lock().await = Some(Arc::new(s));
        Ok(host_key)
    }

    /// Runs one of gonogo's scripts on the target (see [`script`]), streaming its own output
    /// chunks to `chunks`; what the account's shell printed before the script started is not
    /// passed on. A script that never started is an error that quotes the shell's words.
    pub async fn exec(&self, body: &str, chunks: Chunks) -> Result<ExecEnd, LinkError> {
        let (raw_tx, mut raw) = mpsc::channel::<(Stream, Vec<u8>)>(16);
        let running = async {
            match &self.kind {
                LinkKind::Local { place } => {
                    let text = script::wrap(body);
                    local::exec(place.as_deref(), text.as_bytes(), raw_tx).await
                }
                LinkKind::Ssh { session, .. } => {
                    let current = session.lock().await.clone();
                    match current {
                        Some(s) if !s.is_closed() => {
                            let end = s.script(body, raw_tx).await;
                            if matches!(end, Ok(ExecEnd::Lost)) {
                                // A frozen connection is dropped, so the link reconnects.
                                let mut slot = session.lock().await;
                                if slot.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, &s)) {
                                    *slot = None;
                                }
                            }
                            end
                        }
                        _ => Ok(ExecEnd::Lost),
                    }
                }
            }
        };
        let passing = async {
            let mut begin = script::AfterBegin::default();
            while let Some((stream, data)) = raw.recv().await {
                if let Some(data) = begin.pass(stream, data) {
                    let _ = chunks.send((stream, data)).await;
                }
            }
            let err = begin.leftover(Stream::Stderr);
            if begin.started() && !err.is_empty() {
                let _ = chunks.send((Stream::Stderr, err)).await;
            }
            begin
        };
        let (end, begin) = tokio::join!(running, passing);
        match end? {
            ExecEnd::Lost => Ok(ExecEnd::Lost),
            _ if !begin.started() => Err(LinkError::NotStarted(begin.explain())),
            end => Ok(end),
        }
    }

    /// A byte stream to `host:port` on the target's side: through the SSH connection, or
    /// straight from here for a local target. No reconnect: a probe through a link that is
    /// down fails, and says so.
    pub async fn tunnel(&self, host: &str, port: u16) -> Result<Box<dyn ByteStream>, TunnelError> {
        match &self.kind {
            LinkKind::Local { place } => {
                let mapped = place.as_ref().map_or(port, |p| p.port(host, port));
                tokio::net::TcpStream::connect((host, mapped))
                    .await
                    .map(|s| Box::new(s) as Box<dyn ByteStream>)
                    .map_err(|source| TunnelError::Local {
                        host: host.to_string(),
                        port,
                        source,
                    })
            }
            LinkKind::Ssh { session, .. } => {
                let current = session.lock().await.clone();
                match current {
                    Some(s) if !s.is_closed() => s
                        .tunnel(host, port)
                        .await
                        .map(|s| Box::new(s) as Box<dyn ByteStream>),
                    _ => Err(TunnelError::Down(self.target.clone())),
                }
            }
        }
    }

    /// Runs a short command and returns its stdout, stderr and end.
    pub async fn output(&self, command: &str) -> Result<(ExecEnd, String, String), LinkError> {
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

    /// Runs a short script to its end, reconnecting (within the budget) when the link drops:
    /// gonogo's scripts are safe to run again.
    pub async fn answer(&self, body: &str) -> Result<(ExecEnd, String, String), LinkError> {
        loop {
            let answered = tokio::time::timeout(SCRIPT_TIMEOUT, self.output(body)).await;
            let Ok(answered) = answered else {
                return Err(LinkError::NoAnswer {
                    target: self.target.clone(),
                    after: SCRIPT_TIMEOUT,
                });
            };
            match answered? {
                (ExecEnd::Lost, _, _) => self.reconnect().await?,
                done => return Ok(done),
            }
        }
    }

    /// Gets the link back after a drop, with backoff; tells the release it was lost and found.
    /// Several runs on one target share one reconnection.
    pub async fn reconnect(&self) -> Result<(), LinkError> {
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
            match Connection::connect(endpoint, opts).await {
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
                    error @ (ConnectError::ChangedHostKey { .. }
                    | ConnectError::RevokedHostKey { .. }
                    | ConnectError::Auth { .. }),
                ) => {
                    return Err(LinkError::Connect {
                        error,
                        endpoint: Box::new(endpoint.clone()),
                    });
                }
                Err(error) if started.elapsed() > self.budget => {
                    return Err(LinkError::NotBack {
                        budget: Duration::from_secs(self.budget.as_secs()),
                        error,
                        endpoint: Box::new(endpoint.clone()),
                    });
                }
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
