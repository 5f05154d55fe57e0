//! From a profile target to an SSH endpoint: the profile's values first, then `~/.ssh/config`
//! (Host patterns, Include, HostName, User, Port, IdentityFile, IdentitiesOnly, IdentityAgent,
//! ProxyJump, UserKnownHostsFile, GlobalKnownHostsFile, ConnectTimeout, ServerAliveInterval,
//! ServerAliveCountMax), then defaults. Other keys that apply to a target are named by
//! [`unhonoured`] so the operator is told; `Match` blocks of the main file are skipped and named.

mod unsupported;

pub use unsupported::Unhonoured;

use std::io::BufReader;
use std::path::{Path, PathBuf};

use ssh2_config::{HostParams, ParseRule, SshConfig};

use super::ssh::{AgentSocket, Endpoint, HostConfig};

/// What the profile says about one target, already interpolated.
#[derive(Debug, Clone, Default)]
pub struct TargetAddress {
    /// Host name, address or `~/.ssh/config` alias.
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity: Option<String>,
}

/// A parsed ssh config, and what is wrong with it as a whole.
pub struct ClientConfig {
    pub config: SshConfig,
    /// One line each, for the operator before the release starts.
    pub warnings: Vec<String>,
}

/// The ssh config could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
    Parse {
        path: std::path::PathBuf,
        source: ssh2_config::SshParserError,
    },
}

