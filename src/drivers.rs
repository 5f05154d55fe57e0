//! The drivers: they turn the engine's effects into work on hosts and timers, and report what
//! happened as events on the channel the run loop reads. They hold no release state. A new
//! driver (log tails, probes, the follow socket) joins `LiveDrivers` and its
//! task registry; with `DriversOff` the same loop replays a list of events and touches nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

mod ships;
pub use ships::{PREVIOUS_TOKEN, ShipsWork};

use crate::engine::{Effect, EventKind, KeptLock, Origin, ReleasePlan, RunId, StepList, Timer};
use crate::probe::check::{self, Work};
use crate::probe::logs::{self, TailSpec};
use crate::transport::lines::Redactor;
use crate::transport::lock::{self, Holder, LockOutcome};
use crate::transport::{Link, remote};

/// What turns effects into events.
pub trait Drivers {
    /// Starts the work one effect asks for; its outcome comes back as events.
    fn effect(&mut self, effect: Effect);
    /// At the end: what is still in flight is given a moment, then connections close.
    fn shut_down(&mut self) -> impl std::future::Future<Output = ()>;
    /// `text` with the session's secrets masked: what a person typed (a note, a reason, a
    /// name) is masked before it is recorded or shown.
    fn mask(&self, text: String) -> String {
        text
    }
}

/// Every driver off: effects are dropped. Replays and tests feed the loop events themselves.
#[derive(Debug, Default)]
pub struct DriversOff {
    /// The effects asked for, oldest first, for a test to look at.
    pub effects: Vec<Effect>,
}

impl Drivers for DriversOff {
    fn effect(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    async fn shut_down(&mut self) {}
}

/// Everything a run needs from the profile and the command line.
pub struct Session {
    pub id: String,
    pub operator: String,
    pub plan: ReleasePlan,
    /// What each check and run step does on each target: its real command (secrets included,
    /// never put in an event), with that target's values, or one of gonogo's own probes.
    pub work: HashMap<(StepList, usize), PerTarget<Work>>,
    /// Where the rollback's steps come from: each `run` step's real `undo` command by its
    /// index, and each `[[rollback]]` step's work by its index in the profile, each per target.
    /// The rollback's own indices are known once it begins (`Effect::RollbackPlanned`).
    pub undo_work: HashMap<usize, PerTarget<Work>>,
    pub rollback_work: HashMap<usize, PerTarget<Work>>,
    pub links: HashMap<String, Arc<Link>>,
    pub holder: Arc<Holder>,
    pub break_lock: Option<String>,
    /// `--stop-previous`: breaking a lock also stops the previous session's steps still running.
    pub stop_previous: bool,
    pub redactor: Arc<Redactor>,
    /// The health checks and metrics scrapes, started before the first change.
    pub probes: crate::probe::drive::Probes,
    /// Each log tail's real command (secrets included) on each target, by tail name.
    pub tails: HashMap<String, PerTarget<String>>,
    /// The commands that find what ships (`[release] current`, `changes`, `pending`).
    pub ships: ships::ShipsWork,
}

/// One thing per target, by target name: what differs with a target's own `vars`.
pub type PerTarget<T> = HashMap<String, T>;

impl Session {
    /// The first event of the session: who runs it, and the plan (no secrets).
    pub fn started(&self) -> EventKind {
        EventKind::Started {
            session: self.id.clone(),
            operator: self.operator.clone(),
            plan: Box::new(self.plan.clone()),
        }
    }
}

/// SSH and local runs, locks and timers, for a live release.
pub struct LiveDrivers {
    session: Session,
    events: mpsc::Sender<EventKind>,
    /// Every task in flight, in one registry: each reports back as events.
    tasks: HashMap<Task, JoinHandle<()>>,
    /// Numbers the chores.
    chores: u64,
    /// The probes running: stopped with the release.
    probes: Vec<JoinHandle<()>>,
    /// Turns true to stop every log tail.
    stop_tails: watch::Sender<bool>,
    /// Each host's version before the release, once found: `{{previous}}` on it.
    previous: HashMap<String, String>,
}

/// What a task in the registry is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Task {
    /// A step attached on its host: stopped at the end (the step itself goes on on the host).
    Run(RunId),
    Timer(Timer),
    /// A lock take or release, or a stop: given a moment to finish at the end.
    Chore(u64),
    /// A log tail on a target: stopped at the end, and given a moment to confirm it.
    Tail {
        target: String,
        name: String,
    },
}

impl LiveDrivers {
    pub fn new(session: Session, events: mpsc::Sender<EventKind>) -> Self {
        LiveDrivers {
            session,
            events,
            tasks: HashMap::new(),
            chores: 0,
            probes: Vec::new(),
            stop_tails: watch::channel(false).0,
            previous: HashMap::new(),
        }
    }

