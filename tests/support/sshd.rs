//! A real OpenSSH server for integration tests.
//!
//! gonogo runs release steps on hosts over SSH (russh), so the tests that
//! matter talk to a real `sshd` rather than a mock: key checking, exit
//! statuses and dropped connections then behave as they do in production.
//!
//! [`Sshd::start`] runs Debian's `/usr/sbin/sshd` in the foreground on
//! 127.0.0.1 and a free port, with its own host key, client key,
//! `authorized_keys`, `known_hosts` and config in a fresh temporary directory.
//! Every fixture is self-contained, so tests running in parallel each get
//! their own server. Dropping the fixture stops the server and its sessions
//! and removes the directory.
//!
//! sshd's stderr (`-e`, `LogLevel VERBOSE`) goes to `sshd.log` in that
//! directory; [`Sshd::log`] reads it, so failing tests can show why the server
//! turned a client away.
//!
//! [`Sshd::start_with`] takes [`SshdOptions`]: more host key types, and lines
//! appended to the server's config (`MaxAuthTries 2`, a `ForceCommand`...).

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Debian's OpenSSH server (package `openssh-server`). sshd insists on being
/// started by absolute path so that it can re-execute itself per connection.
pub const SSHD_PATH: &str = "/usr/sbin/sshd";

/// sshd running as root refuses to start without its privilege separation
/// directory. Debian creates it at boot, which containers skip.
const PRIVSEP_DIR: &str = "/run/sshd";

const HOST: &str = "127.0.0.1";

/// Attempts at finding a port: another process can take the one picked
/// between probing it and sshd binding it.
const START_ATTEMPTS: usize = 5;

/// How long one sshd start may take before it counts as hung.
const READY_DEADLINE: Duration = Duration::from_secs(10);

/// How long killed processes get to disappear.
const KILL_DEADLINE: Duration = Duration::from_secs(5);

/// How a fixture differs from the default one ([`Sshd::start`]).
#[derive(Debug, Clone, Copy)]
pub struct SshdOptions<'a> {
    /// Host key types as `ssh-keygen -t` names them (`ed25519`, `ecdsa`,
    /// `rsa`), one `HostKey` each, in this order. The first is
    /// [`Sshd::host_public_key`]. Default: `["ed25519"]`.
    pub host_key_types: &'a [&'a str],
    /// Lines appended to `sshd_config`. sshd keeps the first value it reads
    /// for an option, so only options the fixture does not set itself take
    /// effect; `Match` blocks go here too. Default: none.
    pub extra_config: &'a str,
}

impl Default for SshdOptions<'_> {
    fn default() -> Self {
        SshdOptions {
            host_key_types: &["ed25519"],
            extra_config: "",
        }
    }
}

/// A running OpenSSH server on 127.0.0.1, stopped on drop.
pub struct Sshd {
    /// The listening sshd (`-D`, so it never forks away from us).
    child: Child,
    port: u16,
    user: String,
    identity: PathBuf,
    known_hosts: PathBuf,
    /// `(type, .pub line)` of every host key, in the order of the options.
    host_public_keys: Vec<(String, String)>,
    log: PathBuf,
    /// Holds every file above; removed after the server has stopped, because
    /// `Drop for Sshd` runs before the fields are dropped.
    dir: TempDir,
}

impl Sshd {
    /// Starts a server and waits until it answers with an SSH banner.
    ///
    /// Panics with sshd's own output if it cannot start: a test without its
    /// server has nothing to check.
    pub fn start() -> Sshd {
        Sshd::start_with(SshdOptions::default())
    }

