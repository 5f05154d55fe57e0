//! Public-key authentication, in the order OpenSSH users expect: the identities the profile and
//! the ssh config name first (through the agent when it holds them), then the agent's other keys
//! unless `IdentitiesOnly`, then `~/.ssh/id_*`. What was tried, and what could not be, is kept for
//! the error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{self, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use tokio::net::UnixStream;

use super::{ConnectError, Endpoint, SshOptions};

/// Which ssh-agent to ask: `IdentityAgent` in the ssh config, else `SSH_AUTH_SOCK`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AgentSocket {
    /// `SSH_AUTH_SOCK`, if set.
    #[default]
    FromEnv,
    /// `IdentityAgent PATH` (1Password, Secretive, gpg-agent...).
    At(PathBuf),
    /// `IdentityAgent none`.
    Off,
}

type Agent = AgentClient<UnixStream>;

/// Connects to the endpoint's agent; `None`, with the reason in `notes` when it is worth
/// telling, if there is none to use.
async fn open_agent(socket: &AgentSocket, notes: &mut Vec<String>) -> Option<Agent> {
    let (path, named) = match socket {
        AgentSocket::Off => return None,
        AgentSocket::FromEnv => (
            PathBuf::from(std::env::var_os("SSH_AUTH_SOCK")?),
            "SSH_AUTH_SOCK",
        ),
        AgentSocket::At(path) => (path.clone(), "IdentityAgent"),
    };
    match AgentClient::connect_uds(&path).await {
        Ok(agent) => Some(agent),
        Err(e) => {
            notes.push(format!("agent {} ({named}): {e}", path.display()));
            None
        }
    }
}

async fn agent_keys(agent: Option<&mut Agent>) -> Vec<(PublicKey, String)> {
    let Some(agent) = agent else {
        return Vec::new();
    };
    agent
        .request_identities()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|identity| match identity {
            AgentIdentity::PublicKey { key, comment } => Some((key, comment)),
            _ => None,
        })
        .collect()
}

/// One key to offer the server.
enum Offer {
    /// Signed by the agent.
    Agent { key: PublicKey, label: String },
    /// A private key read from a file.
    File { key: Arc<PrivateKey>, label: String },
}

/// The keys to offer, in order, and the notes about identities that could not be used.
struct Plan<'a> {
    opts: &'a SshOptions,
    in_agent: &'a [(PublicKey, String)],
    offers: Vec<Offer>,
    offered: Vec<KeyData>,
    notes: Vec<String>,
}

impl Plan<'_> {
    /// An identity file: through the agent if it holds that key, else read from the file. A
    /// `.pub` file names a key whose private half may be only in the agent. `named`: the profile
    /// or the config named it, so a missing file is worth telling.
    fn identity(&mut self, path: &Path, named: bool) {
        let is_public = path.extension().is_some_and(|e| e == "pub");
        let (public_path, private_path) = if is_public {
            (path.to_path_buf(), path.with_extension(""))
        } else {
            (public_half(path), path.to_path_buf())
        };
        let public = std::fs::read_to_string(&public_path)
            .ok()
            .and_then(|text| PublicKey::from_openssh(text.trim()).ok());
        if let Some(public) = &public
            && let Some((key, _)) = self
                .in_agent
                .iter()
                .find(|(k, _)| k.key_data() == public.key_data())
        {
            let label = format!("{} (in the agent)", path.display());
            self.push(Offer::Agent {
                key: key.clone(),
                label,
            });
            return;
        }
        if !private_path.exists() {
            if named && is_public && path.exists() {
                self.notes.push(format!(
                    "identity {}: its key is not in the agent and {} does not exist",
                    path.display(),
                    private_path.display()
                ));
            } else if named {
                self.notes
                    .push(format!("identity {}: no such file", path.display()));
            }
            return;
        }
        match load_key(&private_path, self.opts) {
            Ok(key) => {
                let label = private_path.display().to_string();
                self.push(Offer::File { key, label });
            }
            Err(why) => self
                .notes
                .push(format!("identity {} ({why})", private_path.display())),
        }
    }

    fn agent_rest(&mut self) {
        for (key, comment) in self.in_agent {
            let label = if comment.is_empty() {
                format!("agent key {}", key.algorithm())
            } else {
                format!("agent key {comment}")
            };
            self.push(Offer::Agent {
                key: key.clone(),
                label,
            });
        }
    }

    /// Adds an offer unless that key is already offered.
    fn push(&mut self, offer: Offer) {
        let data = match &offer {
            Offer::Agent { key, .. } => key.key_data().clone(),
            Offer::File { key, .. } => key.public_key().key_data().clone(),
        };
        if !self.offered.contains(&data) {
            self.offered.push(data);
            self.offers.push(offer);
        }
    }
}