    /// Starts a task under `key`; a task already there under the same key is stopped.
    fn spawn(&mut self, key: Task, task: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Some(old) = self.tasks.insert(key, tokio::spawn(task)) {
            old.abort();
        }
    }

    fn chore(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.retain(|_, t| !t.is_finished());
        self.chores += 1;
        self.spawn(Task::Chore(self.chores), task);
    }

    /// What a run does; `None` when the session holds nothing for it (never an empty
    /// command that would pass having run nothing).
    fn work(&self, run: &RunId) -> Option<Work> {
        self.session
            .work
            .get(&(run.list, run.step))
            .and_then(|on| on.get(&run.target))
            .cloned()
    }

    fn link(&self, target: &str) -> Arc<Link> {
        self.session
            .links
            .get(target)
            .cloned()
            .expect("every planned target has a link")
    }
}

impl LiveDrivers {
    /// `[release] current` on every target, each answering with its version.
    fn find_versions(&mut self) {
        let current = self.session.ships.current.clone();
        for (target, command) in current {
            let link = self.link(&target);
            let (redactor, events) = (self.session.redactor.clone(), self.events.clone());
            self.chore(ships::find_version(link, command, redactor, events));
        }
    }

    /// `[release] changes` here, `{{previous}}` the version found (the first, on a mixed fleet).
    fn find_changes(&mut self) {
        let Some((command, dir)) = self.session.ships.changes.clone() else {
            // Asked, so a gate may wait for the answer: it is told there is none.
            return self.no_list(EventKind::ChangesFound {
                found: nothing_to_run("changes"),
            });
        };
        let first = (self.session.plan.targets.iter())
            .find_map(|t| self.previous.get(&t.name))
            .map(String::as_str);
        let (redactor, events) = (self.session.redactor.clone(), self.events.clone());
        match ships::with_previous(&command, first) {
            Some(command) => self.chore(ships::find_changes(command, dir, redactor, events)),
            None => self.chore(async move {
                let found = crate::engine::ships::Found {
                    error: Some("no version was found running to list the changes from".into()),
                    ..Default::default()
                };
                let _ = events.send(EventKind::ChangesFound { found }).await;
            }),
        }
    }

    /// `[release] pending` on its target.
    fn find_pending(&mut self) {
        let Some((target, command)) = self.session.ships.pending.clone() else {
            let target = self
                .session
                .plan
                .ships
                .pending_on
                .clone()
                .unwrap_or_default();
            return self.no_list(EventKind::PendingFound {
                target,
                found: nothing_to_run("pending"),
            });
        };
        let previous = self.previous.get(&target).map(String::as_str);
        let command = ships::with_previous(&command, previous).unwrap_or(command);
        let link = self.link(&target);
        let (redactor, events) = (self.session.redactor.clone(), self.events.clone());
        self.chore(ships::find_pending(link, command, redactor, events));
    }

    /// A list the engine asked for that this session has no command for: said at once.
    fn no_list(&mut self, kind: EventKind) {
        let events = self.events.clone();
        self.chore(async move {
            let _ = events.send(kind).await;
        });
    }

    /// The rollback's steps, as the engine planned them from what ran: each one's real command.
    fn plan_rollback(&mut self, origins: Vec<Origin>) {
        let session = &mut self.session;
        session.work.retain(|(list, _), _| *list == StepList::Main);
        for (i, origin) in origins.into_iter().enumerate() {
            let work = match origin {
                Origin::Undo { step } => session.undo_work.get(&step),
                Origin::Rollback { index } => session.rollback_work.get(&index),
            };
            if let Some(work) = work {
                session.work.insert((StepList::Rollback, i), work.clone());
            }
        }
    }

    fn connect(&mut self, target: String, events: mpsc::Sender<EventKind>) {
        let link = self.link(&target);
        let redactor = self.session.redactor.clone();
        tokio::spawn(async move {
            let kind = match link.connect().await {
                Ok(host_key) => {
                    if let Some(fingerprint) = host_key {
                        let trusted = EventKind::HostKeyTrusted {
                            target: target.clone(),
                            fingerprint,
                        };
                        let _ = events.send(trusted).await;
                    }
                    EventKind::Connected { target }
                }
                // A secret used in a host or user name is not shown in the error either.
                Err(error) => EventKind::ConnectFailed {
                    target,
                    error: redactor.mask(error.to_string()),
                },
            };
            let _ = events.send(kind).await;
        });
    }

