//! The OpenSSH client command line that reaches a target the way gonogo does: same address,
//! user, identities, known_hosts files and jump hosts, host keys checked strictly. The cockpit's
//! `s` hands the terminal to it for an interactive shell on a target.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::ssh::{AgentSocket, Endpoint, SshOptions};
use crate::shell::shell_word;

/// `ssh` arguments for an interactive shell on `ep` (the program name not included).
pub fn shell_args(ep: &Endpoint, opts: &SshOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-t".into()];
    args.extend(hop_options(ep, opts));
    if let Some(jump) = ep.jump.as_deref() {
        // Each hop with its own identities and known_hosts: `-J` would not pass them on. ssh
        // runs the proxy command with the shell: its words are shell-quoted.
        let mut proxy = vec!["ssh".to_string()];
        proxy.extend(
            hop_options(jump, opts)
                .iter()
                .map(|a| shell_word(&a.to_string_lossy())),
        );
        proxy.extend([
            "-W".into(),
            "%h:%p".into(),
            "--".into(),
            shell_word(&jump.host),
        ]);
        args.push("-o".into());
        args.push(format!("ProxyCommand={}", proxy.join(" ")).into());
    }
    // A host name that starts with `-` is a host name, not an option.
    args.push("--".into());
    args.push(ep.host.clone().into());
    args
}

/// The options for one hop: port, user, identities, agent, known_hosts, strict checking.
fn hop_options(ep: &Endpoint, opts: &SshOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut option = |text: String| {
        args.push("-o".into());
        args.push(text.into());
    };
    option(format!("Port={}", ep.port));
    option(format!("User={}", ep.user));
    // gonogo checked (or, with --accept-new-host-keys, recorded) the key: nothing new here.
    option("StrictHostKeyChecking=yes".into());
    option(format!(
        "UserKnownHostsFile={}",
        files(&opts.known_hosts_for(ep))
    ));
    if let Some(global) = &ep.config.global_known_hosts {
        option(format!("GlobalKnownHostsFile={}", files(global)));
    }
    let identities: Vec<&PathBuf> = ep.identities.iter().chain(&ep.default_identities).collect();
    for id in &identities {
        option(format!("IdentityFile={}", quoted(&id.to_string_lossy())));
    }
    if ep.config.identities_only || !ep.identities.is_empty() {
        option("IdentitiesOnly=yes".into());
    }
    match &ep.config.agent {
        AgentSocket::FromEnv => {}
        AgentSocket::At(path) => {
            option(format!("IdentityAgent={}", quoted(&path.to_string_lossy())))
        }
        AgentSocket::Off => option("IdentityAgent=none".into()),
    }
    args
}

/// Files as one option value: each quoted, separated by spaces (as ssh_config reads them).
fn files(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p: &PathBuf| quoted(&Path::new(p).to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value ssh's option parser reads back whole, spaces included.
fn quoted(text: &str) -> String {
    if text.is_empty() || text.contains([' ', '"', '\'', '\\', '%']) {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(host: &str, identity: &str) -> Endpoint {
        Endpoint {
            host: host.into(),
            port: 2222,
            user: "deploy".into(),
            identities: vec![PathBuf::from(identity)],
            default_identities: Vec::new(),
            config: Box::default(),
            jump: None,
        }
    }

    fn opts() -> SshOptions {
        SshOptions {
            known_hosts: vec![PathBuf::from("/work/my known_hosts")],
            accept_new: false,
            keepalive: None,
            connect_timeout: None,
            unlocked: Default::default(),
        }
    }

    fn text(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_shell_reaches_the_target_as_gonogo_does() {
        let args = text(&shell_args(&endpoint("10.0.0.5", "/keys/deploy"), &opts()));
        assert_eq!(args.first().map(String::as_str), Some("-t"));
        assert_eq!(args.last().map(String::as_str), Some("10.0.0.5"));
        assert_eq!(
            args[args.len() - 2],
            "--",
            "the host is never read as an option"
        );
        for expected in [
            "Port=2222",
            "User=deploy",
            "StrictHostKeyChecking=yes",
            "IdentityFile=/keys/deploy",
            "IdentitiesOnly=yes",
        ] {
            assert!(args.iter().any(|a| a == expected), "{expected} in {args:?}");
        }
        let known = args
            .iter()
            .find(|a| a.starts_with("UserKnownHostsFile="))
            .expect("known hosts");
        assert!(
            known.starts_with("UserKnownHostsFile=\"/work/my known_hosts\""),
            "{known}"
        );
    }

    #[test]
    fn a_jump_host_is_reached_with_its_own_identity_and_known_hosts() {
        let mut ep = endpoint("10.0.0.5", "/keys/deploy");
        ep.jump = Some(Box::new(endpoint("bastion.example.com", "/keys/bastion")));
        let args = text(&shell_args(&ep, &opts()));
        let proxy = args
            .iter()
            .find(|a| a.starts_with("ProxyCommand="))
            .expect("a proxy command");
        assert!(proxy.contains("IdentityFile=/keys/bastion"), "{proxy}");
        assert!(proxy.contains("StrictHostKeyChecking=yes"), "{proxy}");
        assert!(
            proxy.ends_with("-W %h:%p -- bastion.example.com"),
            "{proxy}"
        );
    }
}