/// `~/.ssh/config` (or the profile's `[ssh] config`), if there is one.
pub fn load(path: Option<&str>) -> Result<Option<ClientConfig>, ConfigError> {
    let path = match path {
        Some(p) => expand_home(p),
        None => match home() {
            Some(h) => h.join(".ssh/config"),
            None => return Ok(None),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let (text, match_lines) = skip_match_blocks(&text);
    let warnings = match_lines
        .iter()
        .map(|line| {
            format!(
                "{}:{line}: `Match` blocks are not supported: its settings are ignored for every target; write a Host block instead",
                path.display()
            )
        })
        .collect();
    let mut config = SshConfig::default();
    if let Some(h) = home() {
        config = config.home_dir(h);
    }
    let rules = ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS;
    let config = match config.parse(&mut BufReader::new(text.as_bytes()), rules) {
        Ok(config) => config,
        Err(source) => return Err(ConfigError::Parse { path, source }),
    };
    Ok(Some(ClientConfig { config, warnings }))
}

/// ssh2-config has no `Match`: it would file a Match block's lines under the Host block before
/// it. Each `Match` line becomes a Host block that matches nothing; returns their line numbers.
fn skip_match_blocks(text: &str) -> (String, Vec<usize>) {
    let mut lines = Vec::new();
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.lines().enumerate() {
        let key = line
            .trim_start()
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or("");
        if key.eq_ignore_ascii_case("match") {
            lines.push(index + 1);
            out.push_str("Host !*\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    (out, lines)
}

/// The endpoint for `address`, with `default_identity` from the profile's `[ssh]`.
pub fn resolve(
    address: &TargetAddress,
    default_identity: Option<&str>,
    config: Option<&SshConfig>,
) -> Endpoint {
    resolve_hop(address, default_identity, config, 0)
}

/// The config keys that apply to `host` (a target's host or alias), or to the jump hosts of its
/// endpoint `ep` (then with that jump host's name), and that gonogo does not honour.
pub fn unhonoured(
    host: &str,
    ep: &Endpoint,
    config: &SshConfig,
) -> Vec<(Unhonoured, Option<String>)> {
    let mut out: Vec<_> = unsupported::unhonoured(&config.query(host))
        .into_iter()
        .map(|key| (key, None))
        .collect();
    let mut hop = ep.jump.as_deref();
    while let Some(jump) = hop {
        for key in unsupported::unhonoured(&config.query(&jump.host)) {
            out.push((key, Some(jump.host.clone())));
        }
        hop = jump.jump.as_deref();
    }
    out
}

fn resolve_hop(
    address: &TargetAddress,
    default_identity: Option<&str>,
    config: Option<&SshConfig>,
    depth: usize,
) -> Endpoint {
    let params = config.map(|c| c.query(&address.host));
    let host = params
        .as_ref()
        .and_then(|p| p.host_name.clone())
        .unwrap_or_else(|| address.host.clone());
    let port = address
        .port
        .or(params.as_ref().and_then(|p| p.port))
        .unwrap_or(22);
    let user = address
        .user
        .clone()
        .or_else(|| params.as_ref().and_then(|p| p.user.clone()))
        .unwrap_or_else(local_user);
    let mut identities: Vec<PathBuf> = address
        .identity
        .as_deref()
        .into_iter()
        .chain(default_identity)
        .map(expand_home)
        .collect();
    if let Some(files) = params.as_ref().and_then(|p| p.identity_file.clone()) {
        identities.extend(files.iter().map(|f| expand_home(&f.to_string_lossy())));
    }
    identities.dedup();
    // As OpenSSH: the default files only when no identity is named.
    let default_identities = match (identities.is_empty(), home()) {
        (true, Some(h)) => ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|n| h.join(".ssh").join(n))
            .collect(),
        _ => Vec::new(),
    };
    let p = params.as_ref();
    let field = |key: &str| p.and_then(|p| field(p, key));
    let files = |key: &str| p.and_then(|p| files(p, key));
    // ProxyJump a,b: reach b through a, then the target through b.
    let jump = p
        .and_then(|p| p.proxy_jump.clone())
        .filter(|hops| depth < 4 && !hops.is_empty() && hops[0] != "none")
        .and_then(|hops| {
            hops.iter()
                .fold(None, |through: Option<Box<Endpoint>>, hop| {
                    let mut next =
                        resolve_hop(&parse_jump(hop), default_identity, config, depth + 1);
                    next.jump = through.or(next.jump);
                    Some(Box::new(next))
                })
        });
    Endpoint {
        host,
        port,
        user,
        identities,
        default_identities,
        config: Box::new(HostConfig {
            identities_only: field("identitiesonly").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            agent: field("identityagent").map_or(AgentSocket::FromEnv, |v| agent_socket(&v)),
            user_known_hosts: files("userknownhostsfile"),
            global_known_hosts: files("globalknownhostsfile"),
            connect_timeout: p.and_then(|p| p.connect_timeout).filter(|d| !d.is_zero()),
            // 0 turns OpenSSH's keepalive off; gonogo needs one to notice a dead link, so keeps its own.
            keepalive: p
                .and_then(|p| p.server_alive_interval)
                .filter(|d| !d.is_zero()),
            keepalive_max: field("serveralivecountmax").and_then(|v| v.parse().ok()),
        }),
        jump,
    }
}

/// A key ssh2-config keeps unparsed (stored in lower case), as one unquoted string.
fn field(params: &HostParams, key: &str) -> Option<String> {
    let args = params.unsupported_fields.get(key)?;
    Some(args.join(" ").trim_matches('"').to_string())
}

/// A list of files (UserKnownHostsFile); `none` is no file.
fn files(params: &HostParams, key: &str) -> Option<Vec<PathBuf>> {
    let args = params.unsupported_fields.get(key)?;
    Some(
        args.iter()
            .map(|a| a.trim_matches('"'))
            .filter(|a| !a.eq_ignore_ascii_case("none"))
            .map(expand_home)
            .collect(),
    )
}

/// `IdentityAgent`: `none`, `SSH_AUTH_SOCK`, `$VAR` / `${VAR}`, or a socket path.
fn agent_socket(value: &str) -> AgentSocket {
    if value.eq_ignore_ascii_case("none") {
        return AgentSocket::Off;
    }
    if value == "SSH_AUTH_SOCK" {
        return AgentSocket::FromEnv;
    }
    if let Some(var) = value.strip_prefix('$') {
        let var = var.trim_start_matches('{').trim_end_matches('}');
        return match std::env::var_os(var) {
            Some(path) => AgentSocket::At(PathBuf::from(path)),
            None => AgentSocket::Off,
        };
    }
    AgentSocket::At(expand_home(value))
}

/// `user@host:port` as ProxyJump writes a hop.
fn parse_jump(hop: &str) -> TargetAddress {
    let (user, rest) = match hop.split_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, hop),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().ok()),
        _ => (rest.to_string(), None),
    };
    TargetAddress {
        host,
        user,
        port,
        identity: None,
    }
}

pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), home()) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => Path::new(path).to_path_buf(),
    }
}