    fn take_lock(&mut self, target: String, events: mpsc::Sender<EventKind>) {
        let link = self.link(&target);
        let holder = self.session.holder.clone();
        let reason = self.session.break_lock.clone();
        let stop = self.session.stop_previous;
        self.chore(async move {
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
                Err(error) => lock_failed(target, &error),
            };
            let _ = events.send(kind).await;
        });
    }

    /// A resumed session's lock: still its own?
    fn confirm_lock(&mut self, target: String, events: mpsc::Sender<EventKind>) {
        let link = self.link(&target);
        let holder = self.session.holder.clone();
        self.chore(async move {
            let kind = match lock::confirm(&link, &holder).await {
                Ok(LockOutcome::Taken) => EventKind::LockTaken { target },
                Ok(LockOutcome::Held(holder) | LockOutcome::Broken { holder, .. }) => {
                    EventKind::LockRefused { target, holder }
                }
                Ok(LockOutcome::StillRunning { holder, .. }) => {
                    EventKind::LockRefused { target, holder }
                }
                Err(error) => lock_failed(target, &error),
            };
            let _ = events.send(kind).await;
        });
    }

    fn release_locks(&mut self, targets: &[String], events: mpsc::Sender<EventKind>) {
        let links: Vec<Arc<Link>> = targets.iter().map(|t| self.link(t)).collect();
        let holder = self.session.holder.clone();
        self.chore(async move {
            let releases = links.iter().map(|link| release_lock(link, &holder));
            let answers = futures::future::join_all(releases).await;
            let (mut released, mut kept) = (Vec::new(), Vec::new());
            for (link, answer) in links.iter().zip(answers) {
                match answer {
                    Ok(()) => released.push(link.target.clone()),
                    Err(why) => kept.push(KeptLock {
                        target: link.target.clone(),
                        remove: holder.remove_command(&link.target),
                        why: why.to_string(),
                    }),
                }
            }
            let _ = events
                .send(EventKind::LocksReleased { released, kept })
                .await;
        });
    }

    fn start_run(&mut self, run: RunId, started: bool, events: mpsc::Sender<EventKind>) {
        let link = self.link(&run.target);
        let redactor = self.session.redactor.clone();
        let Some(work) = self.work(&run) else {
            let error = format!(
                "gonogo holds no command for this step on {}: nothing was run",
                run.target
            );
            return self.chore(async move {
                let _ = events.send(EventKind::RunFailed { run, error }).await;
            });
        };
        match work {
            Work::Command(command) => {
                let previous = self.previous.get(&run.target).map(String::as_str);
                let Some(command) = ships::with_previous(&command, previous) else {
                    let error = "the version this host ran before is unknown: `{{previous}}` has no value here".to_string();
                    return self.chore(async move {
                        let _ = events.send(EventKind::RunFailed { run, error }).await;
                    });
                };
                let holder = self.session.holder.clone();
                let task = remote::drive(
                    link,
                    holder,
                    (run.clone(), started),
                    command,
                    redactor,
                    events,
                );
                self.spawn(Task::Run(run), task);
            }
            Work::Probe(probe) => {
                let task = check::drive(link, run.clone(), probe, redactor, events);
                self.spawn(Task::Run(run), task);
            }
        }
    }
}

impl Drivers for LiveDrivers {
    fn mask(&self, text: String) -> String {
        self.session.redactor.mask(text)
    }

    fn effect(&mut self, effect: Effect) {
        let events = self.events.clone();
        match effect {
            Effect::RollbackPlanned { origins } => self.plan_rollback(origins),
            Effect::StartProbes => {
                let session = &self.session;
                self.probes = session
                    .probes
                    .start(&session.links, &events, &session.redactor);
            }
            Effect::StopProbes => {
                for probe in self.probes.drain(..) {
                    probe.abort();
                }
            }
            Effect::Connect { target } => self.connect(target, events),
            Effect::TakeLock { target } => self.take_lock(target, events),
            Effect::ConfirmLock { target } => self.confirm_lock(target, events),
            Effect::ReleaseLocks { targets } => self.release_locks(&targets, events),
            Effect::StartRun { run, started } => self.start_run(run, started, events),
            // gonogo's own probe runs nothing on the host: stopping it here is the whole stop.
            Effect::CancelRun { run } if matches!(self.work(&run), Some(Work::Probe(_))) => {
                if let Some(task) = self.tasks.remove(&Task::Run(run.clone())) {
                    task.abort();
                }
                let how = "stopped (gonogo's own check: nothing ran on the host)".to_string();
                self.chore(async move {
                    let _ = events.send(EventKind::RunStopped { run, how }).await;
                });
            }
            Effect::CancelRun { run } => {
                // The attach keeps streaming what the step says while it stops; the cancel
                // reports what the host confirmed.
                let link = self.link(&run.target);
                let holder = self.session.holder.clone();
                self.chore(remote::stop(link, holder, run, events));
            }
            Effect::StartTimer { timer, after_ms } => {
                self.spawn(Task::Timer(timer.clone()), fire(timer, after_ms, events));
            }
            Effect::CancelTimer { timer } => {
                if let Some(task) = self.tasks.remove(&Task::Timer(timer)) {
                    task.abort();
                }
            }
            Effect::FollowLogs => self.follow_logs(),
            Effect::StopTails => {
                self.stop_tails.send_replace(true);
            }
            Effect::FindVersions => self.find_versions(),
            Effect::FindChanges => self.find_changes(),
            Effect::FindPending => self.find_pending(),
            Effect::UsePrevious { previous } => self.previous = previous.into_iter().collect(),
            // What the engine states for the record comes back as an event: journaled, told.
            // Queued at once when there is room, so it comes before what drivers say next.
            Effect::Record { event } => {
                if let Err(mpsc::error::TrySendError::Full(event)) = events.try_send(*event) {
                    self.chore(async move {
                        let _ = events.send(event).await;
                    });
                }
            }
            // Questions are the loop's business; the end needs no driver.
            Effect::Ask | Effect::Finish { .. } => {}
        }
    }

