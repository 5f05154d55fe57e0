//! The SSH client (russh): connect with strict host-key checking, authenticate with the agent
//! then identity files, and run commands with their output streamed and exit status collected.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::PrivateKeyWithHashAlg;
use russh::keys::ssh_key::{Algorithm, HashAlg};
use russh::{ChannelMsg, Disconnect};

use super::known_hosts::{self, Verdict};
use crate::engine::Stream;

/// How gonogo connects, the same for every target of a release.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Files that vouch for host keys (the first is where new keys are added).
    pub known_hosts: Vec<PathBuf>,
    /// `--accept-new-host-keys`: trust a host seen for the first time and record its key.
    pub accept_new: bool,
    pub keepalive: Duration,
    pub connect_timeout: Duration,
    /// Encrypted keys unlocked before the cockpit took the terminal (never in headless runs).
    pub unlocked: std::collections::HashMap<PathBuf, Arc<russh::keys::PrivateKey>>,
}

/// Where and as whom to connect, after `~/.ssh/config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identities: Vec<PathBuf>,
    /// ProxyJump: reach `host` through this one.
    pub jump: Option<Box<Endpoint>>,
}

impl Endpoint {
    /// The identity files that exist for this endpoint and its jump hosts.
    pub fn identity_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut hop = Some(self);
        while let Some(ep) = hop {
            out.extend(ep.identities.iter().filter(|p| p.exists()).cloned());
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

/// Why a connection could not be made, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    Refused,
    TimedOut(Duration),
    Network(String),
    UnknownHostKey {
        fingerprint: String,
        known_hosts: PathBuf,
    },
    ChangedHostKey {
        fingerprint: String,
        file: PathBuf,
        line: usize,
    },
    RevokedHostKey {
        file: PathBuf,
        line: usize,
    },
    Auth {
        tried: Vec<String>,
    },
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
            ConnectError::Auth { tried } => format!(
                "{at}: authentication as {} failed (tried: {}): load a key with ssh-add, or set `identity` on the target",
                ep.user,
                if tried.is_empty() {
                    "no keys found".to_string()
                } else {
                    tried.join(", ")
                }
            ),
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

/// Checks the server's key against known_hosts; the verdict is kept to explain a refusal.
struct HostKeyCheck {
    host: String,
    port: u16,
    opts: Arc<SshOptions>,
    problem: Arc<Mutex<Option<ConnectError>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            *self.problem.lock().expect("not poisoned") = Some(ConnectError::Protocol(
                "the host offered a certificate; gonogo checks plain host keys only".into(),
            ));
            return Ok(false);
        };
        let verdict = known_hosts::verify(&self.opts.known_hosts, &self.host, self.port, key);
        let problem = match verdict {
            Verdict::Trusted { .. } => return Ok(true),
            Verdict::Unknown if self.opts.accept_new => {
                let file = self.opts.known_hosts.first().cloned().unwrap_or_default();
                return match known_hosts::append_hashed(&file, &self.host, self.port, key) {
                    Ok(()) => Ok(true),
                    Err(e) => {
                        *self.problem.lock().expect("not poisoned") = Some(ConnectError::Network(
                            format!("cannot add the host key to {}: {e}", file.display()),
                        ));
                        Ok(false)
                    }
                };
            }
            Verdict::Unknown => ConnectError::UnknownHostKey {
                fingerprint: known_hosts::fingerprint(key),
                known_hosts: self.opts.known_hosts.first().cloned().unwrap_or_default(),
            },
            Verdict::Changed { file, line } => ConnectError::ChangedHostKey {
                fingerprint: known_hosts::fingerprint(key),
                file,
                line,
            },
            Verdict::Revoked { file, line } => ConnectError::RevokedHostKey { file, line },
        };
        *self.problem.lock().expect("not poisoned") = Some(problem);
        Ok(false)
    }
}

