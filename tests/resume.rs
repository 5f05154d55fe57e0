//! `gonogo resume` after gonogo was killed with -9 in the middle of a long remote step: the
//! journal rebuilds the release, the lock is the session's again, the step is attached again
//! (it runs exactly once), and the release completes, appending to the same journal.

mod support;

use std::process::{Command, Stdio};

use support::gonogo::{Gonogo, Live, release, target, text};
use support::sshd::Sshd;

fn resume(g: &Gonogo, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.current_dir(g.dir.path())
        .arg("resume")
        .args(args)
        .env_remove("SSH_AUTH_SOCK")
        .env("XDG_STATE_HOME", g.dir.path().join("state"))
        .env("XDG_DATA_HOME", g.dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn a_session_killed_mid_step_resumes_and_the_step_runs_exactly_once() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let count = work.path().join("count");
    let body = format!(
        "{}\n[[step]]\nname = \"Migrate\"\nrun = \"echo started >> {count}; echo migrating; sleep 4; echo migrated\"\non = \"web\"\n\n[[step]]\ngate = \"Go on?\"\n\n[[step]]\nname = \"After\"\ncheck = \"echo after\"\non = \"web\"\n",
        target("web-1", &sshd, &["web"]),
        count = count.display()
    );
    let g = Gonogo::new(&release("resume", sshd.known_hosts(), &body));
    let mut live = Live::start(&g, &["--yes"]);
    live.wait_for("[web-1] migrating");
    live.kill_9();

    let out = resume(&g, &["--headless", "--yes"])
        .output()
        .expect("resume");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("resumed the session"), "{shown}");
    assert!(shown.contains("[web-1] migrated"), "{shown}");
    assert!(shown.contains("[web-1] after"), "{shown}");
    let started = std::fs::read_to_string(&count).expect("the step ran");
    assert_eq!(started, "started\n", "the step ran exactly once");

    // One journal, numbered on from where the killed session stopped, the resume in it.
    let sessions = g.dir.path().join("data/gonogo/sessions");
    // The journal, and its index next to it.
    let journals: Vec<_> = std::fs::read_dir(&sessions)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(journals.len(), 1);
    let path = journals[0].clone();
    let journal = gonogo::journal::read(&path).expect("read");
    assert!(journal.warnings.is_empty(), "{:?}", journal.warnings);
    let kinds: Vec<String> = journal
        .events()
        .map(|e| gonogo::journal::split(&e.kind).0)
        .collect();
    assert!(kinds.contains(&"resumed".to_string()), "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("locks_released"));
    // The crash is in the record: said as it resumed, and by the report.
    assert!(
        shown.contains("gonogo: gonogo stopped at ")
            && shown.contains("(no end record), resumed at "),
        "{shown}"
    );
    let report = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .arg("report")
        .arg(&path)
        .output()
        .expect("report");
    let said = text(&report);
    assert!(
        said.contains("**released** (interrupted and resumed once)"),
        "{said}"
    );
    assert!(said.contains("(no end record), resumed at "), "{said}");

    // Nothing left to resume.
    let again = resume(&g, &[&path.display().to_string()])
        .output()
        .expect("resume");
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("already ended"), "{}", text(&again));
}

#[test]
fn a_lock_taken_by_someone_else_meanwhile_stops_the_resume_and_says_who() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let second = work.path().join("second");
    let body = format!(
        "{}\n[[step]]\nname = \"Slow\"\nrun = \"echo going; [ -f {second} ] || sleep 30\"\non = \"web\"\n",
        target("web-1", &sshd, &["web"]),
        second = second.display()
    );
    let g = Gonogo::new(&release("resume-broken", sshd.known_hosts(), &body));
    let mut live = Live::start(&g, &["--yes"]);
    live.wait_for("[web-1] going");
    Command::new("kill")
        .args(["-9", &live.pid().to_string()])
        .status()
        .expect("kill");
    let _ = live.finish();
    // Another operator breaks the dead session's lock and stops its step.
    std::fs::write(&second, "").expect("marker");
    let other = g
        .command(&[
            "--break-lock",
            "the laptop died",
            "--stop-previous",
            "--yes",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("break");
    assert_eq!(other.status.code(), Some(0), "{}", text(&other));
    // Resume: the most recent unfinished session is the killed one.
    let out = resume(&g, &["--headless"]).output().expect("resume");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("the deploy lock was taken by"), "{shown}");
}

