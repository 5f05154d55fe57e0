//! The run loop: the single owner of the `Release`. Events from drivers and the operator come
//! in on channels; each is stamped, applied, shown, and its effects handed to the drivers
//! (`crate::drivers`: live ones, or none for a replay or a test).

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::mpsc;

mod clock;
mod typed;

pub use clock::{Clock, now_ms};
use typed::typed_masked;

use crate::drivers::Drivers;
use crate::engine::{Actor, Decision, Effect, Event, EventKind, Fold, Millis, Release};
use crate::journal::{Entry, Line, RecordedView, ViewChange, Writer};
use crate::notify::{Delivery, Notifier};

/// What the operator does, as the front end reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Line(String),
    Key(ratatui::crossterm::event::KeyEvent),
    Resize,
    /// A beat for clocks and countdowns on screen.
    Tick,
    /// A follower's GO at a gate (`gonogo follow --approver`), judged by the loop.
    Vote(crate::engine::Vote),
    /// No more input will come (stdin closed).
    Closed,
    /// Ctrl-C.
    Interrupt,
    /// A question just opened (the engine's `Ask`): a front end shows it, and an answer it has
    /// at once (`--yes`, answers piped ahead, a closed stdin) comes back as an input decision.
    Asked,
    /// SIGTERM, or the terminal went away (SIGHUP): abort now, release the locks, leave.
    Terminate(String),
    /// The shell the operator opened on a target has ended; the cockpit takes the screen back.
    ShellEnded {
        target: String,
        how: String,
    },
}

/// A face of the run: headless lines today, the cockpit later. It shows and asks; the loop
/// owns the state.
pub trait Frontend {
    fn show(&mut self, event: &Event, release: &Release);
    /// What the operator did; a decision comes back as the event it makes. Decisions enter only
    /// here, never while an effect runs, so a journal holds every one of them.
    /// `now` is the loop's time of the input: what a front end judges by time (the stray-key
    /// guard) it judges at it.
    fn input(&mut self, input: Input, release: &Release, now: Millis) -> Option<EventKind>;
    /// Called after each batch of events and inputs: flush or redraw once for the batch. `now`
    /// is the loop's clock (a replay passes its own), so front ends read none.
    fn flush(&mut self, release: &Release, now: Millis);
    /// Whether to stay after the release has ended (the cockpit shows the end until `q`).
    fn keep_open(&self) -> bool {
        false
    }
    /// What changed on screen since last asked (focus, filter, scroll, modal, size): the
    /// journal records it so a replay shows what the operator saw.
    fn view_changes(&mut self) -> Vec<ViewChange> {
        Vec::new()
    }
    /// A recorded source's view of the operator's screen changed (a follower may mirror it).
    fn recorded_view(&mut self, _view: &RecordedView) {}
}

/// Where the loop's events come from.
pub enum Source {
    /// The drivers' events, stamped with the loop's clock as they come, and the operator's
    /// inputs: a live or resumed session.
    Live {
        events: mpsc::Receiver<EventKind>,
        inputs: mpsc::Receiver<Input>,
    },
    /// A journal's records, as read from a file or as a follow socket brings them: each event
    /// keeps its recorded time, nothing is journaled or notified, and the viewer's inputs make
    /// no event (a recording is watched, never decided). `Input::Closed` tells the front end
    /// the records have ended; the loop ends then unless the front end keeps it open, or when
    /// the viewer leaves (`Input::Terminate`).
    Recorded {
        records: mpsc::Receiver<Record>,
        inputs: mpsc::Receiver<Input>,
    },
}

/// One item of a recorded source.
#[derive(Debug, Clone)]
pub enum Record {
    /// The next record of the journal, in order.
    Line(Arc<Line>),
    /// Start over from a point of the recording: the release and the view go back to what it
    /// holds (nothing, for [`Rewind::start`]), and the records that follow are the journal's
    /// from there on (a follower that fell behind reads the file again; a replay seeks back).
    Rewind(Box<Rewind>),
    /// The recording's time moved on to `at` with nothing recorded (a replay playing between
    /// two events): the clock shows it, the front end is given a beat (`Input::Tick`) and
    /// flushed, so it can show the recording as it stands at the beat.
    Beat(Millis),
}

/// A point of a recording to start over from: the release and the view as they stood there,
/// and the engine time of the last event before it.
#[derive(Debug, Clone, Default)]
pub struct Rewind {
    pub release: Release,
    pub view: RecordedView,
    pub at: Option<Millis>,
}

impl Rewind {
    /// The recording's beginning: nothing applied yet.
    pub fn start() -> Record {
        Record::Rewind(Box::default())
    }
}

