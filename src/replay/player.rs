//! Playing a journal back: which records go to the run loop, and when. The player holds the
//! journal's records and where playback stands; it folds nothing itself. Playing on hands the
//! loop the records up to the new position and a beat for its clock; seeking back hands it a
//! rewind to the nearest keyframe (the release as the loop had it there, taken while the
//! journal was indexed) and the records from there, so a seek anywhere costs at most one
//! keyframe interval. A jump past what has been read lands on the index's nearest snapshot
//! and plays the records after it, read apart, until the reading catches up with them.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::Millis;
use crate::journal::{Entry, Landing, Line, NoLanding};
use crate::runtime::{Record, Rewind};

/// A keyframe every this many records: a seek plays at most this many. A keyframe costs little
/// (the release's kept lines are shared with it, not copied).
pub(super) const KEYFRAME_EVERY: usize = 1_000;

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
    /// A watch rule held and a rollback was proposed (or started by itself).
    Proposal,
    /// gonogo died and a resume went on with the session.
    Resumed,
}

/// Where the loop stood before record `next`: what a rewind there restores, and the last event
/// before it (its `t` and engine time) for the clock.
#[derive(Debug, Clone)]
pub(super) struct Keyframe {
    pub next: usize,
    pub rewind: Rewind,
    pub last: Option<(u64, Millis)>,
}

impl Keyframe {
    /// The recording's beginning.
    pub(super) fn start() -> Self {
        Keyframe {
            next: 0,
            rewind: Rewind::default(),
            last: None,
        }
    }
}

/// A jump past what has been read, waiting for its landing; `asked`: the index was asked.
#[derive(Debug, Clone, Copy)]
struct Jump {
    to: u64,
    asked: bool,
}

/// Where a jump through the index landed: the snapshot's release as the loop's rewind, and the
/// records after it, read apart from the timeline.
struct Landed {
    rewind: Rewind,
    /// The last event before the snapshot, and the snapshot's own record and time.
    last: Option<(u64, Millis)>,
    seq: u64,
    t: u64,
    lines: Vec<Arc<Line>>,
    /// The first of `lines` not yet handed to the loop.
    next: usize,
    /// `lines` go on to the journal's end.
    to_end: bool,
}

impl Landed {
    fn new(landing: Landing) -> Self {
        let from = landing.from;
        Landed {
            rewind: Rewind {
                release: from.release,
                view: from.view,
                at: from.last.map(|(_, at)| at),
            },
            last: from.last,
            seq: from.seq,
            t: from.t,
            lines: landing.lines.into_iter().map(Arc::new).collect(),
            next: 0,
            to_end: landing.to_end,
        }
    }

    fn covers(&self, to: u64) -> bool {
        self.t <= to && (self.to_end || self.lines.last().is_some_and(|l| l.t >= to))
    }

    /// The last record handed to the loop (the snapshot's before any).
    fn played(&self) -> u64 {
        self.next
            .checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .map_or(self.seq, |l| l.seq)
    }
}

pub struct Player {
    lines: Vec<Arc<Line>>,
    keyframes: Vec<Keyframe>,
    pub marks: Vec<Mark>,
    /// Every record of the journal is in `lines` (a replay reads them in the background).
    complete: bool,
    /// Where the session ends, known before its records are all read.
    ends: u64,
    /// What reading the journal warned of, and the records of unknown types skipped, so far.
    pub warnings: Vec<String>,
    pub unknown: usize,
    /// The first record not yet handed to the loop.
    next: usize,
    /// The last event handed to the loop: its `t` and its engine time.
    last: Option<(u64, Millis)>,
    /// Where playback stands, in microseconds since the session started.
    pub position: u64,
    pub speed: f64,
    pub paused: bool,
    /// Records for the loop, in order, not yet taken.
    outbox: Vec<Record>,
    jump: Option<Jump>,
    /// Played from while the reading has not caught up with it.
    landing: Option<Landed>,
    /// The journal's index is missing, of another version or stale: jumps play as read.
    no_index: bool,
    /// Whether the journal was all read at the last beat handed to the loop: the reading that
    /// ends after playback reached what had been read is shown by one more beat.
    complete_shown: bool,
}

impl Player {
    /// A player of `lines`, with the keyframes and marks its index found. Playback starts at
    /// the beginning, playing at 1×.
    pub(super) fn new(lines: Vec<Arc<Line>>, keyframes: Vec<Keyframe>, marks: Vec<Mark>) -> Self {
        Player {
            lines,
            keyframes,
            marks,
            complete: true,
            complete_shown: false,
            ends: 0,
            warnings: Vec::new(),
            unknown: 0,
            next: 0,
            last: None,
            position: 0,
            speed: 1.0,
            paused: false,
            outbox: Vec::new(),
            jump: None,
            landing: None,
            no_index: false,
        }
    }

