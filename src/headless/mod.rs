//! `gonogo run --headless`: one line per event that matters, questions answered on stdin.

use std::io::Write as _;

use crate::engine::{
    Actor, Decision, Event, EventKind, Question, Release, Stage, StepList, Stream,
};
use crate::narrate::{self, Seen};
use crate::runtime::{Frontend, Input};

mod answer;
pub mod ci;
mod logs;
mod progress;
mod questions;
mod starts;
mod told;
use crate::text::printable;
use answer::parse_answer;
pub use answer::read_stdin;

/// A demo scenario's answer to the open question, as it would be typed (`retry`, `rollback`).
pub type Rehearsal = Box<dyn FnMut(&Release) -> Option<&'static str>>;

pub struct Headless {
    /// Stdout; under GitHub Actions it neutralises every line that is not gonogo's command.
    out: ci::Out,
    /// The step whose output a `::group::` folds (GitHub Actions).
    group: Option<(StepList, usize)>,
    /// `--yes`: answer go / done to gates and manual items (never to failures).
    yes: bool,
    /// `gonogo demo --headless --yes`: the rehearsal's own answer to the question open, if any.
    rehearsal: Option<Rehearsal>,
    stdin_closed: bool,
    /// Answers typed ahead of their question (piped stdin): used in order as questions come.
    typed_ahead: std::collections::VecDeque<String>,
    operator: String,
    shown_step: Option<(StepList, usize)>,
    shown_watch: bool,
    /// The end was said (the CI annotation of the outcome).
    shown_outcome: bool,
    /// The session's secrets: masked in every line typed, before it is echoed or kept.
    mask: Option<std::sync::Arc<crate::transport::lines::Redactor>>,
    /// GitHub Actions, outside a step's group: the log lines of this minute fold in a group of
    /// their own (its minute, and how many lines it holds).
    log_group: Option<(u64, u64)>,
    /// The wait for the baseline was said to begin (and not yet to end).
    shown_baseline: bool,
    /// When the watch's (or a long step's) last status line was printed.
    status_at: Option<crate::engine::Millis>,
    /// Attempts whose start was printed: (list, step, target, attempt).
    shown_starts: std::collections::HashSet<(StepList, usize, String, u32)>,
    /// The release as it stood after the last event shown: what the narrator compares with.
    seen: Option<Seen>,
    /// What the profile asks that this run does not do yet, printed at start.
    notes: Vec<String>,
    /// The loop's clock as last heard (events and flushes): headless reads none of its own.
    now: crate::engine::Millis,
    /// When gonogo last printed something, for the heartbeat.
    quiet_since: crate::engine::Millis,
    /// Silence, in ms, after which a heartbeat line is printed.
    heartbeat: u64,
    /// The time prefix for the current second.
    stamp: (u64, std::rc::Rc<str>),
    /// Answers are typed by a person at a terminal: one typed before its question is refused,
    /// not kept for the next question (a `go` typed while a step runs approves no gate).
    typing: bool,
}

impl Headless {
    pub fn new(operator: &str, yes: bool) -> Self {
        Headless {
            out: ci::Out::new(false),
            group: None,
            yes,
            rehearsal: None,
            stdin_closed: false,
            typed_ahead: std::collections::VecDeque::new(),
            operator: operator.to_string(),
            shown_step: None,
            shown_watch: false,
            shown_outcome: false,
            status_at: None,
            shown_baseline: false,
            log_group: None,
            mask: None,
            shown_starts: std::collections::HashSet::new(),
            seen: None,
            notes: Vec::new(),
            typing: false,
            now: 0,
            quiet_since: 0,
            heartbeat: progress::heartbeat_ms(),
            stamp: (u64::MAX, std::rc::Rc::from("")),
        }
    }

    /// Stdin is a terminal: answers count only for the question on screen.
    pub fn typed_at_a_terminal(mut self, typing: bool) -> Self {
        self.typing = typing;
        self
    }

    /// Runs as a GitHub Actions step: groups, error annotations, and no line a host can turn
    /// into a workflow command.
    pub fn in_github_actions(mut self, ci: bool) -> Self {
        self.out = ci::Out::new(ci);
        self
    }

