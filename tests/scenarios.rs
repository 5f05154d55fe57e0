//! Recorded sessions and what they came to: each `tests/scenarios/NAME.jsonl` is a journal (a
//! real session, or one cut down by hand) and `NAME.expect.toml` the end state a person checked:
//! the outcome, each step's status, the interruptions, what the report's headline says. A new
//! case (a rule, a bug report's journal) is a new pair of files, not new Rust.
//!
//! Every journal is also played to its end by `gonogo replay`'s player, which must reach the
//! very same release as the fold a resume and the report use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// `released`, `aborted`, `rolled_back`…; absent for a session that never ended.
    outcome: Option<String>,
    /// Step name → status (`passed`, `failed`, `rolled_back`, `skipped`, `pending`…).
    #[serde(default)]
    steps: BTreeMap<String, String>,
    /// Rollback step name → status.
    #[serde(default)]
    rollback: BTreeMap<String, String>,
    #[serde(default)]
    interruptions: usize,
    /// Words the Markdown report's headline (its first paragraph) holds.
    #[serde(default)]
    headline: Vec<String>,
}

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no scenario in {}", dir.display());
    paths
}

fn word<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Each step's status by name (`#N` after a name seen twice).
fn statuses(
    plan: &[gonogo::engine::plan::PlannedStep],
    states: &[gonogo::engine::release::StepState],
) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    for (step, state) in plan.iter().zip(states) {
        let mut name = step.name.clone();
        let mut n = 1;
        while seen.contains_key(&name) {
            n += 1;
            name = format!("{} #{n}", step.name);
        }
        seen.insert(name, word(&state.status));
    }
    seen
}