/// An authenticated connection, and the jump host it goes through (kept alive with it).
pub struct Session {
    handle: Handle<HostKeyCheck>,
    _jump: Option<Box<Session>>,
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

impl Session {
    pub async fn connect(ep: &Endpoint, opts: &Arc<SshOptions>) -> Result<Session, ConnectError> {
        let jump = match &ep.jump {
            Some(j) => Some(Box::new(Box::pin(Session::connect(j, opts)).await?)),
            None => None,
        };
        let known = known_hosts::known_algorithms(&opts.known_hosts, &ep.host, ep.port);
        let config = Arc::new(client::Config {
            preferred: russh::Preferred {
                key: host_key_preference(&known).into(),
                ..russh::Preferred::DEFAULT
            },
            keepalive_interval: Some(opts.keepalive),
            keepalive_max: 3,
            nodelay: true,
            // A bigger window keeps bulk output (a 100 MB `cat`) flowing without stalls.
            window_size: 8 * 1024 * 1024,
            ..client::Config::default()
        });
        let problem = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            host: ep.host.clone(),
            port: ep.port,
            opts: opts.clone(),
            problem: problem.clone(),
        };
        let connecting = async {
            match &jump {
                None => {
                    let tcp = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port))
                        .await
                        .map_err(io_error)?;
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
        let handle = match tokio::time::timeout(opts.connect_timeout, connecting).await {
            Err(_) => return Err(ConnectError::TimedOut(opts.connect_timeout)),
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                if let Some(p) = problem.lock().expect("not poisoned").take() {
                    return Err(p);
                }
                return Err(classify(e));
            }
        };
        let mut session = Session {
            handle,
            _jump: jump,
        };
        session.authenticate(ep, opts).await?;
        Ok(session)
    }

