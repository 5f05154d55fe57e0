//! Proves the OpenSSH fixture in `tests/support/sshd.rs` is real: the system
//! `ssh` client logs in with the fixture's key, checks the fixture's
//! `known_hosts`, gets output and exit statuses back, and sees its connection
//! drop when the fixture kills the session. Tests of gonogo's SSH steps rely
//! on each of these.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::sshd::{self, Sshd, SshdOptions};

/// Runs the command and returns its output, panicking only if ssh itself
/// could not be started.
fn output(mut command: std::process::Command) -> Output {
    command.output().expect("run the OpenSSH client `ssh`")
}

/// Everything worth seeing when an ssh run goes wrong.
fn explain(sshd: &Sshd, output: &Output) -> String {
    format!(
        "status: {}\nstdout: {}\nstderr: {}\nsshd log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        sshd.log()
    )
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll ssh") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ssh still running {limit:?} after its session was killed");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn openssh_client_runs_a_command_through_the_fixture() {
    let sshd = Sshd::start();
    let out = output(sshd.ssh_command("echo hello-gonogo"));
    assert!(out.status.success(), "{}", explain(&sshd, &out));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello-gonogo\n");
}

#[test]
fn remote_exit_status_and_stderr_come_back() {
    let sshd = Sshd::start();
    let out = output(sshd.ssh_command("echo to-stderr >&2; exit 7"));
    assert_eq!(out.status.code(), Some(7), "{}", explain(&sshd, &out));
    assert!(out.stdout.is_empty(), "{}", explain(&sshd, &out));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to-stderr\n");
}

#[test]
fn fixture_layout_is_as_documented() {
    let sshd = Sshd::start();
    assert_eq!(sshd.host(), "127.0.0.1");
    assert!(!sshd.user().is_empty());
    assert!(sshd.identity().starts_with(sshd.dir()));
    assert!(sshd.known_hosts().starts_with(sshd.dir()));
    assert!(sshd.host_public_key().starts_with("ssh-ed25519 "));
    assert_eq!(sshd.host_pattern(), format!("[127.0.0.1]:{}", sshd.port()));

    let known_hosts = std::fs::read_to_string(sshd.known_hosts()).expect("read known_hosts");
    assert_eq!(
        known_hosts,
        format!("{} {}\n", sshd.host_pattern(), sshd.host_public_key())
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(sshd.identity())
        .expect("stat the client key")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "ssh refuses private keys others can read"
    );

    // pid() is the listener, and it is alive.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", sshd.pid()))
        .expect("the listening sshd is running");
    assert!(
        stat.contains("(sshd)"),
        "pid {} is not sshd: {stat}",
        sshd.pid()
    );
}

#[test]
fn two_fixtures_run_at_once_on_their_own_ports() {
    let first = Sshd::start();
    let second = Sshd::start();
    assert_ne!(first.port(), second.port());
    assert_ne!(first.pid(), second.pid());
    assert_ne!(first.dir(), second.dir());

    // Both clients in flight together; each reports the server port it
    // reached, which must be its own fixture's.
    let spawn = |sshd: &Sshd| {
        let mut command = sshd.ssh_command("echo $SSH_CONNECTION");
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command.spawn().expect("run the OpenSSH client `ssh`")
    };
    let first_child = spawn(&first);
    let second_child = spawn(&second);
    for (sshd, child) in [(&first, first_child), (&second, second_child)] {
        let out = child.wait_with_output().expect("wait for ssh");
        assert!(out.status.success(), "{}", explain(sshd, &out));
        // SSH_CONNECTION is "client-ip client-port server-ip server-port".
        let connection = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<&str> = connection.split_whitespace().collect();
        assert_eq!(
            fields.get(2..4),
            Some(&["127.0.0.1", sshd.port().to_string().as_str()][..]),
            "unexpected SSH_CONNECTION {connection:?}"
        );
    }
}

