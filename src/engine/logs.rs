//! The hosts' logs as the release sees them: the lines its followers read, which of them are
//! errors (each follower's `errors` pattern), errors per target per minute (the `log_errors`
//! signal), error signatures new since the deploy, and how each follower stands (up, down,
//! how many lines it had to drop). Followers start once the locks are taken and stop when the
//! outcome is known, so the watch window has its logs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use regex::Regex;

use super::event::{Effect, Millis};
use super::plan::{ReleasePlan, StepKind};
use super::release::Release;

/// Log lines kept for the cockpit; older lines are dropped (the journal keeps them all).
pub const LOG_LINES_KEPT: usize = 10_000;

const SECOND_MS: Millis = 1_000;
/// `log_errors` counts the lines of this many seconds, sliding.
const WINDOW_S: u64 = 60;

/// Everything the release knows about its log followers.
#[derive(Debug, Clone, Default)]
pub struct Logs {
    /// The last [`LOG_LINES_KEPT`] lines of every follower, with the followers' own marks
    /// (drops, gaps) between them, oldest first.
    pub lines: VecDeque<LogLine>,
    /// Lines dropped from `lines` so far, so views can number lines stably.
    pub dropped: u64,
    /// One per follower per target, in plan order.
    pub followers: Vec<FollowerState>,
    /// Whether the drivers were asked to start the followers (and not yet to stop them).
    pub following: bool,
    /// Error lines per target, per second since the epoch: `(second, count)`, oldest first,
    /// for the last two minutes.
    errors: BTreeMap<String, VecDeque<(u64, u64)>>,
    /// Each follower's `errors` pattern, compiled once, in plan order.
    patterns: Vec<Option<Regex>>,
}

/// One line of the logs pane.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: Millis,
    /// Shared by the lines of one event.
    pub target: Arc<str>,
    pub follower: Arc<str>,
    pub line: String,
    /// Matched the follower's `errors` pattern.
    pub error: bool,
    pub mark: LogMark,
}

