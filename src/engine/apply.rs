//! `Release::apply`: the rules of a release, as a function of the state and one event.

use regex::Regex;

use super::event::{Effect, Event, EventKind, Outcome, RunId, StepList, Timer};
use super::plan::StepKind;
use super::plan::{PlannedStep, ReleasePlan};
use super::release::{
    EarlierAttempt, JournalFailure, LinkState, LockState, Mark, Question, Release, RunStatus,
    Stage, StepState, StepStatus, TargetRun, TargetState,
};

impl Release {
    /// Applies one event and returns what the drivers must do next. Pure: no I/O, no clock.
    pub fn apply(&mut self, event: &Event) -> Vec<Effect> {
        if self.aside(event) {
            return Vec::new();
        }
        let before = self.now;
        let asked = self.question.clone();
        self.now = self.now.max(event.at);
        // Log lines held for a trace that nothing continued for long enough are judged before
        // anything reads them.
        self.settle_logs(Some(self.now));
        let mut fx = Vec::new();
        match &event.kind {
            EventKind::Started {
                session,
                operator,
                plan,
            } => {
                self.start(session, operator, plan, &mut fx);
            }
            EventKind::Resumed { .. } => self.resumed_event(event, before, &mut fx),
            kind @ (EventKind::HostKeyTrusted { .. }
            | EventKind::Connected { .. }
            | EventKind::ConnectFailed { .. }
            | EventKind::ConnectionLost { .. }
            | EventKind::Reconnected { .. }) => self.link_event(kind, &mut fx),
            kind @ (EventKind::LockTaken { .. }
            | EventKind::LockBroken { .. }
            | EventKind::LockRefused { .. }
            | EventKind::LockFailed { .. }
            | EventKind::LockLost { .. }
            | EventKind::LocksReleased { .. }) => self.lock_event(kind, &mut fx),
            kind @ (EventKind::Output { .. }
            | EventKind::Exited { .. }
            | EventKind::RunFailed { .. }
            | EventKind::RunLost { .. }
            | EventKind::RunStopped { .. }
            | EventKind::StopFailed { .. }) => self.run_event(kind, &mut fx),
            kind @ (EventKind::Decided { .. }
            | EventKind::ShellOpened { .. }
            | EventKind::ShellClosed { .. }
            | EventKind::Joined { .. }
            | EventKind::Left { .. }
            | EventKind::Voted { .. }) => self.people_event(kind, &mut fx),
            kind @ (EventKind::TimerFired { .. }
            | EventKind::HealthSampled { .. }
            | EventKind::MetricsSampled { .. }
            | EventKind::LogLines { .. }
            | EventKind::LogsDropped { .. }
            | EventKind::TailDown { .. }
            | EventKind::TailUp { .. }) => self.watch_event(kind, &mut fx),
            kind @ (EventKind::VersionFound { .. }
            | EventKind::ChangesFound { .. }
            | EventKind::PendingFound { .. }) => self.ships_event(kind, &mut fx),
            // What the engine stated for the record: told, it changes nothing.
            EventKind::NotifyFailed { .. }
            | EventKind::JournalFailed { .. }
            | EventKind::Refused { .. }
            | EventKind::BatchStarted { .. }
            | EventKind::BatchJudged { .. }
            | EventKind::BatchPromoted { .. } => {}
        }
        // A question opened (or asked again after a resume): the stray-key guard starts now.
        let resumed = matches!(event.kind, EventKind::Resumed { .. });
        if self.question.is_some() && (self.question != asked || resumed) {
            self.question_opened_at = self.now;
        }
        fx
    }

    /// gonogo came back after it died: the gap is noted, the log tails start again, and a
    /// policy given to the resume holds from now on.
    fn resumed_event(&mut self, event: &Event, before: super::event::Millis, fx: &mut Vec<Effect>) {
        let EventKind::Resumed {
            by,
            unattended,
            stopped_at,
            stopped_t,
        } = &event.kind
        else {
            return;
        };
        self.interrupted(by, (*stopped_at, *stopped_t), before, event.at);
        // The log tails start again: what they held ended with the old session.
        self.settle_logs(None);
        if let Some(policy) = unattended
            && self.started_at.is_some()
            && !self.is_finished()
        {
            self.plan.unattended = *policy;
        }
        self.resumed(by, fx)
    }