    /// `gonogo demo`'s scenario answers the failures it stages (with `--yes` only).
    pub fn rehearsing(mut self, rehearsal: Rehearsal) -> Self {
        self.rehearsal = Some(rehearsal);
        self
    }

    /// Masks the session's secrets in what is typed on stdin.
    pub fn masking(mut self, mask: std::sync::Arc<crate::transport::lines::Redactor>) -> Self {
        self.mask = Some(mask);
        self
    }

    /// Lines printed right after the start line: `gonogo: note: …`.
    pub fn with_notes(mut self, notes: Vec<String>) -> Self {
        self.notes = notes;
        self
    }

    fn line(&mut self, text: impl AsRef<str>) {
        // gonogo's own lines stay outside the folded log lines.
        self.close_log_group();
        let stamp = self.stamp();
        let _ = writeln!(self.out, "{stamp}{}", text.as_ref());
    }

    /// Many lines of output, each after its time and `lead`, made printable. Written piece by
    /// piece: a million lines go through here, and formatting each costs more than the rest.
    fn lines_after(&mut self, lead: &str, lines: &[String]) {
        let stamp = self.stamp();
        for line in lines {
            let _ = self.out.write_all(stamp.as_bytes());
            let _ = self.out.write_all(lead.as_bytes());
            let _ = self.out.write_all(printable(line).as_bytes());
            let _ = self.out.write_all(b"\n");
        }
    }

    fn decided(&self, decision: Decision, note: Option<String>) -> EventKind {
        self.decided_as(Actor::Person, decision, note)
    }

    fn decided_as(&self, actor: Actor, decision: Decision, note: Option<String>) -> EventKind {
        EventKind::Decided {
            by: self.operator.clone(),
            decision,
            note,
            actor,
        }
    }
}

impl Frontend for Headless {
    fn show(&mut self, event: &Event, release: &Release) {
        self.now = self.now.max(event.at);
        self.quiet_since = self.now;
        match &event.kind {
            EventKind::Started {
                session,
                operator,
                plan,
            } => self.started(session, operator, plan),
            EventKind::Output { run, stream, lines } => {
                // Lines were cleaned where they were read; an event from elsewhere (a journal,
                // a follower) is made printable here all the same. Plain lines are not copied.
                let mark = if *stream == Stream::Stderr {
                    "]! "
                } else {
                    "] "
                };
                let lead = format!("[{}{mark}", printable(&run.target));
                self.lines_after(&lead, lines);
            }
            kind @ EventKind::LogLines { .. } => self.show_logs(kind),
            EventKind::JournalFailed { .. } => self.journal_failed(release),
            _ => {}
        }
        if narrate::changes_state(event) {
            // The state before this event is the one after the last: the first event of a
            // resumed session has none before it that headless saw.
            let before = self.seen.take().unwrap_or_else(|| Seen::of(release));
            for told in narrate::tell(event, &before, release) {
                self.say(&told, release);
            }
            self.seen = Some(Seen::of(release));
        }
        self.show_progress(release);
        self.show_starts(release);
        // A question or the end is read outside the folded output.
        if release.question.is_some() || release.outcome.is_some() {
            self.close_group();
        }
    }

