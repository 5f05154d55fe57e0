//! A journal that stops being written mid-run is said at once, while the release still runs:
//! a `!!` line headless, then the release goes on (the operator decides), and the end says the
//! record is incomplete. The failure is real: the process may write files of at most a few
//! hundred KB (RLIMIT_FSIZE, set by the shell with `ulimit -S -f`), so the journal's writes past
//! that fail with EFBIG, as they would on a full disk.

mod support;

use support::gonogo::{Gonogo, Live, release};

const BODY: &str = concat!(
    "[targets.here]\ntransport = \"local\"\n\n",
    // The step lifts the limit for itself: its output goes through files.
    "[[step]]\nname = \"Flood\"\nrun = \"ulimit -S -f unlimited; seq 1 60000\"\non = \"here\"\n\n",
    "[[step]]\ngate = \"Ship it?\"\n\n",
    "[[step]]\nname = \"After\"\nrun = \"echo after the gate\"\non = \"here\"\n\n",
    "[[rollback]]\nrun = \"true\"\non = \"here\"\n",
);

/// `gonogo run --headless` in `g`'s directory, allowed files of 200 blocks at most (a soft
/// limit), its stderr into `stderr`.
fn limited(g: &Gonogo, stderr: std::fs::File) -> std::process::Command {
    let mut command = std::process::Command::new("sh");
    // SIGXFSZ ignored (the disposition survives exec): the write fails with EFBIG instead.
    command
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -S -f 200; exec \"$0\" run release.toml --headless")
        .arg(env!("CARGO_BIN_EXE_gonogo"))
        .current_dir(g.dir.path())
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("GITHUB_ACTIONS")
        .env("XDG_STATE_HOME", g.dir.path().join("state"))
        .env("XDG_DATA_HOME", g.dir.path().join("data"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr);
    command
}

#[test]
fn a_journal_write_failure_is_said_at_once_and_the_release_goes_on() {
    let work = tempfile::tempdir().expect("work dir");
    let g = Gonogo::new(&release("journal-full", &work.path().join("kh"), BODY));
    let stderr = std::fs::File::create(work.path().join("stderr")).expect("stderr file");
    let mut live = Live::spawn(limited(&g, stderr));
    live.wait_for("!! journal not written: File too large");
    let said = live
        .line_with("!! journal not written")
        .expect("seen")
        .to_string();
    assert!(
        said.contains("this session is no longer recorded") && said.contains(".jsonl"),
        "{said}"
    );
    // Said while the release runs (its gate comes after the line), and the gate is answered.
    live.wait_for("?? GATE");
    live.say("go");
    live.wait_for("after the gate");
    let (code, out) = live.finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("!! journal not written from then on (File too large"),
        "the summary says it: {out}"
    );
    let err = std::fs::read_to_string(work.path().join("stderr")).expect("stderr");
    assert!(
        err.contains("is incomplete: writing it failed (File too large"),
        "{err}"
    );
    // What was written stops at the limit.
    let sessions = g.dir.path().join("data/gonogo/sessions");
    let journal = std::fs::read_dir(&sessions)
        .expect("sessions")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal");
    let size = std::fs::metadata(&journal).expect("journal").len();
    assert!(size <= 200 * 1024, "{size}");
}

/// Under GitHub Actions the failure is an error annotation too, before the gate.
#[test]
fn under_github_actions_a_journal_write_failure_is_an_error_annotation() {
    let work = tempfile::tempdir().expect("work dir");
    let g = Gonogo::new(&release("journal-full-ci", &work.path().join("kh"), BODY));
    let stderr = std::fs::File::create(work.path().join("stderr")).expect("stderr file");
    let mut command = limited(&g, stderr);
    command.env("GITHUB_ACTIONS", "true");
    let mut live = Live::spawn(command);
    live.say("go");
    live.wait_for("::error title=journal not written::journal not written: File too large");
    live.wait_for("?? GATE");
    live.wait_for("after the gate");
    let (code, out) = live.finish();
    assert_eq!(code, Some(0), "{out}");
}
