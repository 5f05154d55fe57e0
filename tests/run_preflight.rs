//! What `gonogo run` checks and says before anything connects: `[policy]` release windows are
//! enforced (with a recorded override), and the parts of a profile it does not act on yet are
//! named.

mod support;

use chrono::Datelike as _;
use support::gonogo::{Gonogo, release, text};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A release of one local step that leaves a marker, within `windows`.
fn windowed(windows: &str, marker: &std::path::Path) -> String {
    let body = format!(
        "[policy]\nwindows = [{windows}]\n\n[targets.here]\ntransport = \"local\"\n\n[[step]]\nrun = \"touch {}\"\non = \"here\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n",
        marker.display()
    );
    release("windows", &marker.with_extension("kh"), &body)
}

/// A whole-day window two days from now, on this machine's clock: it cannot contain now, even
/// if midnight passes while the test runs.
fn window_not_now() -> String {
    let day = (chrono::Local::now().weekday().num_days_from_monday() + 2) % 7;
    format!("{} 00:00-24:00", DAYS[day as usize])
}

#[test]
fn outside_every_window_the_run_is_refused_before_anything_connects() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("ran");
    let window = window_not_now();
    let out = Gonogo::new(&windowed(&format!("\"{window}\""), &marker)).run(&["--yes"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!(
            "is released only in its release windows ({window}), and it is "
        )),
        "{t}"
    );
    assert!(t.contains("here (local time); nothing ran"), "{t}");
    assert!(t.contains("--override-window \"REASON\""), "{t}");
    assert!(!t.contains("connected"), "{t}");
    assert!(!marker.exists(), "nothing ran: {t}");
}

#[test]
fn an_override_reason_lets_the_release_start_and_is_shown_with_it() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("ran");
    let g = Gonogo::new(&windowed(&format!("\"{}\"", window_not_now()), &marker));
    let out = g.run(&["--override-window", "INC-42: checkout is down"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains(", outside the release windows: INC-42: checkout is down)"),
        "{t}"
    );
    assert!(marker.exists(), "{t}");

    let out = g.run(&["--override-window", " "], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("--override-window needs a reason"), "{t}");
}

#[test]
fn the_windows_are_read_in_local_time_and_name_the_moment_checked() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("ran");
    let g = Gonogo::new(&windowed(
        "\"Mon-Thu 09:00-16:00\", \"Fri 09:00-12:00\"",
        &marker,
    ));
    // GONOGO_NOW sets the clock of a debug build (tests); 2026-11-23 is a Monday.
    let out = g
        .command(&[])
        .env("GONOGO_NOW", "2026-11-23T03:00:00")
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("(Mon-Thu 09:00-16:00, Fri 09:00-12:00), and it is Mon 2026-11-23 03:00 here"),
        "{t}"
    );
    let out = g
        .command(&[])
        .env("GONOGO_NOW", "2026-11-23T09:00:00")
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "inside a window: {t}");
    assert!(!t.contains("outside the release windows"), "{t}");
    assert!(marker.exists(), "{t}");
}

#[test]
fn the_cockpit_without_a_terminal_to_ask_refuses_outside_every_window() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("ran");
    let g = Gonogo::new(&windowed(&format!("\"{}\"", window_not_now()), &marker));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .current_dir(g.dir.path())
        .env("XDG_DATA_HOME", g.dir.path().join("data"))
        .args(["run", "release.toml"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("--override-window \"REASON\""), "{t}");
    assert!(!marker.exists(), "{t}");
}

#[test]
fn a_profile_whose_every_part_is_acted_on_gets_no_note_at_start() {
    let work = tempfile::tempdir().expect("work dir");
    let body = "[targets.here]\ntransport = \"local\"\n\n[logs.gunicorn]\non = \"here\"\ncommand = \"journalctl -f\"\n\n[health.app]\nurl = \"http://127.0.0.1:9/health\"\nvia = \"here\"\n\n[metrics.app]\nurl = \"http://127.0.0.1:9/metrics\"\n\n[[step]]\nrun = \"true\"\non = \"here\"\n\n[watch]\nduration = \"5m\"\nrollback_on = [\"health failing for 30s\"]\nauto_rollback = true\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n\n[notify]\nwebhook = \"http://127.0.0.1:9/hook\"\nevery = \"15m\"\n";
    let g = Gonogo::new(&release("notes", &work.path().join("kh"), body));
    let mut live = support::gonogo::Live::start(&g, &[]);
    live.wait_for("==> watch window");
    live.say("done");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    // Headless lines start with the time (HH:MM:SS): compare what follows it.
    fn untimed(l: &str) -> &str {
        match l.split_once(' ') {
            Some((time, rest)) if time.len() == 8 && time.as_bytes()[2] == b':' => rest,
            _ => l,
        }
    }
    let notes: Vec<&str> = t
        .lines()
        .map(untimed)
        .skip_while(|l| !l.starts_with("gonogo: release "))
        .skip(1)
        .take_while(|l| l.starts_with("gonogo: note: "))
        .collect();
    // [notify] was the last part not acted on: nothing is named any more.
    assert!(notes.is_empty(), "right after the start line: {t}");
}

#[test]
fn a_release_freeze_refuses_unless_overridden() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("ran");
    let profile = windowed("\"Mon-Sun 00:00-24:00\"", &marker).replace(
        "[policy]\n",
        "[policy]\nfreezes = [\"2026-12-20..2027-01-05\"]\n",
    );
    let g = Gonogo::new(&profile);
    let out = g
        .command(&[])
        .env("GONOGO_NOW", "2026-12-24T10:00:00")
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(
            "is in a release freeze (2026-12-20..2027-01-05), and it is Thu 2026-12-24 10:00 here"
        ),
        "{t}"
    );
    assert!(!marker.exists(), "{t}");
    let out = g
        .command(&[
            "--override-window",
            "INC-7: payment outage, approved by ana",
        ])
        .env("GONOGO_NOW", "2026-12-24T10:00:00")
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("INC-7: payment outage, approved by ana"),
        "recorded: {t}"
    );
    assert!(marker.exists(), "{t}");
}
