//! Reaching hosts the way operators do: through a jump host from `~/.ssh/config`, with keys
//! held by the ssh-agent, with hosts known by whatever key type OpenSSH recorded.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::gonogo::{Gonogo, known_hosts, release, target, text};
use support::sshd::{SshAgent, Sshd, SshdOptions};

/// Runs headless with `home` as HOME, so nothing of the tester's own ~/.ssh is used.
fn run_at_home(g: &Gonogo, home: &Path) -> Output {
    g.command(&[])
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .expect("run gonogo")
}

#[test]
fn a_host_known_only_by_its_ecdsa_or_rsa_key_is_checked_against_that_key() {
    let sshd = Sshd::start_with(SshdOptions {
        host_key_types: &["ed25519", "ecdsa", "rsa"],
        ..SshdOptions::default()
    });
    let work = tempfile::tempdir().expect("work dir");
    for kind in ["ecdsa", "rsa"] {
        // As OpenSSH leaves it after a first connection that negotiated this key type.
        let kh = work.path().join(format!("known_hosts_{kind}"));
        let line = format!(
            "{} {}\n",
            sshd.host_pattern(),
            sshd.host_public_key_of(kind)
        );
        std::fs::write(&kh, line).expect("known_hosts");
        let body = format!(
            "{}\n[[step]]\ncheck = \"echo known-by-{kind}\"\non = \"web-1\"\n",
            target("web-1", &sshd, &[])
        );
        let out = run_at_home(&Gonogo::new(&release(kind, &kh, &body)), work.path());
        let t = text(&out);
        assert!(!t.contains("HOST KEY CHANGED"), "a false alarm: {t}");
        assert_eq!(out.status.code(), Some(0), "{t}");
        assert!(t.contains(&format!("[web-1] known-by-{kind}")), "{t}");
    }
}

#[test]
fn a_host_behind_a_jump_host_is_reached_through_it() {
    let (jump, inner) = (Sshd::start(), Sshd::start());
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&jump, &inner]);
    let config = work.path().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host bastion\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n\nHost app-inner\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  ProxyJump bastion\n",
            jump.port(),
            jump.user(),
            jump.identity().display(),
            inner.port(),
            inner.user(),
            inner.identity().display()
        ),
    )
    .expect("ssh config");
    let body = "[targets.app]\nhost = \"app-inner\"\n\n[[step]]\nname = \"Where am I\"\ncheck = \"echo via $SSH_CONNECTION\"\non = \"app\"\n";
    let profile = release("jump", &kh, body).replace(
        "[ssh]\n",
        &format!("[ssh]\nconfig = \"{}\"\n", config.display()),
    );
    let out = Gonogo::new(&profile).run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!(" 127.0.0.1 {}", inner.port())),
        "the step ran on the inner host: {t}"
    );
    assert!(
        jump.log().contains("Accepted publickey"),
        "the connection went through the jump host"
    );
}

#[test]
fn keys_in_the_ssh_agent_are_used() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let sock = work.path().join("agent.sock");
    let agent = Command::new("ssh-agent")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::piped())
        .output()
        .expect("ssh-agent");
    assert!(agent.status.success());
    let pid = String::from_utf8_lossy(&agent.stdout)
        .split("SSH_AGENT_PID=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect("agent pid")
        .to_string();
    let added = Command::new("ssh-add")
        .arg(sshd.identity())
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .expect("ssh-add");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    // No identity file anywhere gonogo would look: only the agent can log in.
    let body = format!(
        "[targets.web-1]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\n\n[[step]]\ncheck = \"echo agent-ok\"\non = \"web-1\"\n",
        sshd.port(),
        sshd.user()
    );
    let g = Gonogo::new(&release("agent", &kh, &body));
    let out = g
        .command(&[])
        .env("SSH_AUTH_SOCK", &sock)
        .env("HOME", work.path())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let _ = Command::new("kill").arg(&pid).status();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("[web-1] agent-ok"), "{t}");
}

#[test]
fn a_host_that_accepts_and_never_answers_times_out_naming_it() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = silent.local_addr().expect("addr").port();
    let work = tempfile::tempdir().expect("work dir");
    let body = format!(
        "[targets.web-1]\nhost = \"127.0.0.1\"\nport = {port}\n\n[[step]]\ncheck = \"true\"\non = \"web-1\"\n"
    );
    let profile = release("silent", &work.path().join("kh"), &body)
        .replace("[ssh]\n", "[ssh]\nconnect_timeout = \"1s\"\n");
    let started = std::time::Instant::now();
    let out = run_at_home(&Gonogo::new(&profile), work.path());
    let t = text(&out);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "hung: {t}"
    );
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!("127.0.0.1:{port}: no answer after 1s")),
        "{t}"
    );
    drop(silent);
}

