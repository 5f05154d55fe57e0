//! `gonogo follow`: a second terminal follows a running session live, read-only, through the
//! session's Unix socket; a late joiner sees the operator's state; the socket is the user's own.

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::gonogo::{Gonogo, Live};
use support::pty::Pty;
use support::sshd::Sshd;

const PROFILE: &str = r#"version = 1
[release]
name = "follow-test"
environment = "staging"

[targets.web-1]
transport = "local"
roles = ["web"]

[[step]]
phase = "Preflight"
name = "Config present"
check = "echo all good"
on = "web"

[[step]]
gate = "Ship it to web-1?"

[[step]]
phase = "Deploy"
name = "Deploy the build"
run = "echo deployed"
on = "web"
"#;

/// The operator's session, headless, waiting at its gate; its own home, journals and sockets.
fn operator(g: &Gonogo) -> (Live, PathBuf) {
    operator_as(g, None)
}

/// [`operator`], as `login` when given (a follower over SSH comes as the account's user, and
/// `gonogo follow` without a session attaches only to a session of the follower's own login).
fn operator_as(g: &Gonogo, login: Option<&str>) -> (Live, PathBuf) {
    let runtime = g.dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let home = g.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut cmd = g.command(&[]);
    cmd.env("HOME", &home).env("XDG_RUNTIME_DIR", &runtime);
    if let Some(login) = login {
        cmd.env_remove("SUDO_USER").env("LOGNAME", login);
    }
    let mut live = Live::spawn(cmd);
    live.wait_for("?? GATE");
    (live, runtime)
}

fn socket_of(runtime: &Path) -> PathBuf {
    let dir = runtime.join("gonogo");
    let sockets: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the sockets' directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(sockets.len(), 1, "one session's socket: {sockets:?}");
    sockets[0].clone()
}

/// What the engine makes of the operator's journal, drawn by the cockpit at 80×24: the state
/// every follower must show.
fn operator_screen(g: &Gonogo) -> Vec<String> {
    let sessions = g.dir.path().join("data/gonogo/sessions");
    let path = std::fs::read_dir(&sessions)
        .expect("sessions")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("one journal");
    let journal = gonogo::journal::read(&path).expect("journal");
    let mut release = gonogo::engine::Release::default();
    for event in journal.events() {
        release.apply(event);
    }
    let mut ui = gonogo::ui::state::UiState::default();
    ui.sync_question(&release);
    ui.sync_cursor(&release);
    let backend = ratatui::backend::TestBackend::new(80, 24);
    let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
    let theme = gonogo::ui::theme::Theme { color: false };
    let now = gonogo::runtime::now_ms();
    terminal
        .draw(|f| gonogo::ui::draw(f, &release, &ui, &theme, now))
        .expect("draw");
    let buffer = terminal.backend().buffer().clone();
    (0..24)
        .map(|y| {
            (0..80)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect()
        })
        .collect()
}

