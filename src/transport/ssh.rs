//! The SSH client (russh): connect with strict host-key checking, authenticate with the agent
//! then identity files, and run commands with their output streamed and exit status collected.

mod auth;
mod host_key;
mod shell;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::{ChannelMsg, Disconnect};

pub use auth::{AgentSocket, unlock_keys};

use super::known_hosts;
use crate::engine::Stream;
use host_key::{HostKeyCheck, host_key_preference};

/// How long to wait for a host when neither the profile nor the ssh config says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// While a channel's opening is awaited: a keepalive this often, this many at most (see
/// [`Connection::open_session`]).
const NUDGE_EVERY: Duration = Duration::from_millis(4);
const NUDGES: usize = 10;
/// What the keepalive is called: OpenSSH's own, which every server ignores when no reply is
/// asked.
const NUDGE: &str = "keepalive@openssh.com";
/// Between keepalives when neither the profile nor the ssh config says.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);

/// How gonogo connects, the same for every target of a release: the profile's `[ssh]`.
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// The profile's known_hosts files, checked before the endpoint's own (and the first is
    /// where new keys are added).
    pub known_hosts: Vec<PathBuf>,
    /// `--accept-new-host-keys`: trust a host seen for the first time and record its key.
    pub accept_new: bool,
    /// The profile's; else `ServerAliveInterval` from the ssh config; else 15 s.
    pub keepalive: Option<Duration>,
    /// The profile's; else `ConnectTimeout` from the ssh config; else 10 s. Also bounds
    /// authentication and the opening of each command's channel.
    pub connect_timeout: Option<Duration>,
    /// Encrypted keys unlocked before the cockpit took the terminal (never in headless runs).
    pub unlocked: std::collections::HashMap<PathBuf, Arc<russh::keys::PrivateKey>>,
}

impl SshOptions {
    /// Where `ep`'s host key is looked up: the profile's files, then the ssh config's
    /// `UserKnownHostsFile` (else `~/.ssh/known_hosts`), then `GlobalKnownHostsFile` (else
    /// `/etc/ssh/ssh_known_hosts`).
    pub fn known_hosts_for(&self, ep: &Endpoint) -> Vec<PathBuf> {
        let mut files = self.known_hosts.clone();
        match &ep.config.user_known_hosts {
            Some(own) => files.extend(own.iter().cloned()),
            None => files.extend(known_hosts::default_user_file()),
        }
        match &ep.config.global_known_hosts {
            Some(own) => files.extend(own.iter().cloned()),
            None => files.push(PathBuf::from(known_hosts::GLOBAL_FILE)),
        }
        files
    }

    pub fn connect_timeout_for(&self, ep: &Endpoint) -> Duration {
        self.connect_timeout
            .or(ep.config.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    fn keepalive_for(&self, ep: &Endpoint) -> Duration {
        self.keepalive
            .or(ep.config.keepalive)
            .unwrap_or(DEFAULT_KEEPALIVE)
    }
}

/// Where and as whom to connect, after `~/.ssh/config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Identity files the profile or the ssh config name, offered first, in order; a missing
    /// one is named in the error. A `.pub` file offers the agent's key of that name.
    pub identities: Vec<PathBuf>,
    /// `~/.ssh/id_*`, when nothing is named (as OpenSSH): offered last, if they exist.
    pub default_identities: Vec<PathBuf>,
    /// The rest of what the ssh config says about this host (boxed: a link holds an endpoint).
    pub config: Box<HostConfig>,
    /// ProxyJump: reach `host` through this one.
    pub jump: Option<Box<Endpoint>>,
}

/// What `~/.ssh/config` says about a host beyond its address and identities.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `IdentitiesOnly yes`: the agent's other keys are not offered.
    pub identities_only: bool,
    /// `IdentityAgent`.
    pub agent: AgentSocket,
    /// `UserKnownHostsFile`, `GlobalKnownHostsFile`: instead of the default files.
    pub user_known_hosts: Option<Vec<PathBuf>>,
    pub global_known_hosts: Option<Vec<PathBuf>>,
    /// `ConnectTimeout`, `ServerAliveInterval`, `ServerAliveCountMax`.
    pub connect_timeout: Option<Duration>,
    pub keepalive: Option<Duration>,
    pub keepalive_max: Option<usize>,
}