    /// Starts a server with more host keys or config lines than the default
    /// one; see [`SshdOptions`].
    pub fn start_with(options: SshdOptions<'_>) -> Sshd {
        assert!(
            !options.host_key_types.is_empty(),
            "a server needs at least one host key type"
        );
        assert!(
            Path::new(SSHD_PATH).exists(),
            "{SSHD_PATH} is missing: install the openssh-server package (scripts/test does so when run as root)"
        );
        ensure_privsep_dir();

        let dir = tempfile::Builder::new()
            .prefix("gonogo-sshd-")
            .tempdir()
            .expect("create a temporary directory for sshd");
        let root = dir.path().to_path_buf();
        // sshd_config and ssh -o values split on whitespace; refuse early
        // rather than fail later with a baffling config error.
        let root_str = root.to_str().expect("temporary directory path is UTF-8");
        assert!(
            !root_str.contains(|c: char| c.is_whitespace() || c == '"' || c == '%'),
            "temporary directory {root_str:?} contains whitespace, '\"' or '%', which sshd_config cannot take; set TMPDIR elsewhere"
        );

        let host_keys: Vec<PathBuf> = options
            .host_key_types
            .iter()
            .map(|kind| root.join(format!("ssh_host_{kind}_key")))
            .collect();
        let host_public_keys: Vec<(String, String)> = options
            .host_key_types
            .iter()
            .zip(&host_keys)
            .map(|(kind, path)| {
                let line = keygen_typed(path, kind, "gonogo-test-host");
                (kind.to_string(), line)
            })
            .collect();
        let identity = root.join("id_ed25519");
        let client_public_key = keygen(&identity, "gonogo-test-client");
        let authorized_keys = root.join("authorized_keys");
        fs::write(&authorized_keys, format!("{client_public_key}\n"))
            .expect("write authorized_keys");

        let user = current_user();
        let config = root.join("sshd_config");
        let known_hosts = root.join("known_hosts");
        let log = root.join("sshd.log");

        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let mut text = sshd_config(port, &root, &host_keys, &authorized_keys);
            if !options.extra_config.is_empty() {
                text.push_str("# SshdOptions::extra_config\n");
                text.push_str(options.extra_config);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
            }
            fs::write(&config, text).expect("write sshd_config");
            let lines: String = host_public_keys
                .iter()
                .map(|(_, line)| format!("{} {line}\n", host_pattern(port)))
                .collect();
            fs::write(&known_hosts, lines).expect("write known_hosts");
            // Truncated per attempt, so a failure shows only its own output.
            let log_file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&log)
                .expect("create sshd.log");