struct Loop<'f, D: Drivers> {
    /// The release, changed only by the events the loop applies.
    fold: Fold,
    /// What the operator had on screen, as a recorded source's view records say.
    view: RecordedView,
    /// The source is a recording: the loop makes no event of its own.
    reading: bool,
    /// Every event is written here before it is applied.
    journal: Option<Writer>,
    drivers: D,
    frontend: &'f mut dyn Frontend,
    /// Who runs the session: a terminate signal aborts in their name.
    operator: String,
    /// Questions opened and not yet shown to the front end.
    asked: VecDeque<Input>,
    /// `[notify]`: told each event after it is applied; never waited on.
    notifier: Option<Notifier>,
    clock: Clock,
}

impl<'f, D: Drivers> Loop<'f, D> {
    fn new(fold: Fold, drivers: D, frontend: &'f mut dyn Frontend, clock: Clock) -> Self {
        Loop {
            fold,
            view: RecordedView::default(),
            reading: false,
            journal: None,
            drivers,
            frontend,
            operator: String::new(),
            asked: VecDeque::new(),
            notifier: None,
            clock,
        }
    }
}

/// Runs a release from its first event to its end and returns it as it ended. Events come from
/// the drivers (or a list, with drivers off) on `events`; the operator's inputs on `inputs`;
/// the time from `clock`.
pub async fn run<D: Drivers>(
    start: EventKind,
    drivers: D,
    frontend: &mut dyn Frontend,
    (events, inputs): (mpsc::Receiver<EventKind>, mpsc::Receiver<Input>),
    clock: Clock,
) -> Release {
    run_recorded(start, drivers, frontend, (events, inputs), None, clock)
        .await
        .0
}

/// [`run`], writing every event to `journal` before it is applied; the journal comes back for
/// its path and whether it was written whole.
pub async fn run_recorded<D: Drivers>(
    start: EventKind,
    drivers: D,
    frontend: &mut dyn Frontend,
    (events, inputs): (mpsc::Receiver<EventKind>, mpsc::Receiver<Input>),
    journal: Option<Writer>,
    clock: Clock,
) -> (Release, Option<Writer>) {
    let mut lp = Loop::new(Fold::default(), drivers, frontend, clock);
    lp.journal = journal;
    run_loop(lp, Some(start), Source::Live { events, inputs }).await
}

/// The loop from `release` as it stands (rebuilt from a journal, for a resume), `first` the
/// first event it handles; `notifier` tells the team's channel as it goes (`[notify]`).
#[allow(clippy::too_many_arguments)]
pub async fn run_from<D: Drivers>(
    release: Release,
    first: EventKind,
    drivers: D,
    frontend: &mut dyn Frontend,
    events: mpsc::Receiver<EventKind>,
    inputs: mpsc::Receiver<Input>,
    journal: Option<Writer>,
    notifier: Option<Notifier>,
) -> (Release, Option<Writer>) {
    let mut lp = Loop::new(Fold::from(release), drivers, frontend, Clock::system());
    lp.journal = journal;
    lp.notifier = notifier;
    run_loop(lp, Some(first), Source::Live { events, inputs }).await
}

/// A recording through the loop (`Source::Recorded`: a journal read, a follow socket), with
/// `drivers` (off): the release its records make, as the front end was shown it.
pub async fn play<D: Drivers>(
    drivers: D,
    frontend: &mut dyn Frontend,
    source: Source,
    clock: Clock,
) -> Release {
    let lp = Loop::new(Fold::default(), drivers, frontend, clock);
    run_loop(lp, None, source).await.0
}

