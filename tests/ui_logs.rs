//! The cockpit's logs pane (`l`): the log tails' lines with `[target:tail]` in the target's
//! colour, error lines highlighted, drops and gaps shown, and follow, pause and the filters
//! working as in the output pane. TestBackend screens, insta snapshots and cell colours.

use gonogo::engine::{Event, EventKind, Release};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::ui::cockpit::Cockpit;
use gonogo::ui::state::{Pane, Source as Shown, UiState};
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

const PROFILE: &str = r#"version = 1
[release]
name = "acme-web"
environment = "staging"
version = "v1.2.1"

[targets.web-1]
host = "web-1.example.com"
roles = ["web"]
[targets.web-2]
host = "web-2.example.com"
roles = ["web"]

[logs.app]
on = "web"
command = "journalctl -u gunicorn -f -n 0 --no-pager"
errors = '(ERROR|Traceback)'

[[step]]
name = "Restart app servers"
run = "sudo systemctl restart gunicorn"
on = "web"
serial = 1
"#;

/// Started, connected, locked (the tails start), both tails up.
fn following() -> Release {
    let (p, diags) = profile::load(&Source::new("t.toml", PROFILE));
    let p = p.unwrap_or_else(|| panic!("{diags:?}"));
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let mut release = Release::default();
    let mut at = 1_790_000_000_000;
    let mut send = |kind| {
        at += 1500;
        release.apply(&Event::new(at, kind));
    };
    send(EventKind::Started {
        session: "s1".into(),
        operator: "ana".into(),
        plan: Box::new(profile::release_plan(&p, &vars)),
    });
    for t in ["web-1", "web-2"] {
        send(EventKind::Connected { target: t.into() });
    }
    for t in ["web-1", "web-2"] {
        send(EventKind::LockTaken { target: t.into() });
    }
    for t in ["web-1", "web-2"] {
        send(EventKind::TailUp {
            target: t.into(),
            tail: "app".into(),
            gap_ms: None,
        });
    }
    let lines = |target: &str, lines: &[&str]| EventKind::LogLines {
        target: target.into(),
        tail: "app".into(),
        lines: lines.iter().map(|l| l.to_string()).collect(),
    };
    send(lines(
        "web-1",
        &["Booting worker with pid: 4121", "GET /health 200 3ms"],
    ));
    send(lines("web-2", &["GET /health 200 4ms"]));
    send(lines(
        "web-1",
        &[
            "ERROR relation \"orders\" does not exist",
            "GET /cart 500 12ms",
        ],
    ));
    send(EventKind::LogsDropped {
        target: "web-2".into(),
        tail: "app".into(),
        count: 1240,
    });
    send(EventKind::TailDown {
        target: "web-2".into(),
        tail: "app".into(),
        error: "the connection dropped".into(),
    });
    send(EventKind::TailUp {
        target: "web-2".into(),
        tail: "app".into(),
        gap_ms: Some(3_400),
    });
    send(lines("web-2", &["GET /health 200 5ms"]));
    release
}

fn logs_ui() -> UiState {
    let mut ui = UiState {
        source: Shown::Logs,
        focus: Pane::Output,
        ..UiState::default()
    };
    ui.sync_cursor(&following());
    ui
}

fn draw(release: &Release, ui: &UiState) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    terminal
        .draw(|f| gonogo::ui::draw(f, release, ui, &Theme { color: true }, release.now + 700))
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    let width = buffer.area.width as usize;
    buffer
        .content
        .chunks(width)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where `needle` starts on screen: (column, row).
fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let text = text(buffer);
    for (y, row) in text.lines().enumerate() {
        if let Some(byte) = row.find(needle) {
            let x = row[..byte].chars().count();
            return (x as u16, y as u16);
        }
    }
    panic!("{needle:?} not on screen:\n{text}");
}

#[test]
fn logs_pane_80x24() {
    let release = following();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    terminal
        .draw(|f| {
            gonogo::ui::draw(
                f,
                &release,
                &logs_ui(),
                &Theme { color: true },
                release.now + 700,
            )
        })
        .expect("draw");
    insta::assert_snapshot!("logs_80x24", terminal.backend().to_string());
}

#[test]
fn error_lines_are_highlighted_and_each_prefix_has_its_target_colour() {
    let release = following();
    let buffer = draw(&release, &logs_ui());
    let (x, y) = find(&buffer, "ERROR relation");
    assert_eq!(buffer[(x, y)].fg, Color::Red, "the error line");
    let (x, y) = find(&buffer, "GET /cart 500");
    assert_eq!(
        buffer[(x, y)].fg,
        Color::Reset,
        "not an error by the pattern"
    );
    let (x, y) = find(&buffer, "[web-1:app] Booting");
    let (x2, y2) = find(&buffer, "[web-2:app] GET /health 200 4ms");
    assert_ne!(
        buffer[(x + 1, y)].fg,
        buffer[(x2 + 1, y2)].fg,
        "each target its colour"
    );
    let (x, y) = find(&buffer, "1240 lines dropped");
    assert_eq!(buffer[(x, y)].fg, Color::Yellow);
}

#[test]
fn the_target_and_regex_filters_and_a_pause_work_on_the_logs() {
    let release = following();
    let mut ui = logs_ui();
    ui.target = Some("web-2".into());
    let shown = text(&draw(&release, &ui));
    assert!(shown.contains("GET /health 200 5ms"), "{shown}");
    assert!(!shown.contains("[web-1:app]"), "{shown}");
    ui.target = None;
    ui.filter = Some(regex::Regex::new("ERROR").expect("regex"));
    let shown = text(&draw(&release, &ui));
    assert!(shown.contains("ERROR relation"), "{shown}");
    assert!(!shown.contains("GET /health"), "{shown}");
    ui.filter = None;
    ui.pause_follow(&release);
    assert_eq!(
        ui.paused_at,
        release.logs.seen(),
        "counts log lines, not output"
    );
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn l_switches_to_the_logs_and_back() {
    let release = following();
    let mut cockpit = Cockpit::new(
        Terminal::new(TestBackend::new(80, 24)).expect("terminal"),
        "ana",
        Theme { color: false },
    );
    cockpit.ui.sync_question(&release);
    cockpit.key(key(KeyCode::Char('l')), &release);
    assert_eq!(cockpit.ui.source, Shown::Logs);
    let shown = text(&draw(&release, &cockpit.ui));
    assert!(shown.contains("[web-1:app] ERROR relation"), "{shown}");
    cockpit.key(key(KeyCode::Char('l')), &release);
    assert_eq!(cockpit.ui.source, Shown::Steps);
}

#[test]
fn a_profile_without_log_tails_says_so() {
    let release = Release::default();
    let shown = text(&draw(&release, &logs_ui()));
    assert!(shown.contains("No log tails ([logs.*])"), "{shown}");
}
