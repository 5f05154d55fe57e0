//! The run loop: the single owner of the `Release`. Events from drivers and the operator come
//! in on channels; each is stamped, applied, shown, and its effects handed to drivers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::{
    Effect, Event, EventKind, KeptLock, Millis, Release, ReleasePlan, RunId, StepList, Timer,
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
    /// A question just opened (the engine's `Ask`): a front end shows it, and an answer it has
    /// at once (`--yes`, answers piped ahead, a closed stdin) comes back as an input decision.
    Asked,
    /// SIGTERM, or the terminal went away (SIGHUP): abort now, release the locks, leave.
    Terminate(String),
}

/// A face of the run: headless lines today, the cockpit later. It shows and asks; the loop
/// owns the state.
pub trait Frontend {
    fn show(&mut self, event: &Event, release: &Release);
    /// What the operator did; a decision comes back as the event it makes. Decisions enter only
    /// here, never while an effect runs, so a journal holds every one of them.
    fn input(&mut self, input: Input, release: &Release) -> Option<EventKind>;
    /// Called after each batch of events and inputs: flush or redraw once for the batch. `now`
    /// is the loop's clock (a replay passes its own), so front ends read none.
    fn flush(&mut self, release: &Release, now: Millis);
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
    pub holder: Arc<Holder>,
    pub break_lock: Option<String>,
    /// `--stop-previous`: breaking a lock also stops the previous session's steps still running.
    pub stop_previous: bool,
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
    /// Lock takes and releases, and cancels: each reports back as an event.
    closing: Vec<JoinHandle<()>>,
    timers: HashMap<Timer, JoinHandle<()>>,
    /// Questions opened and not yet shown to the front end.
    asked: std::collections::VecDeque<Input>,
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
        timers: HashMap::new(),
        asked: std::collections::VecDeque::new(),
    };
    lp.handle(started);
    let mut batch = Vec::with_capacity(512);
    let mut shut = false;
    let mut terminated = false;
    loop {
        if lp.release.is_finished() && !shut {
            lp.frontend.flush(&lp.release, now_ms());
            lp.shut_down().await;
            shut = true;
        }
        if shut && (terminated || !lp.frontend.keep_open()) {
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
        lp.frontend.flush(&lp.release, now_ms());
    }
    if !shut {
        lp.shut_down().await;
    }
    lp.frontend.flush(&lp.release, now_ms());
    lp.release
}