            let mut child = Command::new(SSHD_PATH)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|err| panic!("spawn {SSHD_PATH}: {err}"));

            match wait_ready(&mut child, port, &log) {
                Ok(()) => {
                    return Sshd {
                        child,
                        port,
                        user,
                        identity,
                        known_hosts,
                        host_public_keys,
                        log,
                        dir,
                    };
                }
                Err(PortTaken(output)) => last_log = output,
            }
        }
        panic!(
            "sshd found no free port in {START_ATTEMPTS} attempts; its last output:\n{last_log}"
        );
    }

    /// The address sshd listens on: always `127.0.0.1`.
    pub fn host(&self) -> &str {
        HOST
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The account to log in as: whoever runs the tests.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The client's private key, accepted by this server only.
    pub fn identity(&self) -> &Path {
        &self.identity
    }

    /// A `known_hosts` file holding exactly this server's host keys (one line
    /// each, in the order of [`SshdOptions::host_key_types`]), under
    /// [`Sshd::host_pattern`]. Tests may rewrite it.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The first host key's `.pub` line: `ssh-ed25519 AAAA… gonogo-test-host`
    /// for a default fixture.
    pub fn host_public_key(&self) -> String {
        self.host_public_keys[0].1.clone()
    }

    /// The `.pub` line of the host key of type `kind` (`"ecdsa"`, `"rsa"`...).
    /// Panics if the fixture was not started with that type.
    pub fn host_public_key_of(&self, kind: &str) -> String {
        self.host_public_keys
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, line)| line.clone())
            .unwrap_or_else(|| panic!("this fixture has no {kind} host key"))
    }

    /// How `known_hosts` names this server: `[127.0.0.1]:PORT`.
    pub fn host_pattern(&self) -> String {
        host_pattern(self.port)
    }

    /// The fixture's temporary directory, for tests that want files of their
    /// own next to the server's; it is removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Process id of the listening sshd.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where sshd's stderr goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything sshd has logged so far: put it in assertion messages, it
    /// says why a login was refused.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_else(|err| format!("(cannot read sshd.log: {err})"))
    }

    /// An OpenSSH client command that runs `remote` on this server, ignoring
    /// every user and system ssh setting so that only this fixture's key,
    /// `known_hosts` and port are used, and never prompting.
    ///
    /// stdin is null (set another with `.stdin(...)`), so ssh cannot swallow
    /// or wait on the test harness's input.
    pub fn ssh_command(&self, remote: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .arg("-F")
            .arg("/dev/null")
            .arg("-i")
            .arg(&self.identity)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-o", "IdentitiesOnly=yes"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            // Only the fixture's known_hosts may vouch for the server.
            .args(["-o", "GlobalKnownHostsFile=/dev/null"])
            .args(["-o", "StrictHostKeyChecking=yes"])
            .args(["-o", "BatchMode=yes"])
            .args(["-o", "LogLevel=ERROR"])
            .arg(format!("{}@{HOST}", self.user))
            .arg(remote)
            .stdin(Stdio::null())
            .env_remove("SSH_AUTH_SOCK");
        command
    }

    /// Process ids of sshd's per-connection processes: the listener's live
    /// children, one per open connection.
    pub fn session_pids(&self) -> Vec<u32> {
        children_of(self.pid())
    }

    /// Kills (SIGKILL) every `sh -s` running under the connections being served:
    /// gonogo's long-lived shells and the scripts they run, not the steps those
    /// started in sessions of their own. Returns how many were killed.
    pub fn kill_shells(&self) -> usize {
        let mut under = self.session_pids();
        let mut shells = Vec::new();
        while let Some(pid) = under.pop() {
            under.extend(children_of(pid));
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline == b"sh\0-s\0" {
                shells.push(pid);
            }
        }
        for pid in &shells {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        shells.len()
    }

    /// Kills every connection being served, as if the network had dropped,
    /// and leaves the listener running for new ones. Returns how many
    /// connections were cut.
    ///
    /// The whole tree under each connection goes with SIGKILL, sshd processes
    /// before the commands they run, so the client sees its connection closed
    /// rather than a command killed, and no remote command outlives the test.
    /// Returns once they are all gone.
    pub fn kill_sessions(&self) -> usize {
        let (connections, remaining) = self.kill_sessions_inner();
        assert!(
            remaining.is_empty(),
            "sshd session processes {remaining:?} still alive {KILL_DEADLINE:?} after SIGKILL"
        );
        connections
    }

    /// Kills only the sshd processes serving connections (SIGKILL), as when the
    /// process serving a client dies or the network drops: the commands they
    /// started are not killed by the test, and what a command detached from
    /// its session (gonogo's steps) keeps running. Returns how many sshd
    /// processes were killed, once they are gone.
    pub fn drop_connections(&self) -> usize {
        let sshd: Vec<u32> = descendants(self.pid())
            .into_iter()
            .map(|(pid, _)| pid)
            .filter(|&pid| {
                fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim().starts_with("sshd"))
            })
            .collect();
        if sshd.is_empty() {
            return 0;
        }
        kill_and_wait(&sshd);
        sshd.len()
    }

    /// Kills the session trees; returns the number of connections and any
    /// process that outlived [`KILL_DEADLINE`].
    fn kill_sessions_inner(&self) -> (usize, Vec<u32>) {
        let listener = self.pid();
        // Collected before killing anything: a killed parent's children are
        // re-parented and could no longer be traced back to the listener.
        let tree = descendants(listener);
        let connections = tree.iter().filter(|&&(_, depth)| depth == 1).count();
        if tree.is_empty() {
            return (0, Vec::new());
        }
        // Breadth-first order: sshd's own processes sit nearest the listener.
        let pids: Vec<u32> = tree.iter().map(|&(pid, _)| pid).collect();
        (connections, kill_and_wait(&pids))
    }
}