    /// What changes nothing of the release, and does not make a finished one longer: a
    /// notification that failed, a journal that stopped being written. Noted for the cockpit
    /// and the summary (a journal's first failure only); true when `event` was one.
    fn aside(&mut self, event: &Event) -> bool {
        match &event.kind {
            EventKind::NotifyFailed {
                message,
                error,
                attempts,
            } => self.notify_failed(event.at, message, error, *attempts),
            EventKind::JournalFailed { path, error } => {
                self.journal_failed.get_or_insert_with(|| JournalFailure {
                    at: event.at,
                    path: path.clone(),
                    error: error.clone(),
                });
            }
            _ => return false,
        }
        if !self.is_finished() {
            self.now = self.now.max(event.at);
        }
        true
    }

    fn start(&mut self, session: &str, operator: &str, plan: &ReleasePlan, fx: &mut Vec<Effect>) {
        if self.stage != Stage::Idle {
            return;
        }
        self.session = session.to_string();
        self.operator = operator.to_string();
        self.plan = plan.clone();
        self.started_at = Some(self.now);
        self.steps = plan.steps.iter().map(fresh_state).collect();
        // The loader validated every pattern; one that fails here matches nothing.
        let compile = |s: &PlannedStep| s.expect.as_deref().and_then(|p| Regex::new(p).ok());
        self.expect = plan.steps.iter().map(compile).collect();
        self.refresh_rollback();
        self.logs = super::logs::Logs::planned(plan);
        self.targets = plan
            .targets
            .iter()
            .map(|t| TargetState {
                name: t.name.clone(),
                link: LinkState::Connecting,
                lock: LockState::None,
                host_key: None,
            })
            .collect();
        self.stage = Stage::Connecting;
        fx.extend(self.targets.iter().map(|t| Effect::Connect {
            target: t.name.clone(),
        }));
        self.connected_all(fx);
    }

    pub(super) fn set_link(&mut self, target: &str, link: LinkState) {
        if let Some(t) = self.targets.iter_mut().find(|t| t.name == target) {
            t.link = link;
        }
    }

    /// A target reached: its deploy lock is taken at once, so a host that answers slowly does
    /// not hold up the others'. Nothing runs before every lock is held.
    pub(super) fn connected(&mut self, target: &str, fx: &mut Vec<Effect>) {
        self.set_link(target, LinkState::Up);
        if self.stage == Stage::Connecting {
            fx.push(Effect::TakeLock {
                target: target.to_string(),
            });
        }
        self.connected_all(fx);
    }

    /// Every target reached: once every lock is answered, the release starts (or refuses and
    /// releases what it took).
    fn connected_all(&mut self, fx: &mut Vec<Effect>) {
        if self.stage != Stage::Connecting || self.targets.iter().any(|t| t.link != LinkState::Up) {
            return;
        }
        self.stage = Stage::Locking;
        self.locks_settled(fx);
    }

