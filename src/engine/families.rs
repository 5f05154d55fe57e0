//! `Release::apply` by family of events: the links to the targets, the deploy locks, the runs,
//! what people do (decisions, shells, followers and their votes), and what the watch reads
//! (timers, health, metrics, logs). `apply` hands each family only its own kinds.

use super::event::{Effect, EventKind};
use super::release::{LinkState, LockState, Release, RunStatus, Stage};

impl Release {
    pub(super) fn link_event(&mut self, kind: &EventKind, fx: &mut Vec<Effect>) {
        match kind {
            EventKind::HostKeyTrusted {
                target,
                fingerprint,
            } => {
                if let Some(t) = self.targets.iter_mut().find(|t| t.name == *target) {
                    t.host_key = Some(fingerprint.clone());
                }
            }
            EventKind::Connected { target } => self.connected(target, fx),
            EventKind::ConnectFailed { target, error } => {
                let reached =
                    (self.targets.iter()).any(|t| t.name == *target && t.link == LinkState::Up);
                if self.stage == Stage::Locking && reached {
                    let why = format!("cannot take the lock on {target}: {error}");
                    self.lock_answer(target, LockState::Failed, Some(why), fx);
                } else if self.stage == Stage::Connecting {
                    self.refusals
                        .push(format!("cannot reach {target}: {error}"));
                    self.set_link(
                        target,
                        LinkState::Failed {
                            error: error.clone(),
                        },
                    );
                    // The locks already asked for are answered, then released.
                    self.stage = Stage::Locking;
                    self.locks_settled(fx);
                }
            }
            EventKind::ConnectionLost { target, error } => {
                let down = LinkState::Down {
                    since: self.now,
                    error: error.clone(),
                };
                self.set_link(target, down);
                self.mark_link(target, &format!("connection lost ({error}); reconnecting"));
            }
            EventKind::Reconnected { target } => {
                let gap = self.down_for(target).unwrap_or_default();
                self.set_link(target, LinkState::Up);
                self.mark_link(target, &format!("reconnected after {gap}"));
            }
            _ => {}
        }
    }

    pub(super) fn lock_event(&mut self, kind: &EventKind, fx: &mut Vec<Effect>) {
        match kind {
            // While a resume confirms its locks, the answer is the resume's.
            EventKind::LockTaken { target } if !self.resume_lock(target, None, fx) => {
                self.lock_answer(target, LockState::Held, None, fx)
            }
            EventKind::LockBroken {
                target,
                holder,
                reason,
                ..
            } => {
                if self.stage == Stage::Locking {
                    self.broken_locks
                        .push((target.clone(), holder.clone(), reason.clone()));
                }
                self.lock_answer(target, LockState::Held, None, fx);
            }
            EventKind::LockRefused { target, holder }
                if self.resume_lock(target, Some(holder), fx) => {}
            EventKind::LockFailed { target, error }
                if self.resume_lock(
                    target,
                    Some(&format!(
                        "nobody gonogo could name (the lock could not be read: {error})"
                    )),
                    fx,
                ) => {}
            EventKind::LockRefused { target, holder } => {
                let why = format!(
                    "{target} is locked by {holder} (--break-lock \"REASON\" takes it over)"
                );
                self.lock_answer(target, LockState::Refused, Some(why), fx);
            }
            EventKind::LockFailed { target, error } => {
                let why = format!("cannot take the lock on {target}: {error}");
                self.lock_answer(target, LockState::Failed, Some(why), fx);
            }
            EventKind::LockLost { run, holder } => self.lock_lost(run, holder, fx),
            EventKind::LocksReleased { released, kept } => self.locks_released(released, kept, fx),
            _ => {}
        }
    }

    pub(super) fn run_event(&mut self, kind: &EventKind, fx: &mut Vec<Effect>) {
        match kind {
            EventKind::RunLost { run, error } => self.run_lost(run, error, fx),
            EventKind::RunStopped { run, how } => self.run_stopped(run, Ok(how), fx),
            EventKind::StopFailed { run, error } => self.run_stopped(run, Err(error), fx),
            // A step being stopped still speaks (its TERM handler): keep its words.
            EventKind::Output { run, stream, lines }
                if self.run_is_live(run) || self.run_is(run, RunStatus::Stopping) =>
            {
                let run = std::sync::Arc::new(run.clone());
                for line in lines {
                    self.output_line(&run, *stream, line);
                }
            }
            EventKind::Exited { run, status } => {
                let failure = (*status != 0).then(|| format!("exit {status}"));
                if self.run_is(run, RunStatus::Stopping) {
                    // Its shell ended; whether anything it started is left, the stop says.
                    if let Some(t) = self.target_run_mut(run) {
                        t.exit = Some(*status);
                    }
                } else {
                    self.run_ended(run, failure, fx);
                }
            }
            EventKind::RunFailed { run, error } => self.run_ended(run, Some(error.clone()), fx),
            _ => {}
        }
    }

    pub(super) fn people_event(&mut self, kind: &EventKind, fx: &mut Vec<Effect>) {
        match kind {
            EventKind::Decided {
                by,
                decision,
                note,
                actor,
            } => self.recorded_decision(by, decision, note, *actor, fx),
            EventKind::ShellOpened { by, target } => {
                self.shells.push(super::release::ShellRecord {
                    at: self.now,
                    by: by.clone(),
                    target: target.clone(),
                });
                self.mark_shell(target, &format!("{by} opened a shell here"));
            }
            EventKind::ShellClosed { target, how } => {
                self.mark_shell(target, &format!("shell closed ({how})"));
            }
            EventKind::Joined {
                name,
                via,
                approver,
            } => self.followers.push(super::release::Follower {
                name: name.clone(),
                via: via.clone(),
                approver: *approver,
                since: self.now,
            }),
            EventKind::Voted {
                name,
                via,
                approver,
                step,
                digest,
                note,
                counted,
            } => {
                let vote = super::vote::Vote {
                    name: name.clone(),
                    via: via.clone(),
                    approver: *approver,
                    step: *step,
                    digest: digest.clone(),
                    note: note.clone(),
                };
                self.voted(vote, *counted, fx)
            }
            EventKind::Left { name, .. } => {
                if let Some(i) = self.followers.iter().position(|f| f.name == *name) {
                    self.followers.remove(i);
                }
            }
            _ => {}
        }
    }

    pub(super) fn watch_event(&mut self, kind: &EventKind, fx: &mut Vec<Effect>) {
        match kind {
            EventKind::TimerFired { timer } => self.timer(timer, fx),
            EventKind::HealthSampled {
                check,
                via,
                reading,
            } => self.health_sampled(check, via.as_deref(), reading, fx),
            EventKind::MetricsSampled {
                source,
                via,
                reading,
            } => self.metrics_sampled(source, via.as_deref(), reading, fx),
            EventKind::LogLines {
                target,
                tail,
                lines,
            } => {
                self.log_lines(target, tail, lines, fx);
                self.log_rules_move(fx);
            }
            EventKind::LogsDropped {
                target,
                tail,
                count,
            } => self.logs_dropped(target, tail, *count),
            EventKind::TailDown {
                target,
                tail,
                error,
            } => self.tail_down(target, tail, error),
            EventKind::TailUp {
                target,
                tail,
                gap_ms,
            } => self.tail_up(target, tail, *gap_ms),
            _ => {}
        }
    }
}