/// The operator's user name, as OpenSSH would default it.
pub fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> SshConfig {
        SshConfig::default()
            .parse(&mut text.as_bytes(), ParseRule::ALLOW_UNKNOWN_FIELDS)
            .expect("valid config")
    }

    #[test]
    fn an_alias_takes_its_host_user_port_identity_and_jump_from_the_config() {
        let c = config(
            "Host web-1\n  HostName 10.0.0.11\n  User deploy\n  Port 2222\n  IdentityFile /keys/web\n  ProxyJump ops@bastion:2200\n",
        );
        let ep = resolve(
            &TargetAddress {
                host: "web-1".into(),
                ..Default::default()
            },
            None,
            Some(&c),
        );
        assert_eq!(
            (ep.host.as_str(), ep.port, ep.user.as_str()),
            ("10.0.0.11", 2222, "deploy")
        );
        assert_eq!(ep.identities[0], PathBuf::from("/keys/web"));
        let jump = ep.jump.expect("a jump host");
        assert_eq!(
            (jump.host.as_str(), jump.port, jump.user.as_str()),
            ("bastion", 2200, "ops")
        );
    }

    #[test]
    fn the_profile_wins_over_the_config() {
        let c = config("Host web-1\n  User deploy\n  Port 2222\n");
        let address = TargetAddress {
            host: "web-1".into(),
            user: Some("release".into()),
            port: Some(22),
            identity: Some("/keys/release".into()),
        };
        let ep = resolve(&address, Some("/keys/default"), Some(&c));
        assert_eq!((ep.port, ep.user.as_str()), (22, "release"));
        assert_eq!(
            &ep.identities[..2],
            &[
                PathBuf::from("/keys/release"),
                PathBuf::from("/keys/default")
            ]
        );
    }

    #[test]
    fn a_jump_chain_nests_in_order() {
        let c = config("Host inner\n  ProxyJump a,b\n");
        let ep = resolve(
            &TargetAddress {
                host: "inner".into(),
                ..Default::default()
            },
            None,
            Some(&c),
        );
        let b = ep.jump.expect("b");
        assert_eq!(b.host, "b");
        assert_eq!(b.jump.expect("a").host, "a");
    }

    fn config_with_unsupported(text: &str) -> SshConfig {
        let rules = ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS;
        let (text, _) = skip_match_blocks(text);
        SshConfig::default()
            .parse(&mut text.as_bytes(), rules)
            .expect("valid config")
    }

    fn alias(host: &str) -> TargetAddress {
        TargetAddress {
            host: host.into(),
            ..Default::default()
        }
    }

    #[test]
    fn agent_identities_known_hosts_and_timeouts_come_from_the_config() {
        let c = config_with_unsupported(
            "Host web-1\n  IdentityAgent /run/op/agent.sock\n  IdentitiesOnly yes\n  IdentityFile /keys/web.pub\n  UserKnownHostsFile /kh/a /kh/b\n  GlobalKnownHostsFile none\n  ConnectTimeout 7\n  ServerAliveInterval 20\n  ServerAliveCountMax 5\n\nHost off\n  IdentityAgent none\n\nHost *\n  IdentityAgent SSH_AUTH_SOCK\n  ServerAliveInterval 0\n",
        );
        let ep = resolve(&alias("web-1"), None, Some(&c));
        assert_eq!(ep.identities, [PathBuf::from("/keys/web.pub")]);
        assert!(
            ep.default_identities.is_empty(),
            "a named identity replaces the defaults"
        );
        let h = &ep.config;
        assert!(h.identities_only);
        assert_eq!(h.agent, AgentSocket::At("/run/op/agent.sock".into()));
        let files = [PathBuf::from("/kh/a"), PathBuf::from("/kh/b")];
        assert_eq!(h.user_known_hosts.as_deref(), Some(&files[..]));
        assert_eq!(h.global_known_hosts.as_deref(), Some(&[][..]));
        let secs = |n| Some(std::time::Duration::from_secs(n));
        assert_eq!(
            (h.connect_timeout, h.keepalive, h.keepalive_max),
            (secs(7), secs(20), Some(5))
        );

        assert_eq!(
            resolve(&alias("off"), None, Some(&c)).config.agent,
            AgentSocket::Off
        );
        let other = resolve(&alias("db-1"), None, Some(&c));
        assert_eq!(other.config.agent, AgentSocket::FromEnv);
        assert_eq!(
            other.config.keepalive, None,
            "0 keeps gonogo's own keepalive"
        );
        assert!(!other.config.identities_only);
    }

    #[test]
    fn a_match_block_applies_to_nothing_and_is_counted() {
        let text = "Host web-1\n  User deploy\nMatch host web-1\n  User root\n  Port 2200\n";
        let (_, lines) = skip_match_blocks(text);
        assert_eq!(lines, [3]);
        let c = config_with_unsupported(text);
        let ep = resolve(&alias("web-1"), None, Some(&c));
        assert_eq!((ep.user.as_str(), ep.port), ("deploy", 22));
    }

    #[test]
    fn unhonoured_keys_are_those_that_change_how_a_host_is_reached_or_trusted() {
        let c = config_with_unsupported(
            "Host web-1\n  ProxyCommand ssh -W %h:%p b\n  StrictHostKeyChecking no\n  ForwardAgent yes\n  ControlMaster no\n  AddKeysToAgent yes\n  IdentityAgent none\n  UserKnownHostsFile /kh\n  SomethingNew 1\n\nHost *\n  StrictHostKeyChecking yes\n",
        );
        let ep = resolve(&alias("web-1"), None, Some(&c));
        let keys: Vec<String> = unhonoured("web-1", &ep, &c)
            .into_iter()
            .map(|(u, _)| u.key)
            .collect();
        assert_eq!(
            keys,
            [
                "ForwardAgent yes",
                "ProxyCommand ssh -W %h:%p b",
                "SomethingNew 1",
                "StrictHostKeyChecking no"
            ]
        );
        let plain = resolve(&alias("db-1"), None, Some(&c));
        assert!(unhonoured("db-1", &plain, &c).is_empty());
    }
}