impl Loop<'_> {
    /// One input: a decision it makes is applied like any event. True for a terminate signal.
    fn input(&mut self, input: Input) -> bool {
        if let Input::Terminate(why) = input {
            let by = self.session.operator.clone();
            self.handle(EventKind::Decided {
                by,
                decision: crate::engine::Decision::Abort,
                note: Some(why),
                actor: crate::engine::Actor::Gonogo,
            });
            return true;
        }
        if let Some(kind) = self.frontend.input(input, &self.release) {
            self.handle(kind);
        }
        false
    }

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
                let redactor = self.session.redactor.clone();
                tokio::spawn(async move {
                    let kind = match link.connect().await {
                        Ok(()) => EventKind::Connected { target },
                        // A secret used in a host or user name is not shown in the error either.
                        Err(error) => EventKind::ConnectFailed {
                            target,
                            error: redactor.mask(error),
                        },
                    };
                    let _ = events.send(kind).await;
                });
            }
            Effect::TakeLock { target } => {
                let link = self.link(&target);
                let holder = self.session.holder.clone();
                let reason = self.session.break_lock.clone();
                let stop = self.session.stop_previous;
                self.closing.push(tokio::spawn(async move {
                    let kind = match lock::take(&link, &holder, reason.as_deref(), stop).await {
                        Ok(LockOutcome::Taken) => EventKind::LockTaken { target },
                        Ok(LockOutcome::Held(holder)) => EventKind::LockRefused { target, holder },
                        Ok(LockOutcome::Broken { holder, leftovers }) => EventKind::LockBroken {
                            target,
                            holder,
                            reason: reason.unwrap_or_default(),
                            leftovers,
                        },
                        Ok(LockOutcome::StillRunning { holder, running }) => {
                            EventKind::LockRefused {
                                target,
                                holder: format!(
                                    "{holder}, whose steps still run there: {}; not breaking it (--stop-previous stops them first)",
                                    running.join(", ")
                                ),
                            }
                        }
                        Err(error) => EventKind::LockFailed { target, error },
                    };
                    let _ = events.send(kind).await;
                }));
            }
            Effect::ReleaseLocks { targets } => {
                let links: Vec<Arc<Link>> = targets.iter().map(|t| self.link(t)).collect();
                let holder = self.session.holder.clone();
                self.closing.push(tokio::spawn(async move {
                    let releases = links.iter().map(|link| release_lock(link, &holder));
                    let answers = futures::future::join_all(releases).await;
                    let (mut released, mut kept) = (Vec::new(), Vec::new());
                    for (link, answer) in links.iter().zip(answers) {
                        match answer {
                            Ok(()) => released.push(link.target.clone()),
                            Err(why) => kept.push(KeptLock {
                                target: link.target.clone(),
                                remove: holder.remove_command(&link.target),
                                why,
                            }),
                        }
                    }
                    let _ = events
                        .send(EventKind::LocksReleased { released, kept })
                        .await;
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
                    self.session.holder.clone(),
                    run.clone(),
                    command,
                    self.session.redactor.clone(),
                    events,
                );
                if let Some(old) = self.runs.insert(run, tokio::spawn(task)) {
                    old.abort();
                }
            }
            Effect::CancelRun { run } => {
                // The attach keeps streaming what the step says while it stops; the cancel
                // reports what the host confirmed.
                let link = self.link(&run.target);
                let holder = self.session.holder.clone();
                self.closing
                    .push(tokio::spawn(remote::stop(link, holder, run, events)));
            }
            Effect::StartTimer { timer, after_ms } => {
                let task = tokio::spawn(fire(timer.clone(), after_ms, events));
                if let Some(old) = self.timers.insert(timer, task) {
                    old.abort();
                }
            }
            Effect::CancelTimer { timer } => {
                if let Some(task) = self.timers.remove(&timer) {
                    task.abort();
                }
            }
            Effect::Ask => self.asked.push_back(Input::Asked),
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

    /// Nothing is left behind: the engine has had every cancel and lock release confirmed
    /// before it finished; what is still in flight here is given a moment, then the links close.
    async fn shut_down(&mut self) {
        let runs = self.runs.drain().map(|(_, task)| task);
        for task in runs.chain(self.timers.drain().map(|(_, task)| task)) {
            task.abort();
        }
        for task in self.closing.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        for link in self.session.links.values() {
            link.close().await;
        }
    }
}

/// How long releasing a lock may take at the end, reconnecting included.
const RELEASE_WAIT: Duration = Duration::from_secs(30);

/// Releases one target's lock; `Err` says why it was kept.
async fn release_lock(link: &Link, holder: &Holder) -> Result<(), String> {
    match tokio::time::timeout(RELEASE_WAIT, lock::release(link, holder)).await {
        Ok(Ok(lock::Released::Released)) => Ok(()),
        Ok(Ok(lock::Released::Kept(why))) => Err(why),
        Ok(Err(e)) => Err(format!("could not release it: {e}")),
        Err(_) => Err(format!(
            "could not release it: no answer within {}",
            humantime::format_duration(RELEASE_WAIT)
        )),
    }
}

async fn fire(timer: Timer, after_ms: u64, events: mpsc::Sender<EventKind>) {
    tokio::time::sleep(Duration::from_millis(after_ms)).await;
    let _ = events.send(EventKind::TimerFired { timer }).await;
}
