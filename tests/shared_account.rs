//! Several people on one Unix account (a `deploy` account reached with `ssh` or `sudo`): each
//! session records whose it is (the login), `gonogo follow` without a session attaches only to
//! one's own and lists them when several run, `gonogo resume` without a journal takes only one's
//! own unfinished session on this machine.

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::gonogo::{Gonogo, Live, text};
use support::pty::Pty;

const PROFILE: &str = r#"version = 1
[release]
name = "RELEASE"
environment = "staging"

[targets.web-1]
transport = "local"
roles = ["web"]

[[step]]
gate = "Ship it to web-1?"

[[step]]
name = "Deploy the build"
run = "echo deployed"
on = "web"
"#;

/// A login as the environment gives it: `SUDO_USER` (the person behind `sudo -iu deploy`) or
/// `LOGNAME` (whoever came in as `deploy`).
fn as_login(cmd: &mut Command, sudo_user: &str, logname: &str) {
    cmd.env("SUDO_USER", sudo_user)
        .env("LOGNAME", logname)
        .env("USER", "deploy");
}

/// `release` run headless by a login, its sockets in the shared `runtime`, waiting at its gate.
fn operator(release: &str, runtime: &Path, (sudo_user, logname): (&str, &str)) -> (Gonogo, Live) {
    let g = Gonogo::new(&PROFILE.replace("RELEASE", release));
    let mut cmd = g.command(&[]);
    cmd.env("HOME", g.dir.path().join("home"))
        .env("XDG_RUNTIME_DIR", runtime);
    as_login(&mut cmd, sudo_user, logname);
    let mut live = Live::spawn(cmd);
    live.wait_for("?? GATE");
    (g, live)
}

fn sockets(runtime: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(runtime.join("gonogo"))
        .expect("the sockets' directory")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".sock").map(str::to_string)
        })
        .collect();
    ids.sort();
    ids
}

/// `gonogo follow ARGS` as a login, outside a terminal (where it only picks, or refuses).
fn follow(runtime: &Path, login: (&str, &str), args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.arg("follow")
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime)
        .stdin(std::process::Stdio::null());
    as_login(&mut cmd, login.0, login.1);
    cmd.output().expect("gonogo follow")
}

#[test]
fn follow_attaches_only_to_ones_own_session_and_lists_several() {
    let work = tempfile::tempdir().expect("work dir");
    let runtime = work.path().join("runtime");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let (ana, cy) = (("ana", "deploy"), ("", "cy"));
    let (_ga, op_ana) = operator("shop", &runtime, ana);

    // Only ana's runs: cy is not attached to it, and is told whose it is and how to name it.
    let out = follow(&runtime, cy, &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("the session running is ana's, not yours (cy)"),
        "{said}"
    );
    assert!(said.contains("shop to staging, by ana, started"), "{said}");
    assert!(said.contains("gonogo follow SESSION"), "{said}");

    // Ana herself is attached, and told whose session it is first.
    let runtime_s = runtime.display().to_string();
    let mut pty = Pty::spawn(
        work.path(),
        "follow --as ana",
        &[("XDG_RUNTIME_DIR", &runtime_s), ("SUDO_USER", "ana")],
        "",
    );
    pty.wait_text("following ana's session: shop to staging, started");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());

    // Bo's session runs too: with no session named, nobody is attached; both are listed.
    let before = sockets(&runtime);
    let (_gb, mut op_bo) = operator("cart", &runtime, ("", "bo"));
    let bo_id = sockets(&runtime)
        .into_iter()
        .find(|id| !before.contains(id))
        .expect("bo's socket");
    for login in [cy, ana] {
        let out = follow(&runtime, login, &[]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(
            said.contains("several sessions run; name one: gonogo follow SESSION"),
            "{said}"
        );
        assert!(said.contains("shop to staging, by ana"), "{said}");
        assert!(
            said.contains(&format!("{bo_id}  cart to staging, by bo, started")),
            "{said}"
        );
    }

    // Named, bo's session is followed by cy, who is told first that it is not theirs.
    let mut pty = Pty::spawn(
        work.path(),
        &format!("follow --as cy {bo_id}"),
        &[
            ("XDG_RUNTIME_DIR", &runtime_s),
            ("SUDO_USER", ""),
            ("LOGNAME", "cy"),
        ],
        "",
    );
    pty.wait_text("following bo's session (not yours): cart to staging");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
    op_bo.wait_for("gonogo: cy stopped following");

    // Listing joins nobody: each operator heard only the follower who attached.
    let (_, ana_out) = op_ana.finish();
    let (_, bo_out) = op_bo.finish();
    assert_eq!(
        ana_out.matches("follows the session").count(),
        1,
        "{ana_out}"
    );
    assert!(ana_out.contains("ana follows the session"), "{ana_out}");
    assert_eq!(bo_out.matches("follows the session").count(), 1, "{bo_out}");
    assert!(bo_out.contains("cy follows the session"), "{bo_out}");
}