/// What a line of the logs pane is: read from a host, or the release's word about a follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMark {
    Read,
    /// Lines were dropped here because the follower outran gonogo.
    Dropped,
    /// The follower stopped reading (link lost, command ended).
    Down,
    /// The follower reads (again).
    Up,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerState {
    pub name: String,
    pub target: String,
    pub status: FollowerStatus,
    /// Lines it read and the release got, so far.
    pub read: u64,
    /// Lines the follower had to drop so far.
    pub lost: u64,
    /// Times it went down.
    pub drops: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FollowerStatus {
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
    /// The followers of `plan`, none started; their patterns compiled once.
    pub(super) fn planned(plan: &ReleasePlan) -> Logs {
        Logs {
            followers: plan
                .logs
                .iter()
                .flat_map(|f| {
                    f.targets.iter().map(|t| FollowerState {
                        name: f.name.clone(),
                        target: t.clone(),
                        status: FollowerStatus::Waiting,
                        read: 0,
                        lost: 0,
                        drops: 0,
                    })
                })
                .collect(),
            // The loader validated every pattern; one that fails here marks nothing.
            patterns: plan
                .logs
                .iter()
                .map(|f| f.errors.as_deref().and_then(|p| Regex::new(p).ok()))
                .collect(),
            ..Logs::default()
        }
    }

    /// Keeps `line`; once the pane is full, the oldest goes and hands back its text's buffer.
    fn push(&mut self, line: LogLine) -> Option<String> {
        let mut spare = None;
        if self.lines.len() == LOG_LINES_KEPT {
            spare = self.lines.pop_front().map(|oldest| oldest.line);
            self.dropped += 1;
        }
        self.lines.push_back(line);
        spare
    }

    fn follower_mut(&mut self, target: &str, follower: &str) -> Option<&mut FollowerState> {
        self.followers
            .iter_mut()
            .find(|f| f.target == target && f.name == follower)
    }

    fn count_error(&mut self, target: &str, at: Millis) {
        let second = at / SECOND_MS;
        let counts = self.errors.entry(target.to_string()).or_default();
        match counts.back_mut() {
            Some((s, n)) if *s == second => *n += 1,
            // A line stamped earlier than the last (events from a journal) counts where it falls.
            Some((s, _)) if *s > second => {
                if let Some((_, n)) = counts.iter_mut().find(|(s, _)| *s == second) {
                    *n += 1;
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
    /// The release is under way: the followers start, before the first step.
    pub(super) fn follow_logs(&mut self, fx: &mut Vec<Effect>) {
        if self.logs.followers.is_empty() || self.logs.following {
            return;
        }
        self.logs.following = true;
        for f in &mut self.logs.followers {
            f.status = FollowerStatus::Starting;
        }
        fx.push(Effect::FollowLogs);
    }

    /// The outcome is known: the followers stop, leaving nothing on the hosts.
    pub(super) fn stop_following(&mut self, fx: &mut Vec<Effect>) {
        if !self.logs.following {
            return;
        }
        self.logs.following = false;
        for f in &mut self.logs.followers {
            f.status = FollowerStatus::Stopped;
        }
        fx.push(Effect::StopFollowers);
    }

    pub(super) fn log_lines(&mut self, target: &str, follower: &str, lines: &[String]) {
        let Some(f) = self.logs.follower_mut(target, follower) else {
            return; // not a follower of this plan (a journal edited by hand)
        };
        f.read += lines.len() as u64;
        let now = self.now;
        let pattern = self
            .plan
            .logs
            .iter()
            .position(|f| f.name == follower)
            .and_then(|i| self.logs.patterns.get(i).cloned().flatten());
        let after_deploy = self.deploy_started();
        let (target, follower): (Arc<str>, Arc<str>) = (target.into(), follower.into());
        let mut spare = None;
        for line in lines {
            let error = pattern.as_ref().is_some_and(|p| p.is_match(line));
            if error {
                self.logs.count_error(&target, now);
                self.signatures.record(line, now, after_deploy);
            }
            spare = self.logs.push(LogLine {
                at: now,
                target: target.clone(),
                follower: follower.clone(),
                line: super::marks::copy_into(spare.take(), line),
                error,
                mark: LogMark::Read,
            });
        }
    }

    pub(super) fn logs_dropped(&mut self, target: &str, follower: &str, count: u64) {
        let Some(f) = self.logs.follower_mut(target, follower) else {
            return;
        };
        f.lost += count;
        let text = format!("{count} lines dropped: they came faster than gonogo could show them");
        self.log_mark(target, follower, LogMark::Dropped, text);
    }

    pub(super) fn follower_down(&mut self, target: &str, follower: &str, error: &str) {
        let now = self.now;
        let Some(f) = self.logs.follower_mut(target, follower) else {
            return;
        };
        if f.status == FollowerStatus::Stopped {
            return;
        }
        f.drops += 1;
        f.status = FollowerStatus::Down {
            since: now,
            error: error.to_string(),
        };
        let text = format!("follower down: {error}");
        self.log_mark(target, follower, LogMark::Down, text);
    }

    pub(super) fn follower_up(&mut self, target: &str, follower: &str, gap_ms: Option<u64>) {
        let now = self.now;
        let Some(f) = self.logs.follower_mut(target, follower) else {
            return;
        };
        if f.status == FollowerStatus::Stopped {
            return;
        }
        f.status = FollowerStatus::Up { since: now };
        let text = match gap_ms {
            None => "following".to_string(),
            Some(gap) => format!(
                "following again after a gap of {}",
                humantime::format_duration(std::time::Duration::from_secs(gap.div_ceil(1000)))
            ),
        };
        self.log_mark(target, follower, LogMark::Up, text);
    }

    fn log_mark(&mut self, target: &str, follower: &str, mark: LogMark, text: String) {
        self.logs.push(LogLine {
            at: self.now,
            target: target.into(),
            follower: follower.into(),
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