impl Endpoint {
    /// The private key files that exist for this endpoint and its jump hosts.
    pub fn identity_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut hop = Some(self);
        while let Some(ep) = hop {
            let files = ep.identities.iter().chain(&ep.default_identities);
            let private = files.map(|p| match p.extension() {
                Some(e) if e == "pub" => p.with_extension(""),
                _ => p.clone(),
            });
            out.extend(private.filter(|p| p.exists()));
            hop = ep.jump.as_deref();
        }
        out
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host, self.port)
    }
}

/// Why a connection could not be made. The kind decides what a caller does (a changed host key
/// is never retried); [`ConnectError::explain`] says it to an operator, with the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("connection refused")]
    Refused,
    #[error("no answer after {}", humantime::format_duration(*.0))]
    TimedOut(Duration),
    /// The handshake completed, then the host stopped answering while authenticating.
    #[error("no answer during authentication after {}", humantime::format_duration(*.0))]
    AuthTimedOut(Duration),
    #[error("{0}")]
    Network(String),
    #[error("unknown host key {fingerprint}")]
    UnknownHostKey {
        fingerprint: String,
        known_hosts: PathBuf,
    },
    #[error("host key changed: {fingerprint} does not match {}:{line}", file.display())]
    ChangedHostKey {
        fingerprint: String,
        file: PathBuf,
        line: usize,
    },
    #[error("host key revoked at {}:{line}", file.display())]
    RevokedHostKey { file: PathBuf, line: usize },
    #[error("authentication failed (tried: {})", tried.join(", "))]
    Auth {
        /// The keys offered, in order.
        tried: Vec<String>,
        /// Identities that could not be offered, and why.
        notes: Vec<String>,
        /// The server hung up before every key was offered (its MaxAuthTries).
        cut_short: bool,
    },
    #[error("SSH error: {0}")]
    Protocol(String),
}

impl ConnectError {
    /// The message, naming the endpoint, and what to do about it.
    pub fn explain(&self, ep: &Endpoint) -> String {
        let at = format!("{}:{}", ep.host, ep.port);
        match self {
            ConnectError::Refused => {
                format!("{at}: connection refused: is sshd running and is the port right?")
            }
            ConnectError::TimedOut(after) => format!(
                "{at}: no answer after {}: check the address, the VPN, the firewall",
                humantime::format_duration(*after)
            ),
            ConnectError::AuthTimedOut(after) => format!(
                "{at}: no answer during authentication after {}: the host may be overloaded or its key lookup hangs; raise [ssh] connect_timeout if it is only slow",
                humantime::format_duration(*after)
            ),
            ConnectError::Network(e) if e.contains("lookup") => format!(
                "{at}: {e}: check the host name, or the ~/.ssh/config alias it should match"
            ),
            ConnectError::Network(e) => format!("{at}: {e}"),
            ConnectError::UnknownHostKey {
                fingerprint,
                known_hosts,
            } => format!(
                "{at}: unknown host key {fingerprint}: refusing to connect.\n  Compare it with the host's own key (on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub);\n  if it is right, run again with --accept-new-host-keys (it is added, hashed, to {}),\n  or add it yourself: ssh-keyscan -p {} {} >> {}",
                known_hosts.display(),
                ep.port,
                ep.host,
                known_hosts.display()
            ),
            ConnectError::ChangedHostKey {
                fingerprint,
                file,
                line,
            } => format!(
                "{at}: HOST KEY CHANGED: the host now presents {fingerprint}, which does not match {}:{line}.\n  Someone may be intercepting the connection, or the host was rebuilt. Not connecting.\n  Verify with the host's owner before you remove the old entry (ssh-keygen -R '{}').",
                file.display(),
                known_host_name(&ep.host, ep.port)
            ),
            ConnectError::RevokedHostKey { file, line } => format!(
                "{at}: the host key is marked @revoked at {}:{line}: not connecting",
                file.display()
            ),
            ConnectError::Auth {
                tried,
                notes,
                cut_short,
            } => {
                let mut listed = tried.clone();
                listed.extend(notes.iter().cloned());
                let listed = if listed.is_empty() {
                    "no keys found".to_string()
                } else {
                    listed.join(", ")
                };
                if *cut_short {
                    format!(
                        "{at}: the server closed the connection after {} keys (its MaxAuthTries) while authenticating as {} (tried: {listed}): name the right key with `identity` on the target, or IdentitiesOnly yes in ~/.ssh/config, so it is offered first",
                        tried.len(),
                        ep.user
                    )
                } else {
                    format!(
                        "{at}: authentication as {} failed (tried: {listed}): load a key with ssh-add, or set `identity` on the target",
                        ep.user
                    )
                }
            }
            ConnectError::Protocol(e) => format!("{at}: SSH error: {e}"),
        }
    }
}