/// SIGKILLs `pids` (in order) and waits until they are gone or [`KILL_DEADLINE`] passes;
/// returns those still alive. The shell's built-in kill, so procps need not be installed;
/// some processes may exit on their own meanwhile, so its status is moot.
fn kill_and_wait(pids: &[u32]) -> Vec<u32> {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(r#"kill -KILL "$@" 2>/dev/null"#)
        .arg("sh")
        .args(pids.iter().map(u32::to_string))
        .status();
    let deadline = Instant::now() + KILL_DEADLINE;
    loop {
        let remaining: Vec<u32> = pids.iter().copied().filter(|&pid| is_alive(pid)).collect();
        if remaining.is_empty() || Instant::now() >= deadline {
            return remaining;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Sessions first: once the listener is gone they are orphans and can
        // no longer be found. No panics here, a test may already be failing.
        let _ = self.kill_sessions_inner();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// sshd lost the race for its port; the payload is its output.
struct PortTaken(String);

/// Polls until the sshd in `child` reports listening on `port` and answers
/// there with an SSH banner. Panics with its output if it dies for any reason
/// but a taken port, or hangs.
fn wait_ready(child: &mut Child, port: u16, log: &Path) -> Result<(), PortTaken> {
    let read_log =
        || fs::read_to_string(log).unwrap_or_else(|err| format!("(cannot read sshd.log: {err})"));
    // Our sshd's own word that it holds the port: a banner alone could come
    // from another fixture's sshd that won the race for it.
    let listening = format!("Server listening on {HOST} port {port}.");
    let deadline = Instant::now() + READY_DEADLINE;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(status) = child.try_wait().expect("poll sshd") {
            let output = read_log();
            if output.contains("Address already in use") {
                return Err(PortTaken(output));
            }
            panic!("sshd exited ({status}) before accepting connections; its output:\n{output}");
        }
        if read_log().contains(&listening) && answers_ssh(port) {
            // The probe's own session should not count as one a test made.
            let probe_deadline = Instant::now() + Duration::from_secs(2);
            while !children_of(child.id()).is_empty() && Instant::now() < probe_deadline {
                thread::sleep(Duration::from_millis(5));
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "sshd did not answer on {HOST}:{port} within {READY_DEADLINE:?}; its output:\n{}",
                read_log()
            );
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Makes an unencrypted ed25519 key pair at `path` and `path.pub` and returns
/// the public key line. Useful for a second, unrelated key in tests.
pub fn keygen(path: &Path, comment: &str) -> String {
    keygen_typed(path, "ed25519", comment)
}

/// Like [`keygen`], with the key type as `ssh-keygen -t` names it (`ed25519`,
/// `ecdsa`, `rsa`).
pub fn keygen_typed(path: &Path, kind: &str, comment: &str) -> String {
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh-keygen (package openssh-client)");
    assert!(
        output.status.success(),
        "ssh-keygen for {} failed ({}): {}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // ssh and sshd refuse private keys that others can read; ssh-keygen
    // normally writes 0600 already, but make sure whatever the umask.
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .expect("make the private key 0600");
    let public = public_key_path(path);
    let line = fs::read_to_string(&public)
        .unwrap_or_else(|err| panic!("read {}: {err}", public.display()));
    line.trim().to_string()
}

fn public_key_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_os_string();
    name.push(".pub");
    PathBuf::from(name)
}

fn host_pattern(port: u16) -> String {
    format!("[{HOST}]:{port}")
}

fn sshd_config(port: u16, dir: &Path, host_keys: &[PathBuf], authorized_keys: &Path) -> String {
    let host_keys: String = host_keys
        .iter()
        .map(|key| format!("HostKey {}\n", key.display()))
        .collect();
    let mut config = format!(
        "\
# Written by tests/support/sshd.rs for one test fixture.
Port {port}
ListenAddress {HOST}
AddressFamily inet
{host_keys}PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# Keys only, also for root (the tests' user in containers).
PermitRootLogin prohibit-password
# The temporary directory is not laid out like a home directory.
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
# No AcceptEnv: the client's environment never reaches the remote side.
# bash sources ~/.bashrc for commands sshd runs only in a top-level shell: starting at SHLVL 1
# keeps the test user's rc files (pyenv init on a dev machine: ~100 processes and a lock file
# that a test killing a connection mid-startup leaves behind) out of every test. The banner
# test brings its own noisy shell.
SetEnv SHLVL=1
# Parallel connections in one test must not be dropped at random.
MaxStartups 100
LogLevel VERBOSE
",
        pid_file = dir.join("sshd.pid").display(),
        authorized_keys = authorized_keys.display(),
    );
    if sshd_has_source_penalties() {
        // OpenSSH 9.8+ would shut 127.0.0.1 out after the readiness probe or
        // a killed session, failing the next test's connections.
        config.push_str("PerSourcePenalties no\n");
    }
    config
}

/// Whether this sshd knows `PerSourcePenalties` (OpenSSH 9.8 and later);
/// older ones reject the option outright.
fn sshd_has_source_penalties() -> bool {
    static KNOWN: OnceLock<bool> = OnceLock::new();
    *KNOWN.get_or_init(|| {
        // `sshd -V` prints the version; older sshds reject -V but print the
        // version in their usage text, which is just as good.
        let output = Command::new(SSHD_PATH)
            .arg("-V")
            .stdin(Stdio::null())
            .output()
            .expect("run sshd -V");
        let text = String::from_utf8_lossy(&output.stderr);
        openssh_version(&text).is_some_and(|version| version >= (9, 8))
    })
}

/// Parses `OpenSSH_9.2p1 Debian-2, OpenSSL …` into `(9, 2)`.
pub fn openssh_version(text: &str) -> Option<(u32, u32)> {
    let rest = &text[text.find("OpenSSH_")? + "OpenSSH_".len()..];
    let (major, rest) = rest.split_once('.')?;
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn ensure_privsep_dir() {
    // Only root needs it and only root can make it; for anyone else sshd runs
    // without it. If it is missing when needed, sshd's output says so.
    let _ = fs::create_dir_all(PRIVSEP_DIR);
}

pub fn current_user() -> String {
    let from_id = Command::new("id")
        .arg("-un")
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|name| !name.is_empty());
    from_id
        .or_else(|| std::env::var("USER").ok().filter(|name| !name.is_empty()))
        .expect("find the current user name (neither `id -un` nor $USER gave one)")
}

/// A port nothing listens on right now. It is released before sshd binds
/// it, hence the retries in [`Sshd::start`].
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

/// Whether an SSH server answers on the port: it speaks first, with its
/// `SSH-2.0-` banner.
fn answers_ssh(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .is_err()
    {
        return false;
    }
    let mut banner = Vec::new();
    let mut buffer = [0u8; 256];
    while banner.len() < 8 {
        match stream.read(&mut buffer) {
            Ok(0) => return false,
            Ok(read) => banner.extend_from_slice(&buffer[..read]),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    banner.starts_with(b"SSH-2.0-")
}

/// Live children of `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    live_processes()
        .into_iter()
        .filter(|&(_, ppid)| ppid == parent)
        .map(|(pid, _)| pid)
        .collect()
}

/// Live (not zombie) processes as `(pid, parent pid)`, from /proc.
fn live_processes() -> Vec<(u32, u32)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let (state, ppid) = process_state(pid)?;
            (state != 'Z').then_some((pid, ppid))
        })
        .collect()
}

/// State letter and parent pid from `/proc/PID/stat`, or `None` once the
/// process is gone.
fn process_state(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may itself hold spaces and ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` still runs; a zombie no longer runs nor holds a connection.
fn is_alive(pid: u32) -> bool {
    process_state(pid).is_some_and(|(state, _)| state != 'Z')
}

/// Live descendants of `root` with their depth (children are 1), breadth
/// first.
fn descendants(root: u32) -> Vec<(u32, usize)> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, ppid) in live_processes() {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut queue = VecDeque::from([(root, 0)]);
    while let Some((pid, depth)) = queue.pop_front() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            found.push((child, depth + 1));
            queue.push_back((child, depth + 1));
        }
    }
    found
}

/// A real `ssh-agent` on its own socket, stopped on drop.
pub struct SshAgent {
    socket: PathBuf,
    pid: u32,
}

impl SshAgent {
    /// Starts an agent listening on `dir/agent.sock`.
    pub fn start(dir: &Path) -> SshAgent {
        let socket = dir.join("agent.sock");
        let output = Command::new("ssh-agent")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh-agent (package openssh-client)");
        assert!(output.status.success(), "ssh-agent failed: {output:?}");
        let pid = String::from_utf8_lossy(&output.stdout)
            .split("SSH_AGENT_PID=")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .and_then(|pid| pid.parse().ok())
            .expect("ssh-agent prints its pid");
        SshAgent { socket, pid }
    }

    /// Where to point `SSH_AUTH_SOCK` or `IdentityAgent`.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Loads a private key (`ssh-add`).
    pub fn add(&self, key: &Path) {
        let added = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh-add");
        assert!(
            added.status.success(),
            "ssh-add {}: {}",
            key.display(),
            String::from_utf8_lossy(&added.stderr)
        );
    }

    /// Makes `count` keys no server accepts (`dir/wrong-N`, comment `wrong-N`) and loads them.
    pub fn add_wrong_keys(&self, dir: &Path, count: usize) {
        for n in 1..=count {
            let path = dir.join(format!("wrong-{n}"));
            keygen(&path, &format!("wrong-{n}"));
            self.add(&path);
        }
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        kill_and_wait(&[self.pid]);
    }
}
