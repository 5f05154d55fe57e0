//! The run loop: the single owner of the `Release`. Events from drivers and the operator come
//! in on channels; each is stamped, applied, shown, and its effects handed to drivers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::{
    Effect, Event, EventKind, Millis, Release, ReleasePlan, RunId, StepList, Timer,
};
use crate::transport::lines::Redactor;
use crate::transport::lock::{self, Holder, LockOutcome};
use crate::transport::{Link, remote};

/// What the operator does, as the front end reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Line(String),
    Key(ratatui::crossterm::event::KeyEvent),
    Resize,
    /// A beat for clocks and countdowns on screen.
    Tick,
    /// No more input will come (stdin closed).
    Closed,
    /// Ctrl-C.
    Interrupt,
    /// SIGTERM, or the terminal went away (SIGHUP): abort now, release the locks, leave.
    Terminate(String),
}

/// A face of the run: headless lines today, the cockpit later. It shows and asks; the loop
/// owns the state.
pub trait Frontend {
    fn show(&mut self, event: &Event, release: &Release);
    /// A question is open. An answer given at once (`--yes`, closed input) is returned.
    fn ask(&mut self, release: &Release) -> Option<EventKind>;
    fn input(&mut self, input: Input, release: &Release) -> Option<EventKind>;
    /// Called after each batch of events and inputs: flush or redraw once for the batch.
    fn flush(&mut self, release: &Release);
    /// Whether to stay after the release has ended (the cockpit shows the end until `q`).
    fn keep_open(&self) -> bool {
        false
    }
}

/// Everything a run needs from the profile and the command line.
pub struct Session {
    pub id: String,
    pub operator: String,
    pub plan: ReleasePlan,
    /// The real commands (secrets included) per step, never put in an event.
    pub commands: HashMap<(StepList, usize), String>,
    pub links: HashMap<String, Arc<Link>>,
    pub holder: Holder,
    pub break_lock: Option<String>,
    pub redactor: Arc<Redactor>,
}

pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct Loop<'f> {
    release: Release,
    session: Session,
    events: mpsc::Sender<EventKind>,
    frontend: &'f mut dyn Frontend,
    runs: HashMap<RunId, JoinHandle<()>>,
    /// Lock releases and cancels that must finish before the process exits.
    closing: Vec<JoinHandle<()>>,
    timers: Vec<JoinHandle<()>>,
}

/// Runs a release to its end and returns it as it ended.
pub async fn run(
    session: Session,
    frontend: &mut dyn Frontend,
    events: mpsc::Sender<EventKind>,
    mut event_rx: mpsc::Receiver<EventKind>,
    mut inputs: mpsc::Receiver<Input>,
) -> Release {
    let started = EventKind::Started {
        session: session.id.clone(),
        operator: session.operator.clone(),
        plan: session.plan.clone(),
    };
    let mut lp = Loop {
        release: Release::default(),
        session,
        events,
        frontend,
        runs: HashMap::new(),
        closing: Vec::new(),
        timers: Vec::new(),
    };
    lp.handle(started);
    let mut batch = Vec::with_capacity(512);
    let mut shut = false;
    let mut terminated = false;
    loop {
        if lp.release.is_finished() && !shut {
            lp.frontend.flush(&lp.release);
            lp.shut_down().await;
            shut = true;
        }
        if shut && (terminated || !lp.frontend.keep_open()) {
            break;
        }
        tokio::select! {
            // Input first: a flood of output never delays the operator.
            biased;
            Some(input) = inputs.recv() => {
                if let Input::Terminate(why) = input {
                    terminated = true;
                    let operator = lp.session.operator.clone();
                    lp.handle(EventKind::Decided { by: operator, decision: crate::engine::Decision::Abort, note: Some(why) });
                } else if let Some(kind) = lp.frontend.input(input, &lp.release) {
                    lp.handle(kind);
                }
            }
            n = event_rx.recv_many(&mut batch, 512), if !shut => {
                if n == 0 {
                    break;
                }
                for kind in batch.drain(..) {
                    lp.handle(kind);
                    if lp.release.is_finished() {
                        break;
                    }
                }
            }
            else => break,
        }
        lp.frontend.flush(&lp.release);
    }
    if !shut {
        lp.shut_down().await;
    }
    lp.frontend.flush(&lp.release);
    lp.release
}