    /// A player whose records are still to come ([`Player::read_more`]), of a session that
    /// ends at `ends`: it plays what has come, and plays on as more does.
    pub(super) fn opening(ends: u64) -> Self {
        Player {
            complete: false,
            ends,
            ..Player::new(Vec::new(), vec![Keyframe::start()], Vec::new())
        }
    }

    /// More of the journal's records, in order, as they are read.
    pub(super) fn read_more(&mut self, lines: impl IntoIterator<Item = Arc<Line>>) {
        self.lines.extend(lines);
    }

    /// A keyframe the reading found: the release as the loop had it before record `next`.
    pub(super) fn keyframe(&mut self, keyframe: Keyframe) {
        self.keyframes.push(keyframe);
    }

    /// Every record has been read.
    pub(super) fn read_all(&mut self) {
        self.complete = true;
    }

    /// Whether every record of the journal has been read.
    pub fn read_whole(&self) -> bool {
        self.complete
    }

    /// When the record handed to the loop as record `index` happened.
    pub(super) fn time_of(&self, index: usize) -> Option<u64> {
        self.lines.get(index).map(|l| l.t)
    }

    /// The last keyframe's record (where the next is due after).
    pub(super) fn last_keyframe(&self) -> usize {
        self.keyframes.last().map_or(0, |k| k.next)
    }