    fn input(
        &mut self,
        input: Input,
        release: &Release,
        _now: crate::engine::Millis,
    ) -> Option<EventKind> {
        let line = match input {
            Input::Key(_)
            | Input::Resize
            | Input::Tick
            | Input::Terminate(_)
            | Input::Vote(_)
            | Input::ShellEnded { .. } => return None,
            Input::Asked => return self.asked(release),
            Input::Interrupt => {
                self.line("interrupted: aborting (nothing more runs; locks are released)");
                return Some(self.decided(Decision::Abort, Some("Ctrl-C".into())));
            }
            Input::Closed => {
                self.stdin_closed = true;
                let waits_for_auto =
                    matches!(release.question, Some(Question::RollbackProposal { .. }))
                        && release.watch.auto_rollback_at.is_some();
                if waits_for_auto {
                    self.line(
                        "stdin closed: auto_rollback decides the open proposal when it is due",
                    );
                } else if release.resuming {
                    // The question comes again once the locks are confirmed: answered then.
                } else if release.question.is_some() && self.typed_ahead.is_empty() {
                    if self.yes {
                        return self.asked(release);
                    }
                    return self.unattended(release, "stdin closed while a question is open");
                }
                return None;
            }
            Input::Line(line) => match &self.mask {
                Some(mask) => mask.mask(line),
                None => line,
            },
        };
        // Abort acts at once; rollback too once the release is under way. Anything else typed
        // before its question (piped answers) waits for it.
        let under_way = matches!(
            release.stage,
            Stage::Running { .. } | Stage::Watching { .. }
        );
        let now = line.trim() == "abort"
            || (line.trim() == "rollback" && under_way)
            || (line.trim().starts_with("skip-baseline") && release.baseline_wait.is_some());
        if release.question.is_none() && !now && !matches!(release.stage, Stage::Watching { .. }) {
            if self.typing {
                if !line.trim().is_empty() {
                    self.line(format!(
                        "`{}` not kept: nothing is asked now; answer when the question comes (abort works any time)",
                        printable(line.trim())
                    ));
                }
                return None;
            }
            self.typed_ahead.push_back(line);
            return None;
        }
        self.answer(&line, release)
    }

    fn flush(&mut self, release: &Release, now: crate::engine::Millis) {
        self.now = self.now.max(now);
        // The first change waits for the baseline: said once when it begins, once when it ends.
        match (&release.baseline_wait, self.shown_baseline) {
            (Some(_), false) => {
                self.shown_baseline = true;
                let progress = release
                    .baseline_progress()
                    .map(|p| p.words())
                    .unwrap_or_default();
                self.line(format!(
                    "...  before the first change, waiting for the baseline: {progress} (skip-baseline REASON starts now)"
                ));
            }
            (None, true) => {
                self.shown_baseline = false;
                let said = match &release.baseline_short {
                    Some(why) => format!("...  baseline incomplete: {}", printable(why)),
                    None => format!(
                        "ok   {}",
                        release
                            .baseline_progress()
                            .map(|p| p.words())
                            .unwrap_or_else(|| "baseline taken".into())
                    ),
                };
                self.line(said);
            }
            _ => {}
        }
        if release.is_finished() && !self.shown_outcome {
            self.shown_outcome = true;
            self.ended(release);
        }
        self.heartbeat(release);
        let _ = self.out.flush();
    }
}

impl Headless {
    /// The first line: what is released where, the session and who runs it; then the notes.
    fn started(&mut self, session: &str, operator: &str, plan: &crate::engine::plan::ReleasePlan) {
        let version = plan
            .version
            .as_deref()
            .map_or(String::new(), |v| format!(" {}", printable(v)));
        let window = plan.window_override.as_deref().map_or(String::new(), |r| {
            format!(", outside the release windows: {}", printable(r))
        });
        self.line(format!(
            "gonogo: release {}{version} to {} (session {}, {}{window})",
            printable(&plan.release),
            printable(&plan.environment),
            printable(session),
            printable(operator)
        ));
        if let Some(rehearsal) = &plan.rehearsal {
            self.line(format!("gonogo: {}", printable(rehearsal)));
        }
        for note in std::mem::take(&mut self.notes) {
            self.line(format!("gonogo: note: {note}"));
        }
    }

    /// An answer to the open question, or a word on why it is not one.
    fn answer(&mut self, line: &str, release: &Release) -> Option<EventKind> {
        let (answer, note) = match line.split_once(" -- ") {
            Some((a, n)) => (a.trim(), Some(n.trim().to_string())),
            None => (line.trim(), None),
        };
        if answer.is_empty() {
            return None;
        }
        match parse_answer(answer, release, &self.operator) {
            Ok(decision) => Some(self.decided(decision, note)),
            Err(why) => {
                self.line(why.to_string());
                let _ = self.out.flush();
                None
            }
        }
    }
}