    /// Nothing is left behind: the engine has had every cancel and lock release confirmed
    /// before it finished; what is still in flight here is given a moment, then the links close.
    async fn shut_down(&mut self) {
        for probe in self.probes.drain(..) {
            probe.abort();
        }
        // Log tails end with their commands killed on the hosts; the links stay up meanwhile.
        self.stop_tails.send_replace(true);
        let mut chores = Vec::new();
        for (key, task) in self.tasks.drain() {
            match key {
                Task::Chore(_) | Task::Tail { .. } => chores.push(task),
                Task::Run(_) | Task::Timer(_) => task.abort(),
            }
        }
        // One moment for all of them together, not one each.
        let _ =
            tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(chores)).await;
        for link in self.session.links.values() {
            link.close().await;
        }
    }
}

impl LiveDrivers {
    /// Every tail of the plan on each of its targets, until `StopTails`.
    fn follow_logs(&mut self) {
        let planned = self.session.plan.logs.clone();
        for tail in planned {
            let Some(commands) = self.session.tails.get(&tail.name).cloned() else {
                continue;
            };
            for target in &tail.targets {
                let Some(command) = commands.get(target).cloned() else {
                    continue;
                };
                let spec = TailSpec {
                    name: tail.name.clone(),
                    target: target.clone(),
                    command,
                };
                let task = logs::follow(
                    self.link(target),
                    spec,
                    self.session.redactor.clone(),
                    self.events.clone(),
                    self.stop_tails.subscribe(),
                );
                let key = Task::Tail {
                    target: target.clone(),
                    name: tail.name.clone(),
                };
                self.spawn(key, task);
            }
        }
    }
}

/// How long releasing a lock may take at the end, reconnecting included.
const RELEASE_WAIT: Duration = Duration::from_secs(30);

fn lock_failed(target: String, error: &lock::LockError) -> EventKind {
    let error = error.to_string();
    EventKind::LockFailed { target, error }
}

/// Why a lock stayed on its target at the end.
#[derive(Debug, thiserror::Error)]
enum LockKept {
    /// The host kept it, and said why (steps still running, another session's now).
    #[error("{0}")]
    Kept(String),
    #[error("could not release it: {0}")]
    Failed(#[from] lock::LockError),
    #[error("could not release it: no answer within {}", humantime::format_duration(*.0))]
    NoAnswer(Duration),
}

/// Releases one target's lock; `Err` says why it was kept.
async fn release_lock(link: &Link, holder: &Holder) -> Result<(), LockKept> {
    match tokio::time::timeout(RELEASE_WAIT, lock::release(link, holder)).await {
        Ok(Ok(lock::Released::Released)) => Ok(()),
        Ok(Ok(lock::Released::Kept(why))) => Err(LockKept::Kept(why)),
        Ok(Err(e)) => Err(LockKept::Failed(e)),
        Err(_) => Err(LockKept::NoAnswer(RELEASE_WAIT)),
    }
}

async fn fire(timer: Timer, after_ms: u64, events: mpsc::Sender<EventKind>) {
    tokio::time::sleep(Duration::from_millis(after_ms)).await;
    let _ = events.send(EventKind::TimerFired { timer }).await;
}

/// The answer for a list whose command this session does not have.
fn nothing_to_run(what: &str) -> crate::engine::ships::Found {
    crate::engine::ships::Found {
        error: Some(format!("`{what}` has no command to run here")),
        ..Default::default()
    }
}
