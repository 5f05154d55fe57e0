//! What the cockpit asks and shows as a release starts: the reason to release outside every
//! release window (asked on the terminal before the cockpit takes the screen), the parts of the
//! profile not acted on yet, links named as links, and notifications not delivered.

use std::time::Duration;

use chrono::Datelike as _;
use expectrl::Expect as _;
use gonogo::engine::{Event, EventKind, Release};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::ui::state::UiState;
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A release of one local step, allowed only two days from now (never now, even at midnight).
fn outside_its_window(dir: &std::path::Path) -> std::path::PathBuf {
    let day = (chrono::Local::now().weekday().num_days_from_monday() + 2) % 7;
    let profile = format!(
        "version = 1\n[release]\nname = \"window-cockpit-{}\"\nenvironment = \"staging\"\n\n[policy]\nwindows = [\"{} 00:00-24:00\"]\n\n[targets.here]\ntransport = \"local\"\n\n[[step]]\nrun = \"touch {}\"\non = \"here\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n",
        std::process::id(),
        DAYS[day as usize],
        dir.join("ran").display()
    );
    std::fs::write(dir.join("release.toml"), profile).expect("write profile");
    dir.join("ran")
}

fn cockpit_in_a_terminal(dir: &std::path::Path) -> expectrl::session::OsSession {
    let bin = env!("CARGO_BIN_EXE_gonogo");
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "stty cols 100 rows 30; {bin} run release.toml; echo \"EXIT=$?\""
        ))
        .current_dir(dir)
        .env("TERM", "xterm-256color")
        .env("XDG_DATA_HOME", dir.join("data"))
        .env_remove("SSH_AUTH_SOCK");
    let mut session = expectrl::session::Session::spawn(command).expect("spawn in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session
}

#[test]
fn outside_every_window_an_empty_reason_refuses_before_the_cockpit_starts() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = outside_its_window(work.path());
    let mut term = cockpit_in_a_terminal(work.path());
    term.expect("is released only in its release windows (")
        .expect("the windows are named");
    term.expect("give the reason (it is recorded; empty refuses): ")
        .expect("asked for a reason");
    term.send_line("").expect("answer");
    term.expect("refused: no reason given; nothing ran")
        .expect("refused");
    term.expect("EXIT=4").expect("exit code 4");
    assert!(!marker.exists());
}

#[test]
fn outside_every_window_a_reason_given_on_the_terminal_lets_the_cockpit_start() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = outside_its_window(work.path());
    let mut term = cockpit_in_a_terminal(work.path());
    term.expect("empty refuses): ").expect("asked for a reason");
    term.send_line("INC-7: checkout down, approved by ana")
        .expect("answer");
    term.expect("RELEASED")
        .expect("the cockpit ran the release");
    term.send("q").expect("quit");
    term.expect("EXIT=0").expect("exit code 0");
    assert!(marker.exists());
}

fn started(text: &str) -> Release {
    let (p, diags) = profile::load(&Source::new("t.toml", text.to_string()));
    let p = p.unwrap_or_else(|| panic!("{diags:?}"));
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let mut release = Release::default();
    let plan = profile::release_plan(&p, &vars);
    let kind = EventKind::Started {
        session: "s1".into(),
        operator: "ana".into(),
        plan: Box::new(plan),
    };
    release.apply(&Event::new(1_790_000_000_000, kind));
    release
}

fn screen(release: &Release, ui: &UiState, now: u64) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    terminal
        .draw(|f| gonogo::ui::draw(f, release, ui, &Theme { color: false }, now))
        .expect("draw");
    terminal.backend().to_string()
}

#[test]
fn the_output_pane_names_what_is_not_acted_on_until_output_comes() {
    let text = "version = 1\n[release]\nname = \"r\"\nenvironment = \"staging\"\n[targets.web-1]\nhost = \"h\"\n[[step]]\nrun = \"true\"\non = \"web-1\"\n";
    let (p, _) = profile::load(&Source::new("t.toml", text.to_string()));
    let release = started(text);
    // Every part of a profile is acted on today; a part still to come would be named so.
    assert!(gonogo::launch::preflight::not_acted_on(&p.expect("valid")).is_empty());
    let ui = UiState {
        notes: vec!["[later] is not acted on yet: it comes with a later release".into()],
        ..UiState::default()
    };
    let shown = screen(&release, &ui, release.now);
    assert!(
        shown.contains("note: [later] is not acted on yet: it comes"),
        "{shown}"
    );
}

#[test]
fn a_dropped_link_reads_ssh_down_with_how_long_not_a_host_state() {
    let text = "version = 1\n[release]\nname = \"r\"\nenvironment = \"staging\"\n[targets.web-1]\nhost = \"h\"\n[[step]]\nrun = \"true\"\non = \"web-1\"\n";
    let mut release = started(text);
    let t0 = release.now;
    for kind in [
        EventKind::Connected {
            target: "web-1".into(),
        },
        EventKind::LockTaken {
            target: "web-1".into(),
        },
        EventKind::ConnectionLost {
            target: "web-1".into(),
            error: "connection lost".into(),
        },
    ] {
        release.apply(&Event::new(t0, kind));
    }
    let shown = screen(&release, &UiState::default(), t0 + 12_000);
    assert!(
        shown.contains("◌ web-1     ssh down 12.0s, reconnecting"),
        "{shown}"
    );
    assert!(shown.contains("connected 0/1"), "{shown}");
}

#[test]
fn a_notification_not_delivered_is_shown_in_the_health_pane_and_the_summary() {
    let text = "version = 1\n[release]\nname = \"r\"\nenvironment = \"staging\"\n[targets.web-1]\nhost = \"h\"\n[[step]]\nrun = \"true\"\non = \"web-1\"\n";
    let mut release = started(text);
    for message in ["release started", "gate \"Deploy?\": go"] {
        let kind = EventKind::NotifyFailed {
            message: message.into(),
            error: "the webhook answered 500 Internal Server Error".into(),
            attempts: 3,
        };
        release.apply(&Event::new(release.now + 1000, kind));
    }
    let shown = screen(&release, &UiState::default(), release.now);
    assert!(
        shown.contains("✉ notify: 2 not delivered, last "),
        "{shown}"
    );
    // Wrapped under its mark, not cut at the pane's edge: the whole error is read.
    assert!(shown.contains(": the webhook"), "{shown}");
    assert!(
        shown.contains("answered 500 Internal Server Error"),
        "{shown}"
    );
    let summary = gonogo::summary::lines(&release, None);
    assert!(
        summary.contains(
            &"   notify: 2 messages not delivered; last: gate \"Deploy?\": go: the webhook answered 500 Internal Server Error"
                .to_string()
        ),
        "{summary:#?}"
    );
}