impl Loop<'_> {
    fn handle(&mut self, kind: EventKind) {
        let event = Event::new(now_ms(), kind);
        // The journal (a later issue) appends `event` here, before it is applied.
        let effects = self.release.apply(&event);
        self.frontend.show(&event, &self.release);
        for effect in effects {
            self.effect(effect);
        }
    }

    fn effect(&mut self, effect: Effect) {
        let events = self.events.clone();
        match effect {
            Effect::Connect { target } => {
                let link = self.link(&target);
                tokio::spawn(async move {
                    let kind = match link.connect().await {
                        Ok(()) => EventKind::Connected { target },
                        Err(error) => EventKind::ConnectFailed { target, error },
                    };
                    let _ = events.send(kind).await;
                });
            }
            Effect::TakeLock { target } => {
                let link = self.link(&target);
                let holder = self.session.holder.clone();
                let reason = self.session.break_lock.clone();
                tokio::spawn(async move {
                    let kind = match lock::take(&link, &holder, reason.is_some()).await {
                        Ok(LockOutcome::Taken) => EventKind::LockTaken { target },
                        Ok(LockOutcome::Held(holder)) => EventKind::LockRefused { target, holder },
                        Ok(LockOutcome::Broken(holder)) => EventKind::LockBroken {
                            target,
                            holder,
                            reason: reason.unwrap_or_default(),
                        },
                        Err(error) => EventKind::ConnectFailed { target, error },
                    };
                    let _ = events.send(kind).await;
                });
            }
            Effect::ReleaseLocks => {
                // Cancels first: releasing also removes the run directories a cancel reads.
                let cancels = std::mem::take(&mut self.closing);
                let links: Vec<Arc<Link>> = self.session.links.values().cloned().collect();
                let holder = self.session.holder.clone();
                self.closing.push(tokio::spawn(async move {
                    for cancel in cancels {
                        let _ = tokio::time::timeout(Duration::from_secs(30), cancel).await;
                    }
                    let releases = links.iter().map(|link| lock::release(link, &holder));
                    futures::future::join_all(releases).await;
                }));
            }
            Effect::StartRun { run } => {
                let link = self.link(&run.target);
                let command = self
                    .session
                    .commands
                    .get(&(run.list, run.step))
                    .cloned()
                    .unwrap_or_default();
                let task = remote::drive(
                    link,
                    self.session.id.clone(),
                    run.clone(),
                    command,
                    self.session.redactor.clone(),
                    events,
                );
                self.runs.insert(run, tokio::spawn(task));
            }
            Effect::CancelRun { run } => {
                if let Some(task) = self.runs.remove(&run) {
                    task.abort();
                }
                let link = self.link(&run.target);
                let script = remote::cancel_script(&self.session.id, &run);
                self.closing.push(tokio::spawn(async move {
                    let _ = link.output(&script).await;
                }));
            }
            Effect::StartTimer { timer, after_ms } => {
                self.timers
                    .push(tokio::spawn(fire(timer, after_ms, events)));
            }
            Effect::Ask => {
                if let Some(kind) = self.frontend.ask(&self.release) {
                    self.handle(kind);
                }
            }
            Effect::Finish { .. } => {}
        }
    }

    fn link(&self, target: &str) -> Arc<Link> {
        self.session
            .links
            .get(target)
            .cloned()
            .expect("every planned target has a link")
    }

    /// Nothing is left behind: cancels and lock releases finish, then the links close.
    async fn shut_down(&mut self) {
        for task in self
            .runs
            .drain()
            .map(|(_, t)| t)
            .chain(self.timers.drain(..))
        {
            task.abort();
        }
        for task in self.closing.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        for link in self.session.links.values() {
            link.close().await;
        }
    }
}

async fn fire(timer: Timer, after_ms: u64, events: mpsc::Sender<EventKind>) {
    tokio::time::sleep(Duration::from_millis(after_ms)).await;
    let _ = events.send(EventKind::TimerFired { timer }).await;
}