#[test]
fn wrong_host_key_in_known_hosts_is_refused() {
    let sshd = Sshd::start();
    // Control: the fixture's own known_hosts is accepted.
    let out = output(sshd.ssh_command("echo hello-gonogo"));
    assert!(out.status.success(), "{}", explain(&sshd, &out));

    // Same file, same host pattern, but another server's key.
    let impostor = sshd::keygen(&sshd.dir().join("impostor_host_key"), "impostor");
    assert_ne!(impostor, sshd.host_public_key());
    std::fs::write(
        sshd.known_hosts(),
        format!("{} {impostor}\n", sshd.host_pattern()),
    )
    .expect("rewrite known_hosts");

    let out = output(sshd.ssh_command("echo hello-gonogo"));
    assert!(!out.status.success(), "{}", explain(&sshd, &out));
    assert_eq!(out.status.code(), Some(255), "{}", explain(&sshd, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Host key verification failed"),
        "{}",
        explain(&sshd, &out)
    );
    assert!(out.stdout.is_empty(), "the command must not have run");
}

#[test]
fn kill_sessions_drops_the_connection_and_keeps_listening() {
    let sshd = Sshd::start();
    assert!(
        sshd.session_pids().is_empty(),
        "a fresh fixture has no sessions"
    );

    let mut command = sshd.ssh_command("echo started; exec sleep 60");
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("run the OpenSSH client `ssh`");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("ssh stdout is piped"))
        .read_line(&mut line)
        .expect("read the remote command's first line");
    assert_eq!(line, "started\n", "sshd log:\n{}", sshd.log());
    assert_eq!(sshd.session_pids().len(), 1);

    assert_eq!(sshd.kill_sessions(), 1);
    let status = wait_with_deadline(&mut child, Duration::from_secs(10));
    // 255 is ssh's own failure, not the remote command's status.
    assert_eq!(status.code(), Some(255), "sshd log:\n{}", sshd.log());
    assert!(sshd.session_pids().is_empty());

    // The listener survived and takes new connections.
    let out = output(sshd.ssh_command("echo hello-again"));
    assert!(out.status.success(), "{}", explain(&sshd, &out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello-again\n");
}

#[test]
fn options_add_host_key_types_and_config_lines() {
    let sshd = Sshd::start_with(SshdOptions {
        host_key_types: &["ed25519", "ecdsa"],
        extra_config: "ForceCommand echo forced-by-extra-config",
    });
    assert!(sshd.host_public_key().starts_with("ssh-ed25519 "));
    let ecdsa = sshd.host_public_key_of("ecdsa");
    assert!(ecdsa.starts_with("ecdsa-sha2-nistp256 "), "{ecdsa}");
    let known_hosts = std::fs::read_to_string(sshd.known_hosts()).expect("read known_hosts");
    assert_eq!(
        known_hosts,
        format!(
            "{0} {1}\n{0} {ecdsa}\n",
            sshd.host_pattern(),
            sshd.host_public_key()
        )
    );

    // The server really offers the ECDSA key: OpenSSH, knowing only that one, asks for it first
    // and gets in; and the appended config line took effect.
    std::fs::write(
        sshd.known_hosts(),
        format!("{} {ecdsa}\n", sshd.host_pattern()),
    )
    .expect("rewrite known_hosts");
    let out = output(sshd.ssh_command("echo not-forced"));
    assert!(out.status.success(), "{}", explain(&sshd, &out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "forced-by-extra-config\n"
    );
}

#[test]
fn openssh_version_parses_sshd_banners() {
    assert_eq!(
        sshd::openssh_version("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15"),
        Some((9, 2))
    );
    assert_eq!(
        sshd::openssh_version("OpenSSH_10.0p2, OpenSSL"),
        Some((10, 0))
    );
    assert_eq!(sshd::openssh_version("OpenSSH_9.8"), Some((9, 8)));
    assert_eq!(sshd::openssh_version("unknown option -- V"), None);
}
