//! The hosts' logs as the release sees them: the lines its log tails read, which of them are
//! errors (each tail's `errors` pattern), errors per target per minute (the `log_errors`
//! signal), error signatures new since the deploy, and how each tail stands (up, down,
//! how many lines it had to drop). Tails start once the locks are taken and stop when the
//! outcome is known, so the watch window has its logs.
//!
//! A stack trace is one error, not one per line: each tail's lines on each target go
//! through a [`Grouper`] (see `engine::trace`), and an error is counted and signed once the
//! grouper has judged it: at once inside a chunk of lines, else when the next line comes or
//! [`SETTLE_MS`](super::trace::SETTLE_MS) later (a `logs_settle` timer makes sure an event
//! comes then).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use regex::Regex;

use super::event::{Effect, Millis, Timer};
use super::plan::{ReleasePlan, StepKind};
use super::release::Release;
use super::trace::{Grouper, Judged, LineRef};

/// Log lines kept for the cockpit; older lines are dropped (the journal keeps them all).
pub const LOG_LINES_KEPT: usize = 10_000;

const SECOND_MS: Millis = 1_000;
/// `log_errors` counts the lines of this many seconds, sliding.
const WINDOW_S: u64 = 60;

/// Everything the release knows about its log tails.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Logs {
    /// The last [`LOG_LINES_KEPT`] lines of every tail, with the tails' own marks
    /// (drops, gaps) between them, oldest first.
    pub lines: super::scrollback::Scrollback<LogLine>,
    /// Lines dropped from `lines` so far, so views can number lines stably.
    pub dropped: u64,
    /// One per tail per target, in plan order.
    pub tails: Vec<TailState>,
    /// Whether the drivers were asked to start the tails (and not yet to stop them).
    pub following: bool,
    /// Error lines per target, per second since the epoch: `(second, count)`, oldest first,
    /// for the last two minutes.
    errors: BTreeMap<String, VecDeque<(u64, u64)>>,
    /// Each tail's `errors` pattern, compiled once, in plan order (again from the plan when a
    /// snapshot is read back: [`Logs::compile`]).
    #[serde(skip)]
    patterns: Vec<Option<Regex>>,
    /// One per entry of `tails`: the lines it holds until it knows whether they are a
    /// stack trace.
    groupers: Vec<Grouper>,
    /// A `logs_settle` timer was asked for and has not fired yet.
    settle_timer: bool,
    /// Each target's last error (a line, or a trace's exception line), with when it came.
    last_errors: BTreeMap<String, (Millis, String)>,
}

/// One line of the logs pane.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogLine {
    pub at: Millis,
    /// Shared by the lines of one event.
    pub target: Arc<str>,
    pub tail: Arc<str>,
    pub line: String,
    /// Matched the tail's `errors` pattern.
    pub error: bool,
    pub mark: LogMark,
}