    /// The records for the loop since last taken, in order.
    pub fn take(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.outbox)
    }

    /// The session's length, in microseconds.
    pub fn end(&self) -> u64 {
        let landed = self.landing.as_ref().and_then(|l| l.lines.last());
        let last = self.lines.last().into_iter().chain(landed);
        last.map(|l| l.t).fold(self.ends, u64::max)
    }

    /// When each record happened, in order (microseconds since the start).
    pub fn times(&self) -> Vec<u64> {
        self.lines.iter().map(|l| l.t).collect()
    }

    pub fn at_end(&self) -> bool {
        match &self.landing {
            Some(landed) => landed.to_end && landed.next >= landed.lines.len(),
            None => self.complete && self.next >= self.lines.len(),
        }
    }

    /// The engine's clock at the playback position: the last event's time plus the time
    /// played since, so countdowns and durations move as they did.
    pub fn now(&self) -> Millis {
        match self.last {
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

    /// Plays `elapsed` of real time at the current speed. True if anything changed. Paused,
    /// the records read since that are due at the position are played.
    pub fn advance(&mut self, elapsed: Duration) -> bool {
        // A jump the reading caught up with before its landing came.
        if let Some(jump) = self.jump
            && !self.beyond_read(jump.to)
        {
            self.seek(jump.to);
            return true;
        }
        self.hand_over();
        if self.paused || self.at_end() {
            let upcoming = match &self.landing {
                Some(landed) => landed.lines.get(landed.next),
                None => self.lines.get(self.next),
            };
            let due = upcoming.is_some_and(|l| l.t <= self.position);
            // The reading ended since the last beat: the bar's "reading…" goes, "■ end" shows.
            if due || self.complete != self.complete_shown {
                self.play_to(self.position);
                return true;
            }
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

    /// Goes to `to` (microseconds since the start), backwards through a keyframe. Past what
    /// has been read, through the index: the jump waits for its landing ([`Player::land`]).
    pub fn seek(&mut self, to: u64) {
        let to = to.min(self.end());
        self.jump = None;
        if self.beyond_read(to) {
            if self.landing.as_ref().is_some_and(|l| l.covers(to)) {
                return self.seek_landed(to, false);
            }
            if !self.no_index {
                self.jump = Some(Jump { to, asked: false });
                return;
            }
        }
        self.seek_read(to);
    }

    /// [`Player::seek`] over what has been read; past it, the records play as they are read.
    fn seek_read(&mut self, to: u64) {
        let landed = self.landing.take().is_some();
        let first_after = self.lines.partition_point(|l| l.t <= to);
        // Back, or forward past a keyframe: from the nearest keyframe before `to`.
        let nearest = self.keyframes.iter().rev().find(|k| k.next <= first_after);
        let ahead = nearest.is_some_and(|k| k.next > self.next);
        if landed || to < self.position || ahead {
            let key = nearest.or(self.keyframes.first()).cloned();
            let key = key.unwrap_or_else(Keyframe::start);
            self.outbox.push(Record::Rewind(Box::new(key.rewind)));
            self.next = key.next;
            self.last = key.last;
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

    /// A replay key of the keymap: the player moves (`act` ignores what is not its own).
    pub fn act(&mut self, action: crate::ui::keymap::Action) {
        use crate::ui::keymap::Action as A;
        match action {
            A::PlayPause => {
                if self.at_end() {
                    self.seek(0);
                }
                self.paused = !self.paused;
            }
            A::Faster => self.faster(true),
            A::Slower => self.faster(false),
            A::SeekBack => self.skip(-10_000_000),
            A::SeekForward => self.skip(10_000_000),
            A::PreviousMark => self.jump(false),
            A::NextMark => self.jump(true),
            A::ToStart => self.seek(0),
            A::ToEnd => self.seek(self.end()),
            _ => {}
        }
    }

    /// The most recent mark at or before the position.
    pub fn last_mark(&self) -> Option<&Mark> {
        self.marks.iter().rev().find(|m| m.t <= self.position)
    }

    /// Plays on to `to`: the records up to it for the loop, then a beat at its time.
    pub fn play_to(&mut self, to: u64) {
        self.hand_over();
        if let Some(landed) = &mut self.landing {
            let (lines, next) = (&landed.lines, &mut landed.next);
            play(lines, next, to, &mut self.last, &mut self.outbox);
            self.hand_over();
        }
        if self.landing.is_none() {
            play(
                &self.lines,
                &mut self.next,
                to,
                &mut self.last,
                &mut self.outbox,
            );
        }
        self.position = self.position.max(to);
        self.outbox.push(Record::Beat(self.now()));
        self.complete_shown = self.complete;
    }
}

/// `lines` from `next` up to `to` for the loop; `last`: the last event handed over.
fn play(
    lines: &[Arc<Line>],
    next: &mut usize,
    to: u64,
    last: &mut Option<(u64, Millis)>,
    outbox: &mut Vec<Record>,
) {
    while let Some(line) = lines.get(*next) {
        if line.t > to {
            break;
        }
        if let Entry::Event(event) = &line.entry {
            *last = Some((line.t, event.at));
        }
        outbox.push(Record::Line(line.clone()));
        *next += 1;
    }
}

/// Jumps through the journal's index, while it is still being read.
impl Player {
    /// Whether `to` is past what has been read.
    fn beyond_read(&self, to: u64) -> bool {
        !self.complete && self.lines.last().is_none_or(|l| l.t < to)
    }

    /// A jump for the index, asked once: where to, and the last record read (its `seq`).
    pub fn ask_jump(&mut self) -> Option<(u64, u64)> {
        let jump = self.jump.as_mut().filter(|j| !j.asked)?;
        jump.asked = true;
        Some((jump.to, self.lines.last().map_or(0, |l| l.seq)))
    }

    /// Where a jump waiting for its landing goes.
    pub fn jumping(&self) -> Option<u64> {
        self.jump.map(|j| j.to)
    }

    /// What is shown came through the index; the reading has not caught up with it.
    pub fn landed(&self) -> bool {
        self.landing.is_some()
    }

    /// The index could not be used: jumps play the records as they are read.
    pub fn no_index(&self) -> bool {
        self.no_index
    }

    /// What the index gave for a jump to `to`: shown at once, or played as read.
    pub fn land(&mut self, to: u64, found: Result<Landing, NoLanding>) {
        // The viewer went elsewhere since.
        if self.jump.is_none_or(|j| j.to != to) {
            return;
        }
        self.jump = None;
        match found {
            Ok(landing) if self.beyond_read(to) => {
                self.landing = Some(Landed::new(landing));
                self.seek_landed(to, true);
            }
            Err(NoLanding::NoIndex) => {
                self.no_index = true;
                self.seek_read(to);
            }
            _ => self.seek_read(to),
        }
    }

    /// To `to` in the landing, from its snapshot when it is new to the loop or `to` is back.
    fn seek_landed(&mut self, to: u64, fresh: bool) {
        let Some(landed) = &mut self.landing else {
            return;
        };
        if fresh || to < self.position {
            self.outbox
                .push(Record::Rewind(Box::new(landed.rewind.clone())));
            landed.next = 0;
            self.last = landed.last;
        }
        self.position = to;
        self.play_to(to);
    }

    /// Once the reading holds every record the landing does, playback goes on in what has
    /// been read (the loop's release is the same either way) and the landing is let go.
    fn hand_over(&mut self) {
        let Some(landed) = &self.landing else {
            return;
        };
        let read = self.lines.last().map_or(0, |l| l.seq);
        let holds = landed.lines.last().map_or(landed.seq, |l| l.seq);
        if self.complete || read >= holds {
            let played = landed.played();
            self.next = self.lines.partition_point(|l| l.seq <= played);
            self.landing = None;
        }
    }
}
