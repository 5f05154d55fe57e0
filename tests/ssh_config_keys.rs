//! The `~/.ssh/config` keys real setups rely on are honoured, and the ones gonogo does not honour
//! are named at start instead of silently ignored.

mod support;

use std::path::Path;
use std::process::{Output, Stdio};

use support::gonogo::{Gonogo, known_hosts, release, text};
use support::sshd::{SshAgent, Sshd, SshdOptions};

/// A profile whose targets are the aliases `hosts` of the ssh config `config` (its
/// `[ssh] known_hosts` is `known_hosts`), each with one check.
fn profile(name: &str, known_hosts: &Path, config: &Path, hosts: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (target, alias) in hosts {
        body.push_str(&format!(
            "[targets.{target}]\nhost = \"{alias}\"\n\n[[step]]\ncheck = \"echo reached-{target}\"\non = \"{target}\"\n\n"
        ));
    }
    release(name, known_hosts, &body).replace(
        "[ssh]\n",
        &format!("[ssh]\nconfig = \"{}\"\n", config.display()),
    )
}

/// `Host app` for the fixture, with `extra` lines.
fn host_block(sshd: &Sshd, extra: &str) -> String {
    format!(
        "Host app\n  HostName 127.0.0.1\n  Port {}\n  User {}\n{extra}",
        sshd.port(),
        sshd.user()
    )
}

/// Headless, HOME in `home` (so no ~/.ssh of the tester counts), SSH_AUTH_SOCK as given.
fn run(g: &Gonogo, home: &Path, auth_sock: Option<&Path>) -> Output {
    let mut command = g.command(&[]);
    command.env("HOME", home).stdin(Stdio::null());
    if let Some(sock) = auth_sock {
        command.env("SSH_AUTH_SOCK", sock);
    }
    command.output().expect("run gonogo")
}

#[test]
fn identity_agent_names_the_agent_when_ssh_auth_sock_is_not_set() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    // As a 1Password or Secretive agent: reached only through the config.
    let agent = SshAgent::start(work.path());
    agent.add(sshd.identity());
    let config = work.path().join("ssh_config");
    let extra = format!("  IdentityAgent {}\n", agent.socket().display());
    std::fs::write(&config, host_block(&sshd, &extra)).expect("config");
    let g = Gonogo::new(&profile("agent", &kh, &config, &[("web-1", "app")]));
    let out = run(&g, work.path(), None);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("[web-1] reached-web-1"), "{t}");
}

#[test]
fn identity_file_naming_a_public_key_offers_only_that_agent_key() {
    // Two failed keys and the server hangs up: only the named key may be offered.
    let sshd = Sshd::start_with(SshdOptions {
        extra_config: "MaxAuthTries 2\n",
        ..SshdOptions::default()
    });
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let agent = SshAgent::start(work.path());
    agent.add_wrong_keys(work.path(), 3);
    agent.add(sshd.identity());
    // The private half is only in the agent, as with a hardware or password-manager key.
    let public = work.path().join("deploy.pub");
    let line = std::fs::read_to_string(sshd.identity().with_extension("pub")).expect("pub");
    std::fs::write(&public, line).expect("deploy.pub");
    let config = work.path().join("ssh_config");
    let extra = format!(
        "  IdentityFile {}\n  IdentitiesOnly yes\n",
        public.display()
    );
    std::fs::write(&config, host_block(&sshd, &extra)).expect("config");
    let g = Gonogo::new(&profile("pub", &kh, &config, &[("web-1", "app")]));
    let out = run(&g, work.path(), Some(agent.socket()));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\nsshd:\n{}", sshd.log());
    assert!(t.contains("[web-1] reached-web-1"), "{t}");
}

#[test]
fn user_known_hosts_file_from_the_config_vouches_for_the_host() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let config = work.path().join("ssh_config");
    let extra = format!(
        "  IdentityFile {}\n  UserKnownHostsFile {}\n",
        sshd.identity().display(),
        sshd.known_hosts().display()
    );
    std::fs::write(&config, host_block(&sshd, &extra)).expect("config");
    // The profile's own known_hosts does not exist: only the config's file knows the host.
    let none = work.path().join("no_known_hosts");
    let g = Gonogo::new(&profile("ukh", &none, &config, &[("web-1", "app")]));
    let out = run(&g, work.path(), None);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("[web-1] reached-web-1"), "{t}");
}

#[test]
fn config_keys_gonogo_does_not_honour_are_named_once_at_start() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let config = work.path().join("ssh_config");
    let extra = format!(
        "  IdentityFile {}\n  ControlMaster auto\n  ForwardAgent yes\n  StrictHostKeyChecking no\n  ForwardX11 no\n  AddKeysToAgent yes\n\nMatch host 127.0.0.1\n  User nobody\n",
        sshd.identity().display()
    );
    std::fs::write(&config, host_block(&sshd, &extra)).expect("config");
    let g = Gonogo::new(&profile(
        "unhonoured",
        &kh,
        &config,
        &[("web-1", "app"), ("web-2", "app")],
    ));
    let out = run(&g, work.path(), None);
    let t = text(&out);
    // The Match block's `User nobody` did not leak into Host app.
    assert_eq!(out.status.code(), Some(0), "{t}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in [
        "`ControlMaster auto`",
        "`ForwardAgent yes`",
        "`StrictHostKeyChecking no`",
    ] {
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(key)).collect();
        assert_eq!(lines.len(), 1, "{key} named once: {t}");
        assert!(
            lines[0].starts_with("gonogo: warning: ") && lines[0].contains("web-1, web-2"),
            "names the targets: {t}"
        );
    }
    assert!(
        stderr.contains(&format!("{}:12: `Match`", config.display())),
        "names the Match block: {t}"
    );
    // What gonogo does anyway, or what changes nothing, is not noise.
    assert!(
        !stderr.contains("ForwardX11") && !stderr.contains("AddKeysToAgent"),
        "{t}"
    );
}