/// `key` → `key.pub` (appended, so `deploy.pem` gives `deploy.pem.pub`).
fn public_half(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_os_string();
    name.push(".pub");
    PathBuf::from(name)
}

pub(super) async fn authenticate<H: client::Handler>(
    handle: &mut Handle<H>,
    ep: &Endpoint,
    opts: &SshOptions,
) -> Result<(), ConnectError> {
    let mut notes = Vec::new();
    let mut agent = open_agent(&ep.config.agent, &mut notes).await;
    let in_agent = agent_keys(agent.as_mut()).await;
    let mut plan = Plan {
        opts,
        in_agent: &in_agent,
        offers: Vec::new(),
        offered: Vec::new(),
        notes,
    };
    for path in &ep.identities {
        plan.identity(path, true);
    }
    if !ep.config.identities_only {
        plan.agent_rest();
    }
    for path in &ep.default_identities {
        plan.identity(path, false);
    }
    let Plan { offers, notes, .. } = plan;

    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    let mut tried = Vec::new();
    for offer in offers {
        let (result, label) = match offer {
            Offer::Agent { key, label } => {
                let Some(agent) = agent.as_mut() else {
                    continue;
                };
                let hash = key.algorithm().is_rsa().then_some(rsa_hash).flatten();
                let result = handle
                    .authenticate_publickey_with(&ep.user, key, hash, agent)
                    .await
                    .map_err(|e| e.to_string());
                (result, label)
            }
            Offer::File { key, label } => {
                let hash = key.algorithm().is_rsa().then_some(rsa_hash).flatten();
                let key = PrivateKeyWithHashAlg::new(key, hash);
                let result = handle
                    .authenticate_publickey(&ep.user, key)
                    .await
                    .map_err(|e| e.to_string());
                (result, label)
            }
        };
        match result {
            Ok(r) if r.success() => return Ok(()),
            Ok(_) => tried.push(label),
            Err(e) => tried.push(format!("{label} ({e})")),
        }
        // The server hangs up once a client has used up its MaxAuthTries.
        if handle.is_closed() {
            return Err(ConnectError::Auth {
                tried,
                notes,
                cut_short: true,
            });
        }
    }
    Err(ConnectError::Auth {
        tried,
        notes,
        cut_short: false,
    })
}

/// Why an identity file could not be offered: a note in the authentication error.
#[derive(Debug, thiserror::Error)]
pub(super) enum KeyError {
    #[error(
        "encrypted and no terminal to ask its passphrase: add it to the agent with ssh-add {}",
        .0.display()
    )]
    Encrypted(PathBuf),
    #[error("{0}")]
    Unreadable(#[source] russh::keys::Error),
}

pub(super) fn load_key(path: &Path, opts: &SshOptions) -> Result<Arc<PrivateKey>, KeyError> {
    match russh::keys::load_secret_key(path, None) {
        Ok(key) => Ok(Arc::new(key)),
        Err(russh::keys::Error::KeyIsEncrypted) if opts.unlocked.contains_key(path) => {
            Ok(opts.unlocked[path].clone())
        }
        Err(russh::keys::Error::KeyIsEncrypted) => Err(KeyError::Encrypted(path.to_path_buf())),
        Err(e) => Err(KeyError::Unreadable(e)),
    }
}

/// Asks, on the terminal, the passphrase of every encrypted identity of `endpoints` that their
/// agent does not hold, before the cockpit takes the screen. An empty answer skips the key.
pub async fn unlock_keys(endpoints: &[&Endpoint]) -> HashMap<PathBuf, Arc<PrivateKey>> {
    let mut in_agent: Vec<KeyData> = Vec::new();
    let mut asked: Vec<&AgentSocket> = Vec::new();
    for ep in endpoints {
        let mut hop = Some(*ep);
        while let Some(ep) = hop {
            if !asked.contains(&&ep.config.agent) {
                asked.push(&ep.config.agent);
                let mut agent = open_agent(&ep.config.agent, &mut Vec::new()).await;
                let keys = agent_keys(agent.as_mut()).await;
                in_agent.extend(keys.into_iter().map(|(k, _)| k.key_data().clone()));
            }
            hop = ep.jump.as_deref();
        }
    }
    let mut unlocked = HashMap::new();
    let paths = endpoints.iter().flat_map(|ep| ep.identity_files());
    for path in paths {
        if unlocked.contains_key(&path)
            || !matches!(
                russh::keys::load_secret_key(&path, None),
                Err(russh::keys::Error::KeyIsEncrypted)
            )
        {
            continue;
        }
        let public = std::fs::read_to_string(public_half(&path))
            .ok()
            .and_then(|text| PublicKey::from_openssh(text.trim()).ok());
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
            match russh::keys::load_secret_key(&path, Some(&pass)) {
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