#[test]
fn a_host_that_stalls_after_the_key_exchange_times_out_naming_it() {
    // A real sshd whose key lookup never returns: the handshake completes, authentication hangs.
    let stall = format!(
        "Match all\n  AuthorizedKeysFile none\n  AuthorizedKeysCommand /bin/sleep 600\n  AuthorizedKeysCommandUser {}\n",
        support::sshd::current_user()
    );
    let sshd = Sshd::start_with(SshdOptions {
        extra_config: &stall,
        ..SshdOptions::default()
    });
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[[step]]\ncheck = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let profile =
        release("stall", &kh, &body).replace("[ssh]\n", "[ssh]\nconnect_timeout = \"1s\"\n");
    let started = std::time::Instant::now();
    let out = run_at_home(&Gonogo::new(&profile), work.path());
    let t = text(&out);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "hung: {t}"
    );
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!("127.0.0.1:{}: no answer", sshd.port())),
        "{t}"
    );
}

/// A fixture that hangs up after `tries` failed keys, as servers with a low MaxAuthTries do.
fn strict_sshd(tries: u32) -> Sshd {
    Sshd::start_with(SshdOptions {
        extra_config: &format!("MaxAuthTries {tries}\n"),
        ..SshdOptions::default()
    })
}

#[test]
fn the_profile_identity_is_offered_before_the_agents_other_keys() {
    let sshd = strict_sshd(3);
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let agent = SshAgent::start(work.path());
    agent.add_wrong_keys(work.path(), 4);
    let body = format!(
        "{}\n[[step]]\ncheck = \"echo identity-first\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let out = Gonogo::new(&release("identity-first", &kh, &body))
        .command(&[])
        .env("SSH_AUTH_SOCK", agent.socket())
        .env("HOME", work.path())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\nsshd:\n{}", sshd.log());
    assert!(t.contains("[web-1] identity-first"), "{t}");
}

#[test]
fn when_the_server_stops_the_attempts_the_error_lists_the_keys_tried() {
    let sshd = strict_sshd(2);
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let agent = SshAgent::start(work.path());
    agent.add_wrong_keys(work.path(), 3);
    let body = format!(
        "[targets.web-1]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\n\n[[step]]\ncheck = \"true\"\non = \"web-1\"\n",
        sshd.port(),
        sshd.user()
    );
    let out = Gonogo::new(&release("max-auth", &kh, &body))
        .command(&[])
        .env("SSH_AUTH_SOCK", agent.socket())
        .env("HOME", work.path())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!(
            "127.0.0.1:{}: the server closed the connection",
            sshd.port()
        )) && t.contains("MaxAuthTries"),
        "{t}"
    );
    assert!(
        t.contains("agent key wrong-1") && t.contains("agent key wrong-2"),
        "lists what was tried: {t}"
    );
    assert!(t.contains("`identity`"), "says what to do: {t}");
}

#[test]
fn a_missing_identity_file_is_named_in_the_error() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let missing = work.path().join("keys/deploy_ed25519");
    let body = format!(
        "[targets.web-1]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nidentity = \"{}\"\n\n[[step]]\ncheck = \"true\"\non = \"web-1\"\n",
        sshd.port(),
        sshd.user(),
        missing.display()
    );
    let out = run_at_home(
        &Gonogo::new(&release("missing-id", &kh, &body)),
        work.path(),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!("identity {}: no such file", missing.display())),
        "{t}"
    );
}

#[test]
fn a_connection_that_freezes_before_a_command_starts_is_dropped_and_the_link_reconnects() {
    use gonogo::transport::Link;
    use gonogo::transport::ssh::{Endpoint, ExecEnd, SshOptions};
    use std::sync::Arc;
    use std::time::Duration;

    let sshd = Sshd::start();
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: sshd.port(),
        user: sshd.user().into(),
        identities: vec![sshd.identity().to_path_buf()],
        ..Endpoint::default()
    };
    let opts = Arc::new(SshOptions {
        known_hosts: vec![sshd.known_hosts().to_path_buf()],
        connect_timeout: Some(Duration::from_secs(1)),
        ..SshOptions::default()
    });
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (events, _keep) = tokio::sync::mpsc::channel(16);
        let link = Link::ssh("web-1", ep, opts, Duration::from_secs(10), events);
        link.connect().await.expect("connects");
        async fn run(link: &Link) -> Result<Result<ExecEnd, String>, tokio::time::error::Elapsed> {
            let (tx, _rx) = tokio::sync::mpsc::channel(16);
            let ran = tokio::time::timeout(Duration::from_secs(30), link.exec("true", tx)).await;
            ran.map(|end| end.map_err(|e| e.to_string()))
        }
        assert_eq!(run(&link).await.expect("answers"), Ok(ExecEnd::Exited(0)));
        // The process serving this connection freezes (as a host under memory pressure does).
        let frozen = sshd.session_pids();
        assert!(!frozen.is_empty());
        let stopped = Command::new("kill")
            .arg("-STOP")
            .args(frozen.iter().map(u32::to_string))
            .status()
            .expect("kill -STOP");
        assert!(stopped.success());
        let ended = run(&link).await.expect("did not hang");
        assert_eq!(
            ended,
            Ok(ExecEnd::Lost),
            "a frozen connection counts as lost"
        );
        link.reconnect().await.expect("a new connection");
        assert_eq!(
            run(&link).await.expect("answers"),
            Ok(ExecEnd::Exited(0)),
            "the link works again on its new connection"
        );
    });
}
