//! The run loop: the single owner of the `Release`. Events from drivers and the operator come
//! in on channels; each is stamped, applied, shown, and its effects handed to the drivers
//! (`crate::drivers`: live ones, or none for a replay or a test).

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::drivers::Drivers;
use crate::engine::{Actor, Decision, Effect, Event, EventKind, Fold, Millis, Release};
use crate::journal::{ViewChange, Writer};
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
}

/// Where the loop reads its time: what it stamps events with and passes to the front end. The
/// system's clock, or one a test sets and moves itself (`Clock::manual`), so time in a test
/// passes only when the test says.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(std::sync::Arc<std::sync::atomic::AtomicU64>),
}

impl Clock {
    /// A clock that shows `start` until it is moved.
    pub fn manual(start: Millis) -> Clock {
        Clock::Manual(std::sync::Arc::new(start.into()))
    }

    pub fn now(&self) -> Millis {
        match self {
            Clock::System => now_ms(),
            Clock::Manual(at) => at.load(std::sync::atomic::Ordering::SeqCst),
        }
    }

    /// Moves a manual clock `ms` on (the system's moves by itself).
    pub fn advance(&self, ms: Millis) {
        if let Clock::Manual(at) = self {
            at.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct Loop<'f, D: Drivers> {
    /// The release, changed only by the events the loop applies.
    fold: Fold,
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
    let lp = Loop {
        fold: Fold::default(),
        journal,
        drivers,
        frontend,
        operator: String::new(),
        asked: VecDeque::new(),
        notifier: None,
        clock,
    };
    run_loop(lp, start, events, inputs).await
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
    let lp = Loop {
        fold: Fold::from(release),
        journal,
        drivers,
        frontend,
        operator: String::new(),
        asked: VecDeque::new(),
        notifier,
        clock: Clock::System,
    };
    run_loop(lp, first, events, inputs).await
}

/// The loop itself, from `first` to the release's end (and the front end's leaving).
async fn run_loop<D: Drivers>(
    mut lp: Loop<'_, D>,
    first: EventKind,
    mut events: mpsc::Receiver<EventKind>,
    mut inputs: mpsc::Receiver<Input>,
) -> (Release, Option<Writer>) {
    lp.operator = match &first {
        EventKind::Started { operator, .. } => operator.clone(),
        // `user@host` resumed it; decisions name the person, as a run's do.
        EventKind::Resumed { by, .. } => by.split('@').next().unwrap_or(by).to_string(),
        _ => lp.fold.operator.clone(),
    };
    let start = first;
    // A status update every `[notify] every`, on the loop's clock.
    let mut status = lp.notifier.as_ref().and_then(|n| n.every).map(|every| {
        let start = tokio::time::Instant::now() + every;
        let mut status = tokio::time::interval_at(start, every);
        status.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        status
    });
    lp.handle(start);
    let mut batch = Vec::with_capacity(512);
    // What the journal holds is on disk within a second, even when nothing else happens.
    let mut sync = tokio::time::interval(std::time::Duration::from_secs(1));
    sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let journaling = lp.journal.is_some();
    let mut shut = false;
    let mut terminated = false;
    loop {
        if lp.fold.is_finished() && !shut {
            lp.frontend.flush(&lp.fold, lp.clock.now());
            lp.drivers.shut_down().await;
            if let Some(notifier) = &mut lp.notifier {
                notifier.finish();
            }
            shut = true;
        }
        // The loop stays (inputs still read) until the last messages to the team's channel
        // were delivered or their grace ran out.
        if shut && (terminated || !lp.frontend.keep_open()) && lp.notifier.is_none() {
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
            n = events.recv_many(&mut batch, 512), if !shut => {
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
            _ = async { status.as_mut().expect("checked").tick().await },
                if status.is_some() && !shut => lp.status_update(),
            said = async { lp.notifier.as_mut().expect("checked").next().await },
                if lp.notifier.is_some() => lp.delivery(said),
            _ = sync.tick(), if journaling => {
                if let Some(journal) = &mut lp.journal {
                    journal.tick();
                }
                continue;
            }
            else => break,
        }
        lp.frontend.flush(&lp.fold, lp.clock.now());
    }
    if !shut {
        lp.drivers.shut_down().await;
    }
    // Ended before the release did (its events stopped): the queued messages still go.
    if let Some(notifier) = &mut lp.notifier {
        notifier.finish();
    }
    while let Some(notifier) = &mut lp.notifier {
        let said = notifier.next().await;
        lp.delivery(said);
    }
    lp.frontend.flush(&lp.fold, lp.clock.now());
    if let Some(journal) = &mut lp.journal {
        journal.sync();
    }
    (lp.fold.into_release(), lp.journal)
}

impl<D: Drivers> Loop<'_, D> {
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

    /// What the operator now has on screen, into the journal.
    fn record_view(&mut self) {
        let changes = self.frontend.view_changes();
        if let Some(journal) = &mut self.journal {
            for change in &changes {
                journal.view(change, self.clock.now());
            }
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
                follower,
                lines,
            } => {
                tracing::trace!(%target, %follower, lines = lines.len(), "log lines");
            }
            kind => tracing::info!(event = ?kind),
        }
        if let Some(journal) = &mut self.journal {
            journal.event(&event);
        }
        let effects = self.fold.apply(&event);
        self.frontend.show(&event, &self.fold);
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
            Some(notifier) => notifier.after(&event, &self.fold),
            None => Vec::new(),
        };
        for kind in dropped {
            self.handle(kind);
        }
    }
}

/// What people type (notes, reasons, names) with the session's secrets masked, before the
/// journal, the screen or anyone else sees it.
fn typed_masked(kind: EventKind, mask: impl Fn(String) -> String) -> EventKind {
    let opt = |o: Option<String>| o.map(&mask);
    match kind {
        EventKind::Decided {
            by,
            decision,
            note,
            actor,
        } => EventKind::Decided {
            by,
            decision: match decision {
                Decision::Skip { reason } => Decision::Skip {
                    reason: mask(reason),
                },
                Decision::KeepWatching { reason } => Decision::KeepWatching {
                    reason: mask(reason),
                },
                Decision::SkipBaseline { reason } => Decision::SkipBaseline {
                    reason: mask(reason),
                },
                other => other,
            },
            note: opt(note),
            actor,
        },
        EventKind::Voted {
            name,
            via,
            approver,
            step,
            digest,
            note,
            counted,
        } => EventKind::Voted {
            name: mask(name),
            via,
            approver,
            step,
            digest,
            note: opt(note),
            counted,
        },
        EventKind::Joined {
            name,
            via,
            approver,
        } => EventKind::Joined {
            name: mask(name),
            via,
            approver,
        },
        EventKind::Left { name, why } => EventKind::Left {
            name: mask(name),
            why: why.clone(),
        },
        EventKind::LockBroken {
            target,
            holder,
            reason,
            leftovers,
        } => EventKind::LockBroken {
            target,
            holder,
            reason: mask(reason),
            leftovers,
        },
        EventKind::Started {
            session,
            operator,
            mut plan,
        } => {
            plan.window_override = opt(plan.window_override.take());
            EventKind::Started {
                session,
                operator,
                plan,
            }
        }
        other => other,
    }
}