fn known_host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// An authenticated connection, and the jump host it goes through (kept alive with it).
pub struct Connection {
    handle: Handle<HostKeyCheck>,
    /// The fingerprint (SHA256:…) of the host key this connection trusted.
    pub host_key: Option<String>,
    /// `host:port`, for errors.
    address: String,
    /// How long opening a command's channel may take before the connection counts as stalled.
    answer_timeout: Duration,
    /// The long-lived shells gonogo's scripts are sent to (see [`Connection::script`]).
    shells: shell::Shells,
    _jump: Option<Box<Connection>>,
}

/// The result of one remote command.
#[derive(Debug, PartialEq, Eq)]
pub enum ExecEnd {
    Exited(u32),
    /// Killed by a signal on the host.
    Signalled(String),
    /// The connection went away before the command's end was known.
    Lost,
}

/// The SSH client's settings for `ep`: its host key types in the order known_hosts knows
/// them, keepalives, no Nagle, a wide window.
fn client_config(
    ep: &Endpoint,
    opts: &SshOptions,
    files: &[std::path::PathBuf],
) -> Arc<client::Config> {
    let known = known_hosts::known_algorithms(files, &ep.host, ep.port);
    Arc::new(client::Config {
        preferred: russh::Preferred {
            key: host_key_preference(&known).into(),
            ..russh::Preferred::DEFAULT
        },
        keepalive_interval: Some(opts.keepalive_for(ep)),
        keepalive_max: ep.config.keepalive_max.unwrap_or(3),
        nodelay: true,
        // A bigger window keeps bulk output (a 100 MB `cat`) flowing without stalls.
        window_size: 8 * 1024 * 1024,
        ..client::Config::default()
    })
}