    /// Moves to step `index` of `list`, passing through steps that need nobody.
    pub(super) fn enter(&mut self, list: StepList, index: usize, fx: &mut Vec<Effect>) {
        let Some(step) = self.list(list).get(index) else {
            return self.list_done(list, fx);
        };
        // The `[[after]]` steps wait for the watch's verdict.
        if list == StepList::Main && step.after_watch && !self.verdict_go {
            return self.list_done(list, fx);
        }
        let kind = step.kind;
        self.stage = Stage::Running { list, step: index };
        let now = self.now;
        self.states_mut(list)[index].started_at = Some(now);
        if list == StepList::Main && kind != StepKind::Analysis {
            self.batch_entered(index, fx);
        }
        let state = &mut self.states_mut(list)[index];
        match kind {
            StepKind::Analysis if list == StepList::Main => self.begin_analysis(index, fx),
            // A rollback has no analysis: it passes.
            StepKind::Analysis => self.pass_waiting(list, index, StepStatus::Passed, fx),
            StepKind::Gate | StepKind::Manual => {
                state.status = StepStatus::Waiting;
                if kind == StepKind::Gate && list == StepList::Main && self.hold_gate(index) {
                    return;
                }
                self.question = Some(match kind {
                    StepKind::Gate => Question::Gate { step: index },
                    _ => Question::Manual { list, step: index },
                });
                fx.push(Effect::Ask);
            }
            StepKind::Run if list == StepList::Main && self.wait_for_baseline(index, fx) => {}
            StepKind::Check | StepKind::Run => {
                let state = &mut self.states_mut(list)[index];
                state.status = StepStatus::Running;
                self.mark_step_start(list, index);
                self.progress(list, index, fx);
            }
        }
    }

    fn list_done(&mut self, list: StepList, fx: &mut Vec<Effect>) {
        match (list, self.plan.watch.as_ref().map(|w| w.duration_ms)) {
            (StepList::Main, Some(duration_ms)) if !self.verdict_go => {
                self.fresh_judgement();
                self.stage = Stage::Watching {
                    until: self.now + duration_ms,
                };
                fx.push(Effect::StartTimer {
                    timer: Timer::WatchEnd,
                    after_ms: duration_ms,
                });
            }
            (StepList::Main, None) if !self.verdict_go && self.after_from().is_some() => {
                // No watch: the verdict is the checklist's end; the `[[after]]` steps follow.
                self.verdict(fx);
            }
            (StepList::Main, _) => self.finish(Outcome::Released, fx),
            (StepList::Rollback, _) => {
                // A step is marked undone only where its undo ran ok on every host it started
                // on; the rest keep how they ended, and each host's mark says why.
                let undone: Vec<usize> = (0..self.steps.len())
                    .filter(|&i| self.undone_everywhere(i))
                    .collect();
                for i in undone {
                    self.steps[i].status = StepStatus::RolledBack;
                }
                self.finish(Outcome::RolledBack, fx);
            }
        }
    }