#[test]
fn every_recorded_session_comes_to_the_end_state_a_person_checked() {
    let mut failed = Vec::new();
    for path in scenarios() {
        let shown = path.file_name().unwrap().to_string_lossy().into_owned();
        let expect_path = path.with_extension("expect.toml");
        let text = std::fs::read_to_string(&expect_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expect_path.display()));
        let expect: Expect =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", expect_path.display()));
        let journal = gonogo::journal::read(&path).unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert!(
            journal.warnings.is_empty(),
            "{shown}: {:?}",
            journal.warnings
        );
        let release = gonogo::launch::resume::rebuild(journal.events());
        let outcome = release.outcome.as_ref().map(word);
        let steps = statuses(&release.plan.steps, &release.steps);
        let rollback = statuses(&release.plan.rollback, &release.rollback);
        let mut wrong = Vec::new();
        if outcome != expect.outcome {
            wrong.push(format!(
                "outcome {outcome:?}, expected {:?}",
                expect.outcome
            ));
        }
        for (name, status) in &expect.steps {
            if steps.get(name) != Some(status) {
                wrong.push(format!(
                    "step {name:?}: {:?}, expected {status:?}",
                    steps.get(name)
                ));
            }
        }
        for (name, status) in &expect.rollback {
            if rollback.get(name) != Some(status) {
                wrong.push(format!(
                    "rollback {name:?}: {:?}, expected {status:?}",
                    rollback.get(name)
                ));
            }
        }
        if release.interruptions.len() != expect.interruptions {
            wrong.push(format!(
                "{} interruptions, expected {}",
                release.interruptions.len(),
                expect.interruptions
            ));
        }
        let report = std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
            .arg("report")
            .arg(&path)
            .output()
            .expect("gonogo report");
        let markdown = String::from_utf8_lossy(&report.stdout);
        let headline = markdown.split("\n\n").nth(1).unwrap_or_default();
        for words in &expect.headline {
            if !headline.contains(words.as_str()) {
                wrong.push(format!("headline {headline:?} does not say {words:?}"));
            }
        }
        if !wrong.is_empty() {
            failed.push(format!(
                "{shown}:\n  {}\n  (steps: {steps:?}; rollback: {rollback:?})",
                wrong.join("\n  ")
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn replay_plays_every_recorded_session_to_the_same_release_as_the_fold() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for path in scenarios() {
        let shown = path.display();
        let journal = gonogo::journal::read(&path).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let folded = gonogo::launch::resume::rebuild(journal.events());
        let mut replay = replaying(&rt, journal);
        let end = replay.player().end();
        replay.player().seek(end);
        assert!(replay.player().at_end(), "{shown}");
        let mut records = replay.player().take();
        let played = rt.block_on(gonogo::replay::play_records(&mut replay, records.clone()));
        assert_eq!(
            format!("{played:?}"),
            format!("{folded:?}"),
            "{shown}: the replay's end is not the fold's"
        );
        // And back to the start, then to the end again: the same release.
        replay.player().seek(0);
        replay.player().seek(end);
        records.extend(replay.player().take());
        let played = rt.block_on(gonogo::replay::play_records(&mut replay, records));
        assert_eq!(format!("{played:?}"), format!("{folded:?}"), "{shown}");
    }
}

/// A replay of `journal` on an 80×25 test terminal (the last row its bar).
fn replaying(
    rt: &tokio::runtime::Runtime,
    journal: gonogo::journal::Journal,
) -> gonogo::replay::Replaying<ratatui::backend::TestBackend> {
    let player = rt.block_on(gonogo::replay::Player::index(journal));
    let terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 25)).expect("terminal");
    let theme = gonogo::ui::theme::Theme { color: false };
    gonogo::replay::Replaying::new(
        terminal,
        std::sync::Arc::new(std::sync::Mutex::new(player)),
        theme,
    )
}

/// A front end that only counts what it was shown.
#[derive(Default)]
struct Shown(usize);

impl gonogo::runtime::Frontend for Shown {
    fn show(&mut self, _event: &gonogo::engine::Event, _release: &gonogo::engine::Release) {
        self.0 += 1;
    }

    fn input(
        &mut self,
        _input: gonogo::runtime::Input,
        _release: &gonogo::engine::Release,
        _now: gonogo::engine::Millis,
    ) -> Option<gonogo::engine::EventKind> {
        None
    }

    fn flush(&mut self, _release: &gonogo::engine::Release, _now: gonogo::engine::Millis) {}
}

#[test]
fn the_loop_with_drivers_off_plays_every_recorded_session_to_the_fold() {
    use gonogo::runtime::{self, Clock, Record, Source};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for path in scenarios() {
        let shown = path.display();
        let journal = gonogo::journal::read(&path).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let folded = gonogo::launch::resume::rebuild(journal.events());
        let events = journal.events().count();
        let (records_tx, records) = tokio::sync::mpsc::channel(journal.lines.len() + 2);
        // A reset first: what came before it is forgotten.
        let started = journal.events().next().cloned().expect("a first event");
        let early = gonogo::journal::Line {
            seq: 0,
            t: 0,
            actor: None,
            entry: gonogo::journal::Entry::Event(started),
        };
        records_tx
            .try_send(Record::Line(std::sync::Arc::new(early)))
            .expect("room");
        records_tx.try_send(runtime::Rewind::start()).expect("room");
        for line in journal.lines {
            records_tx
                .try_send(Record::Line(std::sync::Arc::new(line)))
                .expect("room");
        }
        drop(records_tx);
        let (_inputs_tx, inputs) = tokio::sync::mpsc::channel(1);
        let mut frontend = Shown::default();
        let drivers = gonogo::drivers::DriversOff::default();
        let source = Source::Recorded { records, inputs };
        let release = rt.block_on(runtime::play(
            drivers,
            &mut frontend,
            source,
            Clock::recorded(),
        ));
        assert_eq!(
            format!("{release:?}"),
            format!("{folded:?}"),
            "{shown}: the loop's end is not the fold's"
        );
        assert_eq!(frontend.0, events + 1, "{shown}: every event shown once");
    }
}

/// The last frame an operator would see at 80×24, drawn from a release as the UI draws it.
fn last_frame(release: &gonogo::engine::Release) -> String {
    let mut ui = gonogo::ui::state::UiState::default();
    ui.sync_question(release);
    ui.sync_cursor(release);
    let backend = ratatui::backend::TestBackend::new(80, 24);
    let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
    let theme = gonogo::ui::theme::Theme { color: false };
    terminal
        .draw(|f| gonogo::ui::draw(f, release, &ui, &theme, release.now))
        .expect("draw");
    terminal.backend().to_string()
}

#[test]
fn a_replay_played_to_its_end_shows_the_last_frame_the_fold_shows() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for path in scenarios() {
        let shown = path.display();
        let journal = gonogo::journal::read(&path).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let folded = gonogo::launch::resume::rebuild(journal.events());
        let mut replay = replaying(&rt, journal);
        let end = replay.player().end();
        replay.player().seek(end);
        let records = replay.player().take();
        let played = rt.block_on(gonogo::replay::play_records(&mut replay, records));
        assert_eq!(last_frame(&played), last_frame(&folded), "{shown}");
        // What the replay drew over its cockpit rows but the key line (the replay has its own
        // keys): the fold's last frame.
        let drawn = replay.backend().to_string();
        let cockpit: Vec<&str> = drawn.lines().take(23).collect();
        let expected = last_frame(&folded);
        assert_eq!(
            cockpit,
            expected.lines().take(23).collect::<Vec<_>>(),
            "{shown}: the replay's last frame is not the fold's"
        );
    }
}