/// The loop itself, from `first` to the release's end (and the front end's leaving).
async fn run_loop<D: Drivers>(
    mut lp: Loop<'_, D>,
    first: Option<EventKind>,
    source: Source,
) -> (Release, Option<Writer>) {
    let (mut events, mut records, mut inputs) = match source {
        Source::Live { events, inputs } => (Some(events), None, inputs),
        Source::Recorded { records, inputs } => (None, Some(records), inputs),
    };
    lp.reading = records.is_some();
    lp.operator = match &first {
        Some(EventKind::Started { operator, .. }) => operator.clone(),
        // `user@host` resumed it; decisions name the person, as a run's do.
        Some(EventKind::Resumed { by, .. }) => by.split('@').next().unwrap_or(by).to_string(),
        _ => lp.fold.operator.clone(),
    };
    let mut status = lp.notifier.as_ref().and_then(|n| n.every).map(every);
    if let Some(first) = first {
        lp.handle(first);
    }
    let mut batch = Vec::with_capacity(512);
    let mut read = Vec::with_capacity(512);
    // What the journal holds is on disk within a second, even when nothing else happens.
    let mut sync = every(std::time::Duration::from_secs(1));
    let journaling = lp.journal.is_some();
    let mut shut = false;
    let mut terminated = false;
    loop {
        if lp.fold.is_finished() && !shut {
            lp.shut_down().await;
            shut = true;
        }
        if lp.done(shut, terminated, records.is_none()) {
            break;
        }
        // Questions the engine just opened go to the front end as inputs, before anything else.
        while let Some(input) = lp.asked.pop_front() {
            terminated |= lp.input(input);
        }
        tokio::select! {
            // Input first: a flood of output never delays the operator.
            biased;
            Some(input) = inputs.recv() => terminated |= lp.input(input),
            n = async { events.as_mut().expect("checked").recv_many(&mut batch, 512).await },
                if events.is_some() && !shut => {
                if n == 0 {
                    break;
                }
                for kind in batch.drain(..) {
                    lp.handle(kind);
                    if lp.fold.is_finished() {
                        break;
                    }
                }
            }
            n = async { records.as_mut().expect("checked").recv_many(&mut read, 512).await },
                if records.is_some() => {
                if n == 0 {
                    records = None;
                    terminated |= lp.input(Input::Closed);
                }
                for record in read.drain(..) {
                    lp.record(record);
                }
            }
            _ = async { status.as_mut().expect("checked").tick().await },
                if status.is_some() && !shut => lp.status_update(),
            said = async { lp.notifier.as_mut().expect("checked").next().await },
                if lp.notifier.is_some() => lp.delivery(said),
            // Nothing to show unless the journal just failed.
            _ = sync.tick(), if journaling => {
                if !lp.journal_beat() {
                    continue;
                }
            }
            else => break,
        }
        lp.frontend.flush(&lp.fold, lp.clock.now());
    }
    lp.end(shut).await
}

/// A beat every `every`, the first one `every` from now; a late one is not made up.
fn every(every: std::time::Duration) -> tokio::time::Interval {
    let start = tokio::time::Instant::now() + every;
    let mut beat = tokio::time::interval_at(start, every);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    beat
}