/// An unfinished journal (started, never ended) by `operator` (`user@host`) with `login`.
fn unfinished(dir: &Path, name: &str, release: &str, operator: &str, login: &str) -> PathBuf {
    let header = gonogo::journal::Header {
        format: gonogo::journal::FORMAT.into(),
        version: gonogo::journal::VERSION,
        gonogo: "test".into(),
        session: name.into(),
        profile: "release.toml".into(),
        profile_sha256: String::new(),
        release: release.into(),
        environment: "production".into(),
        operator: operator.into(),
        login: login.into(),
        terminal: None,
        started: "2026-11-23T12:00:00.000Z".into(),
        targets: Vec::new(),
        present: None,
    };
    let path = dir.join(format!("{name}.jsonl"));
    let mut writer = gonogo::journal::Writer::create(&path, &header).expect("journal");
    // One gate, so the release stands open at it.
    let gate = gonogo::engine::plan::PlannedStep {
        phase: "Deploy".into(),
        name: "Ship it?".into(),
        kind: gonogo::engine::plan::StepKind::Gate,
        text: "Ship it?".into(),
        on: Vec::new(),
        targets: Vec::new(),
        serial: None,
        timeout_ms: 0,
        retries: 0,
        retry_delay_ms: 0,
        expect: None,
        irreversible: false,
        approvals: 1,
        builtin: None,
        undo: None,
        after_watch: false,
        origin: None,
        batch: None,
    };
    let plan = gonogo::engine::ReleasePlan {
        release: release.into(),
        environment: "production".into(),
        steps: vec![gate],
        ..Default::default()
    };
    let started = gonogo::engine::EventKind::Started {
        session: name.into(),
        operator: "deploy".into(),
        plan: Box::new(plan),
    };
    writer.event(&gonogo::engine::Event::new(1_795_000_000_000, started));
    writer.sync();
    path
}

fn host() -> String {
    gonogo::login::host()
}

/// `gonogo resume` (no journal) as a login, over the sessions in `data`.
fn resume(data: &Path, login: (&str, &str)) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.args(["resume", "--headless"])
        .env("XDG_DATA_HOME", data)
        .current_dir(data)
        .stdin(std::process::Stdio::null());
    as_login(&mut cmd, login.0, login.1);
    text(&cmd.output().expect("gonogo resume"))
}