/// What a line of the logs pane is: read from a host, or the release's word about a tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LogMark {
    Read,
    /// Lines were dropped here because the tail outran gonogo.
    Dropped,
    /// The tail stopped reading (link lost, command ended).
    Down,
    /// The tail reads (again).
    Up,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TailState {
    pub name: String,
    pub target: String,
    pub status: TailStatus,
    /// Lines it read and the release got, so far.
    pub read: u64,
    /// Lines the tail had to drop so far.
    pub lost: u64,
    /// Times it went down.
    pub drops: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum TailStatus {
    /// Not started yet (the locks are being taken).
    #[default]
    Waiting,
    /// Asked to start; no line yet.
    Starting,
    Up {
        since: Millis,
    },
    Down {
        since: Millis,
        error: String,
    },
    /// Stopped at the end of the release.
    Stopped,
}

impl Logs {
    /// The tails of `plan`, none started; their patterns compiled once.
    pub(super) fn planned(plan: &ReleasePlan) -> Logs {
        let tails: Vec<TailState> = plan
            .logs
            .iter()
            .flat_map(|f| {
                f.targets.iter().map(|t| TailState {
                    name: f.name.clone(),
                    target: t.clone(),
                    status: TailStatus::Waiting,
                    read: 0,
                    lost: 0,
                    drops: 0,
                })
            })
            .collect();
        Logs {
            groupers: vec![Grouper::default(); tails.len()],
            tails,
            // The loader validated every pattern; one that fails here marks nothing.
            patterns: plan
                .logs
                .iter()
                .map(|f| f.errors.as_deref().and_then(|p| Regex::new(p).ok()))
                .collect(),
            ..Logs::default()
        }
    }

    /// Compiles the tails' patterns of `plan` again (a release read back from a snapshot).
    pub(super) fn compile(&mut self, plan: &ReleasePlan) {
        self.patterns = plan
            .logs
            .iter()
            .map(|f| f.errors.as_deref().and_then(|p| Regex::new(p).ok()))
            .collect();
    }

    /// Keeps `line`; once the pane is full, the oldest goes and hands back its text's buffer.
    fn push(&mut self, line: LogLine) -> Option<String> {
        let mut spare = None;
        if self.lines.len() == LOG_LINES_KEPT {
            self.lines
                .drop_oldest(|oldest| spare = Some(std::mem::take(&mut oldest.line)));
            self.dropped += 1;
        }
        self.lines.push_back(line);
        spare
    }

    fn tail_mut(&mut self, target: &str, tail: &str) -> Option<&mut TailState> {
        self.tails
            .iter_mut()
            .find(|f| f.target == target && f.name == tail)
    }

    fn tail_index(&self, target: &str, tail: &str) -> Option<usize> {
        self.tails
            .iter()
            .position(|f| f.target == target && f.name == tail)
    }

    /// The lines `first..=last` of `target`'s `tail` but `asides` are one error (a trace):
    /// the pane shows them all as error lines.
    fn mark_errors(&mut self, target: &str, tail: &str, first: u64, last: u64, asides: &[u64]) {
        let dropped = self.dropped;
        for seq in first.max(dropped)..=last {
            let Some(line) = usize::try_from(seq - dropped)
                .ok()
                .and_then(|i| self.lines.get_mut(i))
            else {
                break;
            };
            if line.mark == LogMark::Read
                && &*line.target == target
                && &*line.tail == tail
                && !asides.contains(&seq)
            {
                line.error = true;
            }
        }
    }

    /// When the groupers' oldest held lines are due to be judged.
    fn settle_due(&self) -> Option<Millis> {
        self.groupers.iter().filter_map(Grouper::due).min()
    }

    /// Each target's last error (a line, or a trace's exception line), oldest first.
    pub fn last_errors(&self) -> Vec<(&str, Millis, &str)> {
        let mut last: Vec<(&str, Millis, &str)> = self
            .last_errors
            .iter()
            .map(|(target, (at, text))| (target.as_str(), *at, text.as_str()))
            .collect();
        last.sort_by_key(|(target, at, _)| (*at, *target));
        last
    }

    fn count_error(&mut self, target: &str, at: Millis) {
        let second = at / SECOND_MS;
        let counts = self.errors.entry(target.to_string()).or_default();
        match counts.back_mut() {
            Some((s, n)) if *s == second => *n += 1,
            // A line stamped earlier than the last (a stack trace judged once it ended, events
            // from a journal) counts where it falls.
            Some((s, _)) if *s > second => {
                let at = counts.partition_point(|(s, _)| *s < second);
                match counts.get_mut(at) {
                    Some((s, n)) if *s == second => *n += 1,
                    _ => counts.insert(at, (second, 1)),
                }
            }
            _ => counts.push_back((second, 1)),
        }
        // Only the window is needed: a minute, and a minute more for late lines.
        while counts
            .front()
            .is_some_and(|(s, _)| second.saturating_sub(*s) > 2 * WINDOW_S)
        {
            counts.pop_front();
        }
    }

    /// Lines total (kept and dropped): stable numbers for "N new lines".
    pub fn seen(&self) -> u64 {
        self.dropped + self.lines.len() as u64
    }
}

impl Release {
    /// The release is under way: the tails start, before the first step.
    pub(super) fn follow_logs(&mut self, fx: &mut Vec<Effect>) {
        if self.logs.tails.is_empty() || self.logs.following {
            return;
        }
        self.logs.following = true;
        for f in &mut self.logs.tails {
            f.status = TailStatus::Starting;
        }
        fx.push(Effect::FollowLogs);
    }

    /// The outcome is known: the tails stop, leaving nothing on the hosts.
    pub(super) fn stop_following(&mut self, fx: &mut Vec<Effect>) {
        if !self.logs.following {
            return;
        }
        self.logs.following = false;
        self.settle_logs(None);
        for f in &mut self.logs.tails {
            f.status = TailStatus::Stopped;
        }
        fx.push(Effect::StopTails);
    }

    pub(super) fn log_lines(
        &mut self,
        target: &str,
        tail: &str,
        lines: &[String],
        fx: &mut Vec<Effect>,
    ) {
        let Some(index) = self.logs.tail_index(target, tail) else {
            return; // not a tail of this plan (a journal edited by hand)
        };
        self.logs.tails[index].read += lines.len() as u64;
        let now = self.now;
        let pattern = self
            .plan
            .logs
            .iter()
            .position(|f| f.name == tail)
            .and_then(|i| self.logs.patterns.get(i).cloned().flatten());
        let after_deploy = self.deploy_started();
        let (target, tail): (Arc<str>, Arc<str>) = (target.into(), tail.into());
        let mut spare = None;
        let mut judged = Vec::new();
        for line in lines {
            let error = pattern.as_ref().is_some_and(|p| p.is_match(line));
            let seq = self.logs.seen();
            spare = self.logs.push(LogLine {
                at: now,
                target: target.clone(),
                tail: tail.clone(),
                line: super::marks::copy_into(spare.take(), line),
                error,
                mark: LogMark::Read,
            });
            // A tail without `errors` judges nothing: its lines are only shown.
            if pattern.is_some() {
                let Logs {
                    lines: kept,
                    dropped,
                    groupers,
                    ..
                } = &mut self.logs;
                let text_of = |seq: u64| {
                    let i = usize::try_from(seq.checked_sub(*dropped)?).ok()?;
                    kept.get(i).map(|l| l.line.clone())
                };
                let read = LineRef {
                    seq,
                    at: now,
                    error,
                    after_deploy,
                };
                groupers[index].push(line, read, &text_of, &mut judged);
            }
        }
        self.judge(index, judged);
        if self.logs.following && !self.is_finished() {
            self.arm_settle(fx);
        } else {
            // Nothing more is coming: nothing waits.
            self.settle_logs(None);
        }
    }

    /// Counts and signs what a grouper judged to be errors.
    fn judge(&mut self, index: usize, judged: Vec<Judged>) {
        if judged.is_empty() {
            return;
        }
        let (target, tail) = match self.logs.tails.get(index) {
            Some(f) => (f.target.clone(), f.name.clone()),
            None => return,
        };
        for j in judged {
            match j {
                Judged::Line { line, text } => {
                    self.one_error(&target, line.at, line.after_deploy, text);
                }
                Judged::Trace(t) if t.error => {
                    self.logs
                        .mark_errors(&target, &tail, t.first.seq, t.last_seq, &t.asides);
                    self.one_error(&target, t.first.at, t.first.after_deploy, t.exception);
                }
                Judged::Trace(_) => {}
            }
        }
    }

    fn one_error(&mut self, target: &str, at: Millis, after_deploy: bool, text: String) {
        self.logs.count_error(target, at);
        self.signatures.record(&text, at, after_deploy, target);
        self.logs.last_errors.insert(target.to_string(), (at, text));
    }

    /// Judges what the groupers hold that is due by `by`: every held line with `None` (the
    /// tails stopped, the session resumed).
    pub(super) fn settle_logs(&mut self, by: Option<Millis>) {
        for index in 0..self.logs.groupers.len() {
            let due = self.logs.groupers[index].due();
            if due.is_some_and(|due| by.is_none_or(|now| due <= now)) {
                let mut judged = Vec::new();
                self.logs.groupers[index].flush(&mut judged);
                self.judge(index, judged);
            }
        }
    }

    /// Judges what one tail's grouper holds: its stream broke (down, lines lost).
    fn settle_tail(&mut self, target: &str, tail: &str) {
        if let Some(index) = self.logs.tail_index(target, tail) {
            let mut judged = Vec::new();
            self.logs.groupers[index].flush(&mut judged);
            self.judge(index, judged);
        }
    }

    /// Asks for a `logs_settle` timer when lines wait for judgement and none is pending.
    fn arm_settle(&mut self, fx: &mut Vec<Effect>) {
        if self.logs.settle_timer {
            return;
        }
        if let Some(due) = self.logs.settle_due() {
            self.logs.settle_timer = true;
            fx.push(Effect::StartTimer {
                timer: Timer::LogsSettle,
                after_ms: due.saturating_sub(self.now).max(1),
            });
        }
    }

    /// The `logs_settle` timer: what is due is judged, the rules that read the logs move, and
    /// the timer is asked again for what still waits.
    pub(super) fn logs_settle_timer(&mut self, fx: &mut Vec<Effect>) {
        self.logs.settle_timer = false;
        self.settle_logs(Some(self.now));
        if self.logs.following && !self.is_finished() {
            self.arm_settle(fx);
        }
        self.log_rules_move(fx);
    }

    /// `log_errors` and `new_errors` rules move with the lines.
    pub(super) fn log_rules_move(&mut self, fx: &mut Vec<Effect>) {
        use super::watch_rule::Signal;
        if self.plan.watch.as_ref().is_some_and(|w| {
            w.rollback_on
                .iter()
                .any(|r| matches!(r.signal, Signal::LogErrors | Signal::NewErrors))
        }) {
            self.evaluate_rules(super::watch::Fresh::Logs, fx);
        }
    }

    pub(super) fn logs_dropped(&mut self, target: &str, tail: &str, count: u64) {
        self.settle_tail(target, tail);
        let Some(f) = self.logs.tail_mut(target, tail) else {
            return;
        };
        f.lost += count;
        let text = format!("{count} lines dropped: they came faster than gonogo could show them");
        self.log_mark(target, tail, LogMark::Dropped, text);
    }

    pub(super) fn tail_down(&mut self, target: &str, tail: &str, error: &str) {
        self.settle_tail(target, tail);
        let now = self.now;
        let Some(f) = self.logs.tail_mut(target, tail) else {
            return;
        };
        if f.status == TailStatus::Stopped {
            return;
        }
        f.drops += 1;
        f.status = TailStatus::Down {
            since: now,
            error: error.to_string(),
        };
        let text = format!("log tail down: {error}");
        self.log_mark(target, tail, LogMark::Down, text);
    }

    pub(super) fn tail_up(&mut self, target: &str, tail: &str, gap_ms: Option<u64>) {
        self.settle_tail(target, tail);
        let now = self.now;
        let Some(f) = self.logs.tail_mut(target, tail) else {
            return;
        };
        if f.status == TailStatus::Stopped {
            return;
        }
        f.status = TailStatus::Up { since: now };
        let text = match gap_ms {
            None => "following".to_string(),
            Some(gap) => format!(
                "following again after a gap of {}",
                humantime::format_duration(std::time::Duration::from_secs(gap.div_ceil(1000)))
            ),
        };
        self.log_mark(target, tail, LogMark::Up, text);
    }

    fn log_mark(&mut self, target: &str, tail: &str, mark: LogMark, text: String) {
        self.logs.push(LogLine {
            at: self.now,
            target: target.into(),
            tail: tail.into(),
            line: text,
            error: false,
            mark,
        });
    }

    /// Whether the deploy has begun: a `run` step of the checklist started on some target.
    /// Error signatures first seen from then on are new.
    pub fn deploy_started(&self) -> bool {
        self.plan
            .steps
            .iter()
            .zip(&self.steps)
            .any(|(plan, state)| {
                plan.kind == StepKind::Run && state.targets.iter().any(|t| t.started_at.is_some())
            })
    }

    /// Error lines over the last 60 s, sliding by the second, up to `now`, on `target`, or on
    /// all targets together with `None` (the `log_errors` signal, per minute).
    pub fn log_errors_per_min(&self, target: Option<&str>, now: Millis) -> f64 {
        let now_s = now / SECOND_MS;
        let count: u64 = self
            .logs
            .errors
            .iter()
            .filter(|(t, _)| target.is_none_or(|want| want == t.as_str()))
            .flat_map(|(_, counts)| counts.iter())
            .filter(|(s, _)| *s <= now_s && now_s - *s < WINDOW_S)
            .map(|(_, n)| n)
            .sum();
        count as f64
    }
}
