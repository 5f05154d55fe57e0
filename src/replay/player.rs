//! Playing a journal back: the same engine applies the same events, in order, at the recorded
//! pace times the speed. Seeking goes back to the nearest keyframe (a clone of the release) and
//! plays forward from there, so a seek anywhere costs at most one keyframe interval.

use std::time::Duration;

use super::recorded::Recorded;
use crate::engine::{Millis, Question, Release};
use crate::journal::{Entry, Journal, Line, RecordedView};
use crate::narrate::{self, Seen, Subject, Told, Topic};

/// A keyframe every this many records.
const KEYFRAME_EVERY: usize = 5_000;

pub const SPEEDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// A place on the timeline worth jumping to.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Microseconds since the session started.
    pub t: u64,
    pub kind: MarkKind,
    /// What happened, as the narrator tells it: "decided by ana at gate \"Go?\": go".
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    Gate,
    Failure,
    Rollback,
    /// gonogo died and a resume went on with the session.
    Resumed,
}

#[derive(Clone)]
struct Keyframe {
    /// The first record not yet applied.
    next: usize,
    recorded: Recorded,
}

pub struct Player {
    lines: Vec<Line>,
    keyframes: Vec<Keyframe>,
    pub marks: Vec<Mark>,
    /// The records applied so far: the release, the operator's view, the last event's time.
    recorded: Recorded,
    /// The first record not yet applied.
    next: usize,
    /// Where playback stands, in microseconds since the session started.
    pub position: u64,
    pub speed: f64,
    pub paused: bool,
}

impl Player {
    /// Reads the whole journal once: keyframes and marks. Playback starts at the beginning,
    /// playing at 1×.
    pub fn new(journal: Journal) -> Self {
        let lines = journal.lines;
        let mut keyframes = Vec::new();
        let mut marks = Vec::new();
        let mut recorded = Recorded::default();
        let mut before = Seen::of(recorded.release());
        for (i, line) in lines.iter().enumerate() {
            if i % KEYFRAME_EVERY == 0 {
                keyframes.push(Keyframe {
                    next: i,
                    recorded: recorded.clone(),
                });
            }
            recorded.line(line);
            if let Entry::Event(event) = &line.entry
                && narrate::changes_state(event)
            {
                let told = narrate::tell(event, &before, recorded.release());
                marks.extend(told.into_iter().filter_map(|told| mark_of(told, line.t)));
                before = Seen::of(recorded.release());
            }
        }
        let start = keyframes.first().cloned().unwrap_or(Keyframe {
            next: 0,
            recorded: Recorded::default(),
        });
        Player {
            lines,
            keyframes,
            marks,
            recorded: start.recorded,
            next: 0,
            position: 0,
            speed: 1.0,
            paused: false,
        }
    }

    /// The release where playback stands.
    pub fn release(&self) -> &Release {
        self.recorded.release()
    }

    /// What the operator had on screen where playback stands.
    pub fn view(&self) -> &RecordedView {
        &self.recorded.view
    }

    /// The session's length, in microseconds.
    pub fn end(&self) -> u64 {
        self.lines.last().map_or(0, |l| l.t)
    }

    /// When each record happened, in order (microseconds since the start).
    pub fn times(&self) -> Vec<u64> {
        self.lines.iter().map(|l| l.t).collect()
    }

    pub fn at_end(&self) -> bool {
        self.next >= self.lines.len()
    }

    /// The engine's clock at the playback position: the last event's time plus the time
    /// played since, so countdowns and durations move as they did.
    pub fn now(&self) -> Millis {
        match self.recorded.last_at {
            Some((t, at)) => at + self.position.saturating_sub(t) / 1000,
            None => self
                .lines
                .iter()
                .find_map(|l| match &l.entry {
                    Entry::Event(e) => Some(e.at),
                    Entry::View(_) => None,
                })
                .unwrap_or(0),
        }
    }

    /// Plays `elapsed` of real time at the current speed. True if anything changed.
    pub fn advance(&mut self, elapsed: Duration) -> bool {
        if self.paused || self.at_end() {
            return false;
        }
        let played = (elapsed.as_micros() as f64 * self.speed) as u64;
        let to = (self.position + played).min(self.end());
        self.play_to(to);
        if self.at_end() {
            self.paused = true;
        }
        true
    }

    /// Goes to `to` (microseconds since the start), backwards through a keyframe.
    pub fn seek(&mut self, to: u64) {
        let to = to.min(self.end());
        let first_after = self.lines.partition_point(|l| l.t <= to);
        // Back, or forward past a keyframe: from the nearest keyframe before `to`.
        let nearest = self.keyframes.iter().rev().find(|k| k.next <= first_after);
        let ahead = nearest.is_some_and(|k| k.next > self.next);
        if to < self.position || ahead {
            let key = nearest
                .cloned()
                .unwrap_or_else(|| self.keyframes[0].clone());
            self.recorded = key.recorded;
            self.next = key.next;
        }
        self.position = to;
        self.play_to(to);
    }

    /// Seconds back or forward (`delta` in microseconds).
    pub fn skip(&mut self, delta: i64) {
        let to = if delta < 0 {
            self.position.saturating_sub(delta.unsigned_abs())
        } else {
            self.position.saturating_add(delta.unsigned_abs())
        };
        self.seek(to);
    }

    /// The next mark after the position, or the one before it (with a second's slack so
    /// pressing `[` twice goes back two marks).
    pub fn jump(&mut self, forward: bool) {
        let here = self.position;
        let target = if forward {
            self.marks.iter().find(|m| m.t > here).map(|m| m.t)
        } else {
            let slack = 1_000_000;
            self.marks
                .iter()
                .rev()
                .find(|m| m.t + slack < here)
                .map(|m| m.t)
        };
        if let Some(t) = target {
            self.seek(t);
        }
    }

    pub fn faster(&mut self, up: bool) {
        let i = SPEEDS
            .iter()
            .position(|s| (*s - self.speed).abs() < f64::EPSILON)
            .unwrap_or(2);
        let i = if up {
            (i + 1).min(SPEEDS.len() - 1)
        } else {
            i.saturating_sub(1)
        };
        self.speed = SPEEDS[i];
    }

    /// The most recent mark at or before the position.
    pub fn last_mark(&self) -> Option<&Mark> {
        self.marks.iter().rev().find(|m| m.t <= self.position)
    }

    fn play_to(&mut self, to: u64) {
        while let Some(line) = self.lines.get(self.next) {
            if line.t > to {
                break;
            }
            self.recorded.line(line);
            self.next += 1;
        }
        self.position = self.position.max(to);
    }
}

/// Whether what the narrator told is worth a mark on the timeline: a gate answered, a
/// rollback decided, a run failed, gonogo interrupted.
fn mark_of(told: Told, t: u64) -> Option<Mark> {
    let kind = match (told.topic, &told.subject) {
        (Topic::Decision { rolls_back: true }, _) => MarkKind::Rollback,
        (
            Topic::Decision { .. },
            Some(Subject::Question(Question::Gate { .. } | Question::FinalGate)),
        ) => MarkKind::Gate,
        (Topic::RunFailed | Topic::RunRetrying | Topic::RunUnknown, _) => MarkKind::Failure,
        (Topic::Interrupted, _) => {
            let label = format!("↯ interrupted: {}", told.text);
            return Some(Mark {
                t,
                kind: MarkKind::Resumed,
                label,
            });
        }
        _ => return None,
    };
    Some(Mark {
        t,
        kind,
        label: told.text,
    })
}