#[test]
fn resume_takes_only_ones_own_unfinished_session_on_this_machine() {
    let data = tempfile::tempdir().expect("data");
    let sessions = data.path().join("gonogo/sessions");
    std::fs::create_dir_all(&sessions).expect("sessions");
    let here = host();
    let bo = unfinished(
        &sessions,
        "20261123T120000Z-bo",
        "cart",
        &format!("deploy@{here}"),
        "bo",
    );
    // Only bo's: ana is refused, told whose there is and to name the journal.
    let said = resume(data.path(), ("ana", "deploy"));
    assert!(
        said.contains("no unfinished session of yours (ana) on this machine"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "{}  cart to production, by bo@{here}",
            bo.display()
        )),
        "{said}"
    );
    assert!(
        said.contains("name its journal: gonogo resume JOURNAL"),
        "{said}"
    );

    // Ana's own (newer than bo's, and one on another machine) is the one taken.
    let ana = unfinished(
        &sessions,
        "20261123T110000Z-ana",
        "shop",
        &format!("deploy@{here}"),
        "ana",
    );
    unfinished(
        &sessions,
        "20261123T130000Z-elsewhere",
        "shop",
        "deploy@elsewhere",
        "ana",
    );
    let said = resume(data.path(), ("ana", "deploy"));
    assert!(
        said.contains(&format!(
            "resuming session 20261123T110000Z-ana of shop to production from {}",
            ana.display()
        )),
        "{said}"
    );

    // An old journal (no login recorded) is its operator's user's: `deploy`, not ana's.
    unfinished(
        &sessions,
        "20261123T100000Z-old",
        "shop",
        &format!("deploy@{here}"),
        "",
    );
    let said = resume(data.path(), ("ana", "deploy"));
    assert!(
        said.contains("resuming session 20261123T110000Z-ana"),
        "{said}"
    );
    let said = resume(data.path(), ("", "deploy"));
    assert!(
        said.contains("resuming session 20261123T100000Z-old"),
        "{said}"
    );

    // Two of ana's: listed, and none resumed.
    unfinished(
        &sessions,
        "20261123T140000Z-ana2",
        "cart",
        &format!("deploy@{here}"),
        "ana",
    );
    let said = resume(data.path(), ("ana", "deploy"));
    assert!(
        said.contains("2 unfinished sessions of yours (ana) on this machine"),
        "{said}"
    );
    assert!(
        said.contains("20261123T110000Z-ana.jsonl  shop to production"),
        "{said}"
    );
    assert!(
        said.contains("20261123T140000Z-ana2.jsonl  cart to production"),
        "{said}"
    );
    assert!(!said.contains("resuming session"), "{said}");
}

/// Over SSH, through a key restricted to `gonogo follow` (docs/follow.md), a colleague comes as
/// the account's login, while the operator came with `sudo` as ana: the colleague is not attached
/// to ana's session until they name it, as the command they ask ssh for.
#[test]
fn over_ssh_a_colleague_names_the_session_as_the_command_asked_for() {
    let sshd = support::sshd::Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let runtime = work.path().join("runtime");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let (_g, mut op) = operator("shop", &runtime, ("ana", "deploy"));
    let id = sockets(&runtime).remove(0);
    let keys = sshd.dir().join("authorized_keys");
    let key = std::fs::read_to_string(&keys).expect("authorized_keys");
    let key = key.lines().last().expect("a key").to_string();
    let key = key
        .split_once(" ssh-")
        .map_or(key.clone(), |(_, rest)| format!("ssh-{rest}"));
    let command = format!(
        "XDG_RUNTIME_DIR={} {} follow --as carol",
        runtime.display(),
        env!("CARGO_BIN_EXE_gonogo")
    );
    std::fs::write(&keys, format!("restrict,pty,command=\"{command}\" {key}\n")).expect("key");
    let ssh = |asked: &str| {
        format!(
            "ssh -tt -F /dev/null -i {} -p {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} \
             -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes \
             -o LogLevel=ERROR {}@127.0.0.1 '{asked}'",
            sshd.identity().display(),
            sshd.port(),
            sshd.known_hosts().display(),
            sshd.user()
        )
    };
    let mut pty = Pty::spawn_program((100, 30), work.path(), &ssh("echo anything else"), &[], "");
    pty.wait_text("the session running is ana's, not yours");
    pty.wait_text("ssh -t HOST SESSION");
    assert_eq!(pty.exit_code(), Some(1), "{}", pty.contents());

    let mut pty = Pty::spawn_program((100, 30), work.path(), &ssh(&id[..13]), &[], "");
    pty.wait_text("following ana's session (not yours): shop to staging");
    op.wait_for("gonogo: carol follows the session (ssh from 127.0.0.1)");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
}