impl<D: Drivers> Loop<'_, D> {
    /// Whether the loop is done: a recording's viewer left (or its records ended and the front
    /// end does not stay); a session's release ended, the front end let go and the last
    /// messages to the team's channel were delivered or their grace ran out.
    fn done(&self, shut: bool, terminated: bool, records_ended: bool) -> bool {
        if self.reading {
            terminated || (records_ended && !self.frontend.keep_open())
        } else {
            shut && (terminated || !self.frontend.keep_open()) && self.notifier.is_none()
        }
    }

    /// The release has ended: the drivers close and the team's channel is told the end.
    async fn shut_down(&mut self) {
        self.frontend.flush(&self.fold, self.clock.now());
        self.drivers.shut_down().await;
        if let Some(notifier) = &mut self.notifier {
            notifier.finish();
        }
    }

    /// The loop has ended: what is still in flight closes, queued messages go, the journal is
    /// put on disk.
    async fn end(mut self, shut: bool) -> (Release, Option<Writer>) {
        if !shut {
            self.drivers.shut_down().await;
        }
        // Ended before the release did (its events stopped): the queued messages still go.
        if let Some(notifier) = &mut self.notifier {
            notifier.finish();
        }
        while let Some(notifier) = &mut self.notifier {
            let said = notifier.next().await;
            self.delivery(said);
        }
        self.frontend.flush(&self.fold, self.clock.now());
        self.journal_end();
        (self.fold.into_release(), self.journal)
    }

    /// One record of a recorded source: an event applied at its recorded time, a view change
    /// shown, a start over, or time moving on.
    fn record(&mut self, record: Record) {
        match record {
            Record::Rewind(rewind) => {
                let Rewind { release, view, at } = *rewind;
                self.fold = Fold::from(release);
                self.view = view;
                self.asked.clear();
                // A question open there was asked before it: the front end is told, as the
                // events that opened it would have told it (a follower joining at a gate).
                if self.fold.question.is_some() {
                    self.asked.push_back(Input::Asked);
                }
                if let Some(at) = at {
                    self.clock.read_at(at);
                }
                self.frontend.recorded_view(&self.view);
            }
            // Shown as it stands at the beat, whatever follows in the same batch.
            Record::Beat(at) => {
                self.clock.read_at(at);
                self.viewer_input(Input::Tick);
                self.frontend.flush(&self.fold, self.clock.now());
            }
            Record::Line(line) => match &line.entry {
                Entry::Event(event) => {
                    self.clock.read_at(event.at);
                    self.apply(event);
                }
                Entry::View(change) => {
                    self.view.apply(change);
                    self.frontend.recorded_view(&self.view);
                }
            },
        }
    }

    /// A status update for the team's channel, when one is due.
    fn status_update(&mut self) {
        let Some(notifier) = &mut self.notifier else {
            return;
        };
        for kind in notifier.status(&self.fold, self.clock.now()) {
            self.handle(kind);
        }
    }

    /// What the notifier's delivery says: a message not delivered is an event like any other.
    fn delivery(&mut self, said: Delivery) {
        match said {
            Delivery::Failed(kind) => self.handle(kind),
            Delivery::Done => self.notifier = None,
            Delivery::GaveUp(undelivered) => {
                self.notifier = None;
                for kind in undelivered {
                    self.handle(kind);
                }
            }
        }
    }

    /// One input: a decision it makes is applied like any event. True for a terminate signal.
    fn input(&mut self, input: Input) -> bool {
        if self.reading {
            return self.viewer_input(input);
        }
        if let Input::Terminate(why) = input {
            self.handle(EventKind::Decided {
                by: self.operator.clone(),
                decision: Decision::Abort,
                note: Some(why),
                actor: Actor::Gonogo,
            });
            return true;
        }
        if let Input::Vote(vote) = input {
            // Judged by the engine as it applies it (and again on every replay).
            self.handle(vote.into_event());
            return false;
        }
        if let Some(kind) = self.frontend.input(input, &self.fold, self.clock.now()) {
            self.handle(kind);
        }
        self.record_view();
        false
    }

    /// A recording's viewer's input: shown, never decided (a decision the front end makes is
    /// dropped: a replay or a follower cannot change the release). True when they leave.
    fn viewer_input(&mut self, input: Input) -> bool {
        match input {
            Input::Terminate(_) => true,
            Input::Vote(_) => false,
            input => {
                let decided = self.frontend.input(input, &self.fold, self.clock.now());
                debug_assert!(
                    decided.is_none(),
                    "a recording's viewer decided {decided:?}"
                );
                false
            }
        }
    }

    /// What the operator now has on screen, into the journal.
    fn record_view(&mut self) {
        let changes = self.frontend.view_changes();
        if let Some(journal) = &mut self.journal {
            for change in &changes {
                journal.view(change, self.clock.now());
            }
        }
        self.journal_failure();
    }

    /// The journal on disk within a second; true when it just failed.
    fn journal_beat(&mut self) -> bool {
        if let Some(journal) = &mut self.journal {
            journal.tick();
        }
        self.journal_failure()
    }

    /// All of the journal on disk at the end; a failure then is still said.
    fn journal_end(&mut self) {
        if let Some(journal) = &mut self.journal {
            // The release as it ended, for the index: a report or a resume starts here.
            journal.snapshot(&self.fold);
            journal.sync();
        }
        if self.journal_failure() {
            self.frontend.flush(&self.fold, self.clock.now());
        }
    }

    /// The journal's first write failure, applied (and shown) at once: from here on the
    /// session is not recorded, and the operator must know while the release runs. True when
    /// it just failed.
    fn journal_failure(&mut self) -> bool {
        match self.journal.as_mut().and_then(Writer::failure) {
            Some(failed) => {
                self.handle(failed);
                true
            }
            None => false,
        }
    }

    fn handle(&mut self, kind: EventKind) {
        let kind = typed_masked(kind, |t| self.drivers.mask(t));
        let event = Event::new(self.clock.now(), kind);
        match &event.kind {
            // Output is the journal's; the log keeps only how much came.
            EventKind::Output { run, lines, .. } => {
                tracing::trace!(target = %run.target, step = run.step, lines = lines.len(), "output");
            }
            EventKind::LogLines {
                target,
                tail,
                lines,
            } => {
                tracing::trace!(%target, %tail, lines = lines.len(), "log lines");
            }
            kind => tracing::info!(event = ?kind),
        }
        if let Some(journal) = &mut self.journal {
            journal.event(&event);
        }
        self.apply(&event);
    }

    /// An event, stamped (and journaled, live) or recorded: applied through the fold, shown,
    /// its effects to the drivers, the team told.
    fn apply(&mut self, event: &Event) {
        let effects = self.fold.apply(event);
        if let Some(journal) = &mut self.journal {
            journal.applied(&self.fold);
        }
        self.frontend.show(event, &self.fold);
        self.record_view();
        for effect in effects {
            match effect {
                Effect::Ask => self.asked.push_back(Input::Asked),
                effect => self.drivers.effect(effect),
            }
        }
        // What the team is told is decided here, from the event and the state after it; the
        // delivery never waits on the loop, nor the loop on it.
        let dropped = match &mut self.notifier {
            Some(notifier) => notifier.after(event, &self.fold),
            None => Vec::new(),
        };
        for kind in dropped {
            self.handle(kind);
        }
        self.journal_failure();
    }
}