/// Two resumes of one journal started together: exactly one goes on, the other is refused
/// naming the process that holds the journal, and the step's side effect happens once.
#[test]
fn two_resumes_of_one_session_never_both_go_on() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let count = work.path().join("count");
    let body = format!(
        "{}\n[[step]]\nname = \"Migrate\"\nrun = \"echo started >> {count}; echo migrating; sleep 3; echo migrated\"\non = \"web\"\n\n[[step]]\nname = \"Record\"\nrun = \"echo recorded >> {count}\"\non = \"web\"\n",
        target("web-1", &sshd, &["web"]),
        count = count.display()
    );
    let g = Gonogo::new(&release("resume2", sshd.known_hosts(), &body));
    let mut live = Live::start(&g, &["--yes"]);
    live.wait_for("[web-1] migrating");
    // A resume while the session still runs is refused: its gonogo holds the journal.
    let early = resume(&g, &["--headless", "--yes"])
        .output()
        .expect("resume");
    let said = text(&early);
    assert_ne!(early.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("held by gonogo pid {}", live.pid())),
        "{said}"
    );
    let killed = Command::new("kill")
        .args(["-9", &live.pid().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let _ = live.finish();

    let first = resume(&g, &["--headless", "--yes"]).spawn().expect("first");
    let second = resume(&g, &["--headless", "--yes"])
        .spawn()
        .expect("second");
    let (a, b) = (
        first.wait_with_output().expect("first ends"),
        second.wait_with_output().expect("second ends"),
    );
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes.contains(&Some(0)) && codes.iter().filter(|c| **c == Some(0)).count() == 1,
        "exactly one resume goes on: {codes:?}\n{}\n{}",
        text(&a),
        text(&b)
    );
    let refused = if a.status.code() == Some(0) { &b } else { &a };
    assert!(
        text(refused).contains("is held by gonogo pid"),
        "{}",
        text(refused)
    );
    let ran = std::fs::read_to_string(&count).expect("ran");
    assert_eq!(ran, "started\nrecorded\n", "each step's side effect once");
    // The journal's records are numbered without a break.
    let sessions = g.dir.path().join("data/gonogo/sessions");
    let path = std::fs::read_dir(&sessions)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .unwrap();
    let journal = gonogo::journal::read(&path).expect("read");
    assert!(journal.warnings.is_empty(), "{:?}", journal.warnings);
}