impl Connection {
    pub async fn connect(
        ep: &Endpoint,
        opts: &Arc<SshOptions>,
    ) -> Result<Connection, ConnectError> {
        let jump = match &ep.jump {
            Some(j) => Some(Box::new(Box::pin(Connection::connect(j, opts)).await?)),
            None => None,
        };
        let files = opts.known_hosts_for(ep);
        let timeout = opts.connect_timeout_for(ep);
        let config = client_config(ep, opts, &files);
        let problem = Arc::new(Mutex::new(None));
        let trusted = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            host: ep.host.clone(),
            port: ep.port,
            files,
            opts: opts.clone(),
            problem: problem.clone(),
            trusted: trusted.clone(),
        };
        let connecting = async {
            match &jump {
                None => {
                    let tcp = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port))
                        .await
                        .map_err(io_error)?;
                    // `config.nodelay` is only read by russh's own `connect`, not by
                    // `connect_stream`: with Nagle on, each command's channel open waited for
                    // the host's delayed ACK (40 ms on Linux) behind the last small packet.
                    tcp.set_nodelay(true).map_err(io_error)?;
                    client::connect_stream(config, tcp, check).await
                }
                Some(j) => {
                    let channel = j
                        .handle
                        .channel_open_direct_tcpip(
                            ep.host.clone(),
                            u32::from(ep.port),
                            "127.0.0.1",
                            0,
                        )
                        .await
                        .map_err(|e| {
                            russh::Error::IO(std::io::Error::other(format!(
                                "through the jump host: {e}"
                            )))
                        })?;
                    client::connect_stream(config, channel.into_stream(), check).await
                }
            }
        };
        let handle = match tokio::time::timeout(timeout, connecting).await {
            Err(_) => return Err(ConnectError::TimedOut(timeout)),
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                if let Some(p) = problem.lock().expect("not poisoned").take() {
                    return Err(p);
                }
                return Err(classify(e));
            }
        };
        let mut session = Connection {
            handle,
            host_key: trusted.lock().expect("not poisoned").take(),
            address: format!("{}:{}", ep.host, ep.port),
            answer_timeout: timeout,
            shells: shell::Shells::default(),
            _jump: jump,
        };
        let authenticating = auth::authenticate(&mut session.handle, ep, opts);
        match tokio::time::timeout(timeout, authenticating).await {
            Err(_) => Err(ConnectError::AuthTimedOut(timeout)),
            Ok(result) => result.map(|()| session),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Opens a session channel, runs `command` with no PTY and writes `stdin` to it (no EOF:
    /// the caller decides when stdin ends). `None`: the connection is gone, or did not answer
    /// the start and was dropped, so the link reconnects instead of asking a frozen one again.
    pub async fn start(
        &self,
        command: &str,
        stdin: &[u8],
    ) -> Result<Option<russh::Channel<client::Msg>>, super::error::ExecError> {
        let starting = async {
            let channel = self.open_session().await?;
            channel.exec(true, command).await?;
            channel.data(stdin).await?;
            Ok::<_, russh::Error>(channel)
        };
        match tokio::time::timeout(self.answer_timeout, starting).await {
            Ok(Ok(channel)) => Ok(Some(channel)),
            Ok(Err(_)) if self.handle.is_closed() => Ok(None),
            Ok(Err(source)) => Err(super::error::ExecError::Channel {
                address: self.address.clone(),
                source,
            }),
            Err(_) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), self.close()).await;
                Ok(None)
            }
        }
    }

    /// Opens a session channel. While the host's answer is awaited, a keepalive (no reply
    /// asked) goes every few milliseconds: it carries the ACK of what the host sent last. sshd
    /// does not turn Nagle off for commands without a PTY, so after its burst of small packets
    /// at login (host keys, debug notes) it held the confirmation of the first channel until
    /// this side's delayed ACK, 40 ms later on Linux.
    async fn open_session(&self) -> Result<russh::Channel<client::Msg>, russh::Error> {
        let opening = self.handle.channel_open_session();
        tokio::pin!(opening);
        for _ in 0..NUDGES {
            match tokio::time::timeout(NUDGE_EVERY, &mut opening).await {
                Ok(opened) => return opened,
                // Not `send_keepalive(false)`: russh would then wait for a reply that never
                // comes and pair the next real one with it.
                Err(_) => {
                    let nudge = self.handle.send_global_request(NUDGE, &[], false);
                    let _ = nudge.await;
                }
            }
        }
        opening.await
    }

    /// Runs `command` with no PTY, writing `stdin` to it and then EOF, and sending output
    /// chunks (not lines) to `chunks` as they arrive; a slow reader slows the channel down
    /// rather than filling memory. A connection that does not answer the start is reported
    /// lost (see [`Connection::start`]).
    pub async fn exec(
        &self,
        command: &str,
        stdin: &[u8],
        chunks: super::Chunks,
    ) -> Result<ExecEnd, super::error::ExecError> {
        let Some(mut channel) = self.start(command, stdin).await? else {
            return Ok(ExecEnd::Lost);
        };
        if channel.eof().await.is_err() && self.handle.is_closed() {
            return Ok(ExecEnd::Lost);
        }
        let mut end = None;
        // exit-status may come after EOF: read until the channel closes.
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    let _ = chunks.send((Stream::Stdout, data.to_vec())).await;
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    let _ = chunks.send((Stream::Stderr, data.to_vec())).await;
                }
                ChannelMsg::ExitStatus { exit_status } => end = Some(ExecEnd::Exited(exit_status)),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    end = Some(ExecEnd::Signalled(format!("{signal_name:?}")));
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        Ok(end.unwrap_or(ExecEnd::Lost))
    }

    /// A byte stream to `host:port` as the target sees it (`ssh -L`): health checks and
    /// metrics `via` a target reach its loopback services without curl on the host.
    pub async fn tunnel(
        &self,
        host: &str,
        port: u16,
    ) -> Result<russh::ChannelStream<russh::client::Msg>, super::error::TunnelError> {
        let opening = self
            .handle
            .channel_open_direct_tcpip(host, u32::from(port), "127.0.0.1", 0);
        match tokio::time::timeout(self.answer_timeout, opening).await {
            Ok(Ok(channel)) => Ok(channel.into_stream()),
            Ok(Err(source)) => Err(super::error::TunnelError::Channel {
                host: host.to_string(),
                port,
                address: self.address.clone(),
                source,
            }),
            Err(_) => Err(super::error::TunnelError::NoAnswer {
                host: host.to_string(),
                port,
                address: self.address.clone(),
                after: self.answer_timeout,
            }),
        }
    }

    pub async fn close(&self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "release done", "en")
            .await;
    }
}

fn io_error(e: std::io::Error) -> russh::Error {
    russh::Error::IO(e)
}

fn classify(e: russh::Error) -> ConnectError {
    match e {
        russh::Error::IO(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => ConnectError::Refused,
            std::io::ErrorKind::TimedOut => ConnectError::TimedOut(Duration::ZERO),
            _ => ConnectError::Network(io.to_string()),
        },
        russh::Error::ConnectionTimeout => ConnectError::TimedOut(Duration::ZERO),
        other => ConnectError::Protocol(other.to_string()),
    }
}