    /// Decides what a running step does next: start more targets, ask, or move on.
    pub(super) fn progress(&mut self, list: StepList, index: usize, fx: &mut Vec<Effect>) {
        if self.after_stop.is_some() {
            return self.settle(fx);
        }
        if self.stage != (Stage::Running { list, step: index }) || self.question.is_some() {
            return;
        }
        let step = &self.list(list)[index];
        let limit = step.serial.map_or(usize::MAX, |n| n as usize);
        let state = &self.states(list)[index];
        let busy = state
            .targets
            .iter()
            .filter(|t| {
                matches!(
                    t.status,
                    RunStatus::Running | RunStatus::RetryWaiting | RunStatus::Stopping
                )
            })
            .count();
        let failed = state
            .targets
            .iter()
            .any(|t| matches!(t.status, RunStatus::Failed | RunStatus::Unknown));
        let pending: Vec<usize> = state
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.status == RunStatus::Pending)
            .map(|(i, _)| i)
            .collect();
        // After a failure nothing new starts: the operator decides once the rest have finished.
        if !failed {
            for &t in pending.iter().take(limit.saturating_sub(busy)) {
                self.start_run(list, index, t, fx);
            }
            if busy > 0 || !pending.is_empty() {
                return;
            }
        } else if busy > 0 {
            return;
        }
        let now = self.now;
        let state = &mut self.states_mut(list)[index];
        state.finished_at = Some(now);
        if failed {
            state.status = StepStatus::Failed;
            self.question = Some(Question::Failure { list, step: index });
            fx.push(Effect::Ask);
        } else {
            state.status = StepStatus::Passed;
            self.enter(list, index + 1, fx);
        }
    }

    pub(super) fn start_run(
        &mut self,
        list: StepList,
        index: usize,
        t: usize,
        fx: &mut Vec<Effect>,
    ) {
        let timeout_ms = self.list(list)[index].timeout_ms;
        let now = self.now;
        let run = &mut self.states_mut(list)[index].targets[t];
        if let Some(failure) = run.failure.take() {
            run.earlier.push(EarlierAttempt {
                attempt: run.attempt,
                failure,
                at: run.finished_at,
            });
        }
        run.attempt += 1;
        run.status = RunStatus::Running;
        run.started_at = Some(now);
        run.finished_at = None;
        run.exit = None;
        run.expect_matched = false;
        run.failure = None;
        run.stopped = None;
        let id = RunId {
            list,
            step: index,
            target: run.target.clone(),
            attempt: run.attempt,
        };
        if id.attempt > 1 {
            self.mark_attempt(&id, false);
        }
        if list == StepList::Main {
            self.refresh_rollback();
        }
        fx.push(Effect::StartRun {
            run: id.clone(),
            started: false,
        });
        fx.push(Effect::StartTimer {
            timer: Timer::Timeout { run: id },
            after_ms: timeout_ms,
        });
    }

    pub(super) fn target_run_mut(&mut self, run: &RunId) -> Option<&mut TargetRun> {
        self.states_mut(run.list)
            .get_mut(run.step)?
            .targets
            .iter_mut()
            .find(|t| t.target == run.target)
    }

    /// Events about an attempt that is no longer the running one are history, not news.
    pub(super) fn run_is_live(&self, run: &RunId) -> bool {
        self.run_is(run, RunStatus::Running)
    }

    /// Whether `run` is the current attempt of its target and has `status`.
    pub(super) fn run_is(&self, run: &RunId, status: RunStatus) -> bool {
        self.run_state(run)
            .is_some_and(|t| t.attempt == run.attempt && t.status == status)
    }

    pub(super) fn output_line(
        &mut self,
        run: &std::sync::Arc<RunId>,
        stream: super::event::Stream,
        line: &str,
    ) {
        let regex = match run.list {
            StepList::Main => self.expect.get(run.step),
            StepList::Rollback => self.rollback_expect.get(run.step),
        };
        let matched = regex
            .and_then(Option::as_ref)
            .is_some_and(|r| r.is_match(line));
        if matched && let Some(t) = self.target_run_mut(run.as_ref()) {
            t.expect_matched = true;
        }
        self.push_line(run.clone(), stream, Mark::Printed, line);
    }

    pub(super) fn run_ended(
        &mut self,
        run: &RunId,
        mut failure: Option<String>,
        fx: &mut Vec<Effect>,
    ) {
        if !self.run_is_live(run) {
            return;
        }
        let step = &self.list(run.list)[run.step];
        let (kind, retries, delay) = (step.kind, step.retries, step.retry_delay_ms);
        // While the release is stopping (an abort, a lock taken over), nothing new starts.
        let stopping = self.after_stop.is_some();
        if failure.is_none()
            && let Some(pattern) = &step.expect
            && !self.run_state(run).is_some_and(|t| t.expect_matched)
        {
            failure = Some(format!("expected output /{pattern}/ not seen"));
        }
        let Some(t) = self.end_run(run, fx) else {
            return;
        };
        t.status = match &failure {
            None => RunStatus::Passed,
            Some(_) if kind == StepKind::Check && t.attempt <= retries && !stopping => {
                let next = RunId {
                    attempt: t.attempt + 1,
                    ..run.clone()
                };
                fx.push(Effect::StartTimer {
                    timer: Timer::Retry { run: next },
                    after_ms: delay,
                });
                RunStatus::RetryWaiting
            }
            Some(_) => RunStatus::Failed,
        };
        t.failure = failure;
        self.mark_run_end(run);
        self.progress(run.list, run.step, fx);
    }
}

pub(super) fn fresh_state(step: &PlannedStep) -> StepState {
    StepState {
        targets: step
            .targets
            .iter()
            .map(|t| TargetRun {
                target: t.clone(),
                ..TargetRun::default()
            })
            .collect(),
        ..StepState::default()
    }
}