/// After kill -9, a new run meets the dead session's lock: the refusal says that its gonogo is
/// no longer running and which resume continues it (while it ran, that it still runs).
#[test]
fn a_lock_whose_gonogo_died_points_to_the_resume_that_continues_it() {
    let sshd = Sshd::start();
    let body = format!(
        "{}\n[[step]]\nname = \"Slow\"\nrun = \"echo going; sleep 20\"\non = \"web\"\n",
        target("web-1", &sshd, &["web"]),
    );
    let g = Gonogo::new(&release("dead-holder", sshd.known_hosts(), &body));
    let mut live = Live::start(&g, &["--yes"]);
    live.wait_for("[web-1] going");
    let pid = live.pid();
    let alive = g
        .command(&["--yes"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(alive.status.code(), Some(4), "{}", text(&alive));
    assert!(
        text(&alive).contains(&format!("its gonogo still runs here (pid {pid})")),
        "{}",
        text(&alive)
    );
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    let _ = live.finish();
    let out = g
        .command(&["--yes"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(4), "{shown}");
    // The journal it names is the killed session's own.
    let line = shown
        .lines()
        .find(|l| l.contains("is locked by"))
        .expect("the refusal");
    assert!(
        line.contains(&format!(
            "whose gonogo is no longer running (pid {pid} is gone)"
        )),
        "{shown}"
    );
    let session = line
        .split("(session ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .expect("the holder's session");
    let named = line
        .split("continue it with gonogo resume ")
        .nth(1)
        .and_then(|r| r.split(": not starting").next())
        .expect("the resume command");
    let header = std::fs::read_to_string(named).expect("the named journal");
    assert!(
        header.lines().next().is_some_and(|h| h.contains(session)),
        "{named} is not session {session}'s"
    );
}

/// Killed while a gate waited for its answer: `resume --headless --yes` answers the gate asked
/// again, as `run --yes` would, and the session ends with its lock released.
#[test]
fn resume_yes_answers_a_gate_asked_again_and_releases_the_lock() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("deployed");
    let body = format!(
        "{}\n[[step]]\ngate = \"Deploy?\"\n\n[[step]]\nname = \"Deploy\"\nrun = \"touch {}\"\non = \"web\"\n",
        target("web-1", &sshd, &["web"]),
        marker.display()
    );
    let g = Gonogo::new(&release("resume-gate", sshd.known_hosts(), &body));
    let mut live = Live::start(&g, &[]);
    live.wait_for("?? GATE");
    Command::new("kill")
        .args(["-9", &live.pid().to_string()])
        .status()
        .expect("kill");
    let _ = live.finish();
    let out = resume(&g, &["--headless", "--yes"])
        .output()
        .expect("resume");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("decided by root: go (--yes)") || shown.contains("go (--yes)"),
        "{shown}"
    );
    assert!(marker.exists(), "the step after the gate ran: {shown}");
    assert!(
        shown.contains("gonogo: released; locks released"),
        "{shown}"
    );
    // The killed gonogo's follow socket is taken back: `gonogo follow` finds the session.
    assert!(!shown.contains("Address already in use"), "{shown}");
    assert!(
        !shown.contains("no live follow for this session"),
        "{shown}"
    );
}

/// The journal says the step started; its run directory on the host is gone when gonogo comes
/// back: the step is not run a second time, its outcome is unknown, and the unattended policy
/// answers for nobody (`--yes` does not).
#[test]
fn a_step_whose_run_directory_is_gone_is_never_run_again_its_outcome_is_unknown() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let count = work.path().join("count");
    let body = format!(
        "{}\n[[step]]\nname = \"Long\"\nrun = \"echo long >> {count}; echo going; sleep 6\"\non = \"web\"\n\n[[rollback]]\nname = \"Undo\"\nrun = \"echo undone >> {count}\"\non = \"web\"\n",
        target("web-1", &sshd, &["web"]),
        count = count.display()
    );
    let g = Gonogo::new(&release("resume-gone", sshd.known_hosts(), &body));
    let mut live = Live::start(&g, &["--yes"]);
    live.wait_for("[web-1] going");
    Command::new("kill")
        .args(["-9", &live.pid().to_string()])
        .status()
        .expect("kill");
    let _ = live.finish();
    // Someone cleans the host: this session's run directories go.
    let journal = std::fs::read_dir(g.dir.path().join("data/gonogo/sessions"))
        .expect("sessions")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("journal");
    let header = std::fs::read_to_string(&journal).expect("journal");
    let session = header
        .split("\"session\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("session id");
    let home = std::env::var("HOME").expect("HOME");
    std::fs::remove_dir_all(format!("{home}/.gonogo/runs/{session}")).expect("rm run dir");

    let out = resume(&g, &["--headless", "--yes"])
        .output()
        .expect("resume");
    let shown = text(&out);
    assert!(
        shown.contains("its run directory on the host is gone"),
        "{shown}"
    );
    assert!(shown.contains("outcome unknown"), "{shown}");
    assert!(
        !shown.contains("nothing ran"),
        "no claim it did not run: {shown}"
    );
    assert!(
        shown.contains("decided by policy") && shown.contains(": rollback"),
        "{shown}"
    );
    assert_eq!(out.status.code(), Some(3), "{shown}");
    let ran = std::fs::read_to_string(&count).expect("count");
    assert_eq!(
        ran.lines().filter(|l| *l == "long").count(),
        1,
        "the step ran once: {ran}"
    );
    assert!(ran.contains("undone"), "{ran}");
}