    async fn authenticate(&mut self, ep: &Endpoint, opts: &SshOptions) -> Result<(), ConnectError> {
        let mut tried = Vec::new();
        let rsa_hash = self
            .handle
            .best_supported_rsa_hash()
            .await
            .ok()
            .flatten()
            .flatten();
        if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await {
            let identities = agent.request_identities().await.unwrap_or_default();
            for identity in identities {
                let russh::keys::agent::AgentIdentity::PublicKey { key, comment } = identity else {
                    continue;
                };
                tried.push(format!(
                    "agent key {}",
                    if comment.is_empty() {
                        key.algorithm().to_string()
                    } else {
                        comment
                    }
                ));
                let hash = key.algorithm().is_rsa().then_some(rsa_hash).flatten();
                let result = self
                    .handle
                    .authenticate_publickey_with(&ep.user, key, hash, &mut agent)
                    .await;
                if result.is_ok_and(|r| r.success()) {
                    return Ok(());
                }
            }
        }
        for path in &ep.identities {
            if !path.exists() {
                continue;
            }
            let key = match load_key(path, opts) {
                Ok(key) => key,
                Err(why) => {
                    tried.push(format!("{} ({why})", path.display()));
                    continue;
                }
            };
            tried.push(path.display().to_string());
            let hash = key.algorithm().is_rsa().then_some(rsa_hash).flatten();
            let key = PrivateKeyWithHashAlg::new(key, hash);
            match self.handle.authenticate_publickey(&ep.user, key).await {
                Ok(r) if r.success() => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(classify(e)),
            }
        }
        Err(ConnectError::Auth { tried })
    }

    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Runs `command` with no PTY, sending output chunks (not lines) to `chunks` as they
    /// arrive; a slow reader slows the channel down rather than filling memory.
    pub async fn exec(&self, command: &str, chunks: super::Chunks) -> Result<ExecEnd, String> {
        let mut channel = match self.handle.channel_open_session().await {
            Ok(c) => c,
            Err(_) if self.handle.is_closed() => return Ok(ExecEnd::Lost),
            Err(e) => return Err(e.to_string()),
        };
        if let Err(e) = channel.exec(true, command).await {
            return if self.handle.is_closed() {
                Ok(ExecEnd::Lost)
            } else {
                Err(e.to_string())
            };
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

    pub async fn close(&self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "release done", "en")
            .await;
    }
}

fn load_key(
    path: &std::path::Path,
    opts: &SshOptions,
) -> Result<Arc<russh::keys::PrivateKey>, String> {
    match russh::keys::load_secret_key(path, None) {
        Ok(key) => Ok(Arc::new(key)),
        Err(russh::keys::Error::KeyIsEncrypted) if opts.unlocked.contains_key(path) => {
            Ok(opts.unlocked[path].clone())
        }
        Err(russh::keys::Error::KeyIsEncrypted) => Err(format!(
            "encrypted and no terminal to ask its passphrase: add it to the agent with ssh-add {}",
            path.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Asks, on the terminal, the passphrase of every encrypted identity the agent does not hold,
/// before the cockpit takes the screen. An empty answer skips the key.
pub async fn unlock_keys(
    paths: &[PathBuf],
) -> std::collections::HashMap<PathBuf, Arc<russh::keys::PrivateKey>> {
    let mut in_agent = Vec::new();
    if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await {
        for identity in agent.request_identities().await.unwrap_or_default() {
            if let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = identity {
                in_agent.push(key.key_data().clone());
            }
        }
    }
    let mut unlocked = std::collections::HashMap::new();
    for path in paths {
        if unlocked.contains_key(path)
            || !matches!(
                russh::keys::load_secret_key(path, None),
                Err(russh::keys::Error::KeyIsEncrypted)
            )
        {
            continue;
        }
        let public = std::fs::read_to_string(path.with_extension("pub"))
            .ok()
            .and_then(|text| russh::keys::ssh_key::PublicKey::from_openssh(text.trim()).ok());
        if public.is_some_and(|p| in_agent.contains(p.key_data())) {
            continue;
        }
        for _ in 0..3 {
            let prompt = format!(
                "gonogo: passphrase for {} (empty skips it): ",
                path.display()
            );
            let Ok(pass) = rpassword::prompt_password(prompt) else {
                break;
            };
            if pass.is_empty() {
                break;
            }
            match russh::keys::load_secret_key(path, Some(&pass)) {
                Ok(key) => {
                    unlocked.insert(path.clone(), Arc::new(key));
                    break;
                }
                Err(_) => eprintln!("gonogo: wrong passphrase"),
            }
        }
    }
    unlocked
}

/// The host key algorithms to ask for, OpenSSH's way: those of the keys the host is known by
/// first (else a host known by its ECDSA key would show its Ed25519 one and look changed), then
/// the rest of russh's list so an unknown host still connects. Types russh cannot check are left
/// out; an RSA key is asked for with SHA-2 signatures.
fn host_key_preference(known: &[Algorithm]) -> Vec<Algorithm> {
    let supported = &russh::Preferred::DEFAULT.key;
    let mut out: Vec<Algorithm> = Vec::new();
    let wanted = known.iter().flat_map(|a| match a {
        Algorithm::Rsa { .. } => vec![
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ],
        other => vec![other.clone()],
    });
    for algorithm in wanted.chain(supported.iter().cloned()) {
        if supported.contains(&algorithm) && !out.contains(&algorithm) {
            out.push(algorithm);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::ssh_key::EcdsaCurve;

    #[test]
    fn host_key_algorithms_of_known_keys_come_first_and_the_rest_follow() {
        let p256 = Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        };
        let rsa = |hash| Algorithm::Rsa { hash };
        let ecdsa_first = host_key_preference(std::slice::from_ref(&p256));
        assert_eq!(ecdsa_first[..2], [p256.clone(), Algorithm::Ed25519]);
        assert_eq!(ecdsa_first.len(), russh::Preferred::DEFAULT.key.len());

        let rsa_first = host_key_preference(&[rsa(None), Algorithm::Ed25519]);
        assert_eq!(
            rsa_first[..3],
            [
                rsa(Some(HashAlg::Sha512)),
                rsa(Some(HashAlg::Sha256)),
                Algorithm::Ed25519
            ]
        );
        assert_eq!(host_key_preference(&[]), russh::Preferred::DEFAULT.key[..]);
    }
}
