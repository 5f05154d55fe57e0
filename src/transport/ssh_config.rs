//! From a profile target to an SSH endpoint: the profile's values first, then `~/.ssh/config`
//! (Host patterns, Include, HostName, User, Port, IdentityFile, ProxyJump), then defaults.
//! `Match` blocks are not supported by the parser (ssh2-config): they are skipped.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use ssh2_config::{ParseRule, SshConfig};

use super::ssh::Endpoint;

/// What the profile says about one target, already interpolated.
#[derive(Debug, Clone, Default)]
pub struct TargetAddress {
    /// Host name, address or `~/.ssh/config` alias.
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity: Option<String>,
}

/// `~/.ssh/config` (or the profile's `[ssh] config`), if there is one.
pub fn load(path: Option<&str>) -> Result<Option<SshConfig>, String> {
    let path = match path {
        Some(p) => expand_home(p),
        None => match home() {
            Some(h) => h.join(".ssh/config"),
            None => return Ok(None),
        },
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut config = SshConfig::default();
    if let Some(h) = home() {
        config = config.home_dir(h);
    }
    let rules = ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS;
    config
        .parse(&mut BufReader::new(file), rules)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The endpoint for `address`, with `default_identity` from the profile's `[ssh]`.
pub fn resolve(
    address: &TargetAddress,
    default_identity: Option<&str>,
    config: Option<&SshConfig>,
) -> Endpoint {
    resolve_hop(address, default_identity, config, 0)
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
    if let Some(h) = home() {
        identities.extend(
            ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|n| h.join(".ssh").join(n)),
        );
    }
    identities.dedup();
    // ProxyJump a,b: reach b through a, then the target through b.
    let jump = params
        .and_then(|p| p.proxy_jump)
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
        jump,
    }
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
}