/// The checklist column (the left 30 cells), rows 3 to 22, durations masked.
/// The checklist column's rows above the question's modal (the follower's modal offers no
/// answers, so it is shorter than the operator's and covers other rows).
fn checklist(rows: &[String]) -> Vec<String> {
    rows.iter()
        .skip(2)
        .take(20)
        .take_while(|r| !r.contains(" ┌ "))
        .map(|r| {
            r.chars()
                .take(30)
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn a_late_follower_sees_the_operators_checklist_and_the_release_go_on() {
    let g = Gonogo::new(PROFILE);
    let (mut op, runtime) = operator(&g);
    let runtime_s = runtime.display().to_string();
    let mut pty = Pty::spawn_sized(
        (80, 24),
        g.dir.path(),
        "follow --as bob",
        &[("XDG_RUNTIME_DIR", &runtime_s), ("NO_COLOR", "1")],
        "",
    );
    pty.wait_text("Ship it to web-1?");
    pty.wait_text("watching: bob");
    op.wait_for("gonogo: bob follows the session (this machine)");
    // The journal file is on disk within a second, and the follower's screen within a frame:
    // under load either may be a moment behind the other, so both are read again until they
    // agree or ten seconds pass.
    let shown_now =
        |pty: &Pty| -> Vec<String> { pty.contents().lines().map(str::to_string).collect() };
    let both = |pty: &Pty| {
        let (mut shown, mut expected) =
            (checklist(&shown_now(pty)), checklist(&operator_screen(&g)));
        let rows = shown.len().min(expected.len());
        shown.truncate(rows);
        expected.truncate(rows);
        (shown, expected)
    };
    let mut seen = both(&pty);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while (seen.0 != seen.1 || seen.0.len() < 3) && std::time::Instant::now() < deadline {
        pty.read_until(Duration::from_millis(200), |_| false);
        seen = both(&pty);
    }
    assert!(
        seen.0.len() >= 3,
        "the checklist shows above the modal:\n{}",
        pty.contents()
    );
    assert_eq!(
        seen.0,
        seen.1,
        "the follower's checklist is the operator's:\n{}",
        pty.contents()
    );
    // Read-only: an answer typed here decides nothing.
    pty.press("g");
    pty.wait_text("read-only: only the");
    // Another follower joins and leaves; the operator hears both.
    let mut ann = Pty::spawn_sized(
        (80, 24),
        g.dir.path(),
        "follow --as ann",
        &[("XDG_RUNTIME_DIR", &runtime_s)],
        "",
    );
    ann.wait_text("watching: bob, ann");
    ann.press("q");
    assert_eq!(ann.exit_code(), Some(0), "{}", ann.contents());
    op.wait_for("gonogo: ann stopped following");
    op.say("go");
    pty.wait_text("RELEASED");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
    let (code, out) = op.finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        !socket_of_exists(&runtime),
        "the socket is gone with the session"
    );
}

fn socket_of_exists(runtime: &Path) -> bool {
    std::fs::read_dir(runtime.join("gonogo"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// Connects to `socket` as the user `nobody` and returns what it read (or why it could not).
fn connect_as_nobody(socket: &Path) -> String {
    let script = concat!(
        "import socket,sys\ns=socket.socket(socket.AF_UNIX)\n",
        "try:\n s.connect(sys.argv[1])\n s.settimeout(5)\n print(s.recv(200).decode())\n",
        "except OSError as e:\n print('oserror', e.errno)\n"
    );
    let out = std::process::Command::new("/usr/bin/setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            script,
        ])
        .arg(socket)
        .output()
        .expect("setpriv python3");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_socket_is_the_users_own_and_another_uid_is_refused() {
    let g = Gonogo::new(PROFILE);
    let (op, runtime) = operator(&g);
    let socket = socket_of(&runtime);
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&runtime.join("gonogo")), 0o700);
    assert_eq!(mode(&socket), 0o600);
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    if root.ok() == Some(0) {
        // As laid out, another user cannot even reach the socket.
        assert!(
            connect_as_nobody(&socket).contains("oserror 13"),
            "permission denied"
        );
        // Opened up by mistake, the session itself still refuses another uid.
        for dir in [g.dir.path(), runtime.as_path(), &runtime.join("gonogo")] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let said = connect_as_nobody(&socket);
        assert!(
            said.contains("refused: only the user running this session may follow it"),
            "{said}"
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let (_, out) = op.finish();
    assert!(
        !out.contains("follows the session"),
        "a refused connection joins nothing: {out}"
    );
}

/// The recipe in docs/follow.md: a colleague's key may only run `gonogo follow` on the
/// operator's machine (`restrict,pty,command=…`); through it they see the session, and the
/// operator sees who came in over SSH.
#[test]
fn a_colleague_follows_over_ssh_with_a_key_restricted_to_follow() {
    let sshd = Sshd::start();
    let g = Gonogo::new(PROFILE);
    let (mut op, runtime) = operator_as(&g, Some(sshd.user()));
    let mut pty = over_ssh(&sshd, &runtime, "--as carol", g.dir.path());
    pty.wait_text("Ship it to web-1?");
    pty.wait_text("watching: carol");
    op.wait_for("gonogo: carol follows the session (ssh from 127.0.0.1)");
    assert!(
        !pty.contents().contains("anything else"),
        "the key runs follow, nothing else"
    );
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
    op.wait_for("gonogo: carol stopped following");
    op.say("go");
    let (code, out) = op.finish();
    assert_eq!(code, Some(0), "{out}");
}

/// The colleague's key restricted to `gonogo follow FOLLOW_ARGS` (docs/follow.md), and their
/// `ssh -t` into the operator's account, in an 80×24 terminal.
fn over_ssh(sshd: &Sshd, runtime: &Path, follow_args: &str, dir: &Path) -> Pty {
    let keys = sshd.dir().join("authorized_keys");
    let key = std::fs::read_to_string(&keys).expect("authorized_keys");
    let key = key
        .lines()
        .last()
        .expect("a key")
        .split(" ssh-")
        .nth(1)
        .map_or_else(|| key.trim().to_string(), |rest| format!("ssh-{rest}"));
    let bin = env!("CARGO_BIN_EXE_gonogo");
    std::fs::write(
        &keys,
        format!(
            "restrict,pty,command=\"XDG_RUNTIME_DIR={} {bin} follow {follow_args}\" {key}\n",
            runtime.display(),
        ),
    )
    .expect("restricted key");
    let ssh = format!(
        "ssh -tt -F /dev/null -i {} -p {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} \
         -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes \
         -o LogLevel=ERROR {}@127.0.0.1 'echo anything else'",
        sshd.identity().display(),
        sshd.port(),
        sshd.known_hosts().display(),
        sshd.user()
    );
    Pty::spawn_program((80, 24), dir, &ssh, &[], "")
}

/// A gate of two approvals: the operator's GO and a colleague's over SSH
/// (`gonogo follow --approver dana`); the operator alone would not pass it.
#[test]
fn a_two_person_gate_passes_with_the_operator_and_an_approver_over_ssh() {
    let sshd = Sshd::start();
    // A last gate keeps the session open while the follower reads how its GO was judged.
    let profile = PROFILE.replace(
        "gate = \"Ship it to web-1?\"",
        "gate = \"Ship it to web-1?\"\napprovals = 2",
    ) + "\n[[step]]\ngate = \"Looks good?\"\n";
    let g = Gonogo::new(&profile);
    let (mut op, runtime) = operator_as(&g, Some(sshd.user()));
    op.say("go");
    op.say("go");
    op.wait_for("not counted");
    let mut pty = over_ssh(&sshd, &runtime, "--approver dana", g.dir.path());
    pty.wait_text("watching: dana");
    op.wait_for("gonogo: dana follows the session (ssh from 127.0.0.1, may approve)");
    pty.answer("g", "Enter confirms GO");
    op.wait_for("ok   GO from dana (ssh from 127.0.0.1) counted");
    pty.wait_text("GO from dana counted");
    op.wait_for("?? GATE [Deploy] Looks good?");
    op.say("go");
    pty.wait_text("RELEASED");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
    let (code, out) = op.finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("[web-1] deployed"), "{out}");
    // The report says who followed and whose GO counted.
    let journal = std::fs::read_dir(g.dir.path().join("data/gonogo/sessions"))
        .expect("sessions")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a journal");
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .arg("report")
        .arg(&journal)
        .output()
        .expect("report");
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(
        md.contains("dana follows the session (ssh from 127.0.0.1, may approve)"),
        "{md}"
    );
    assert!(
        md.contains("GO from dana (ssh from 127.0.0.1) counted"),
        "{md}"
    );
}

/// A follower that stops reading (a frozen terminal, a slow link) never holds the operator up:
/// the session floods 200,000 lines past it and ends; the follower, reading again, is told to
/// resync from the journal or gets every record in order.
#[test]
fn a_follower_that_stops_reading_never_slows_the_operator() {
    use std::io::{BufRead as _, Write as _};
    let g = Gonogo::new(&PROFILE.replace("run = \"echo deployed\"", "run = \"seq 1 200000\""));
    let (mut op, runtime) = operator(&g);
    let socket = socket_of(&runtime);
    let mut stuck = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    stuck
        // A name that would drive the terminal or forge a line arrives made printable.
        .write_all(b"{\"name\":\"fro\\u001b[31mzen\\nx\",\"via\":\"this machine\"}\n")
        .expect("join");
    let mut reader = std::io::BufReader::new(stuck.try_clone().expect("clone"));
    let mut hello = String::new();
    reader.read_line(&mut hello).expect("hello");
    assert!(hello.contains("\"follow\":1"), "{hello}");
    op.wait_for("gonogo: fro\\e[31mzen\\nx follows the session (this machine)");
    op.say("go");
    // The follower reads nothing while the step floods; the operator ends all the same.
    let (code, out) = op.finish();
    assert_eq!(code, Some(0), "{}", &out[out.len().saturating_sub(2000)..]);
    assert!(
        out.contains("[web-1] 200000"),
        "every line reached the operator"
    );
    stuck
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut last_seq = 0;
    let mut resynced = false;
    for line in reader.lines().map_while(Result::ok) {
        if line.contains("\"resync\":true") {
            resynced = true;
            continue;
        }
        let seq: u64 = line
            .split("\"seq\":")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .expect("a record");
        assert!(
            resynced || seq == last_seq + 1 || last_seq == 0,
            "in order: {seq} after {last_seq}"
        );
        last_seq = seq;
    }
    assert!(last_seq > 0, "records came once it read again");
}

/// An approver alone never passes a gate: at a gate of one approval (the operator's) the
/// approver over SSH is told so and cannot arm GO; nothing runs until the operator answers.
#[test]
fn an_approver_alone_cannot_pass_a_gate_of_one_approval() {
    let sshd = Sshd::start();
    let g = Gonogo::new(PROFILE);
    let (mut op, runtime) = operator(&g);
    let mut pty = over_ssh(&sshd, &runtime, "--approver dana", g.dir.path());
    pty.wait_text("watching: dana");
    op.wait_for("gonogo: dana follows the session");
    pty.press("g");
    pty.wait_text("needs one approval, the operator's");
    pty.press("\r");
    pty.read_until(Duration::from_secs(2), |_| false);
    assert!(
        !pty.contents().contains("Enter confirms GO"),
        "{}",
        pty.contents()
    );
    op.say("go");
    let (code, out) = op.finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("GO from dana"), "{out}");
    let go = out.find("\": go").expect("the operator's GO");
    let deployed = out.find("[web-1] deployed").expect("deployed");
    assert!(go < deployed, "{out}");
    pty.press("q");
    let _ = pty.exit_code();
}

/// Two approvers without the operator do not pass a gate of two approvals: both are counted,
/// the gate still waits for the operator's own GO, and passes with it.
#[test]
fn two_approvers_without_the_operator_cannot_pass_a_gate_of_two_approvals() {
    let sshd = Sshd::start();
    let profile = PROFILE.replace(
        "gate = \"Ship it to web-1?\"",
        "gate = \"Ship it to web-1?\"\napprovals = 2",
    );
    let g = Gonogo::new(&profile);
    let (mut op, runtime) = operator(&g);
    for name in ["dana", "erin"] {
        let mut pty = over_ssh(&sshd, &runtime, &format!("--approver {name}"), g.dir.path());
        pty.wait_text(&format!("watching: {name}"));
        pty.answer("g", "Enter confirms GO");
        op.wait_for(&format!("GO from {name} (ssh from 127.0.0.1) counted"));
        pty.wait_text(&format!("GO from {name} counted"));
        pty.press("q");
        let _ = pty.exit_code();
    }
    op.settle(Duration::from_millis(800));
    assert!(
        op.line_with("[web-1] deployed").is_none(),
        "the deploy ran without the operator's GO"
    );
    op.say("go");
    let (code, out) = op.finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("[web-1] deployed"), "{out}");
}

/// A client that sends one endless line (100 MB, no newline) is dropped once its line passes
/// 64 KB, and the operator is told why; the release goes on.
#[test]
fn a_follower_sending_a_100_mb_line_is_dropped_and_the_operator_told() {
    use std::io::{BufRead as _, Write as _};
    let g = Gonogo::new(PROFILE);
    let (mut op, runtime) = operator(&g);
    let socket = socket_of(&runtime);
    let mut flood = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    flood
        .write_all(b"{\"name\":\"flood\",\"via\":\"this machine\"}\n")
        .expect("join");
    let mut reader = std::io::BufReader::new(flood.try_clone().expect("clone"));
    let mut hello = String::new();
    reader.read_line(&mut hello).expect("hello");
    op.wait_for("gonogo: flood follows the session");
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0usize;
        for _ in 0..100 {
            if flood.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    op.wait_for("gonogo: flood was dropped: a follower sent a line over 64 KB");
    let sent = writer.join().expect("the flood");
    assert!(
        sent < 100 << 20,
        "the session kept reading all {sent} bytes"
    );
    op.say("go");
    let (code, out) = op.finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("[web-1] deployed"), "{out}");
}
