//! How headless tells progress: each run's state once, the time on every line, and a
//! heartbeat when nothing else is said.

use std::io::Write as _;
use std::time::Duration;

use super::Headless;
use crate::engine::release::RunStatus;
use crate::engine::{Release, Stage};
use crate::text::printable;

/// How long headless stays silent before saying what it waits on. A debug build (the tests)
/// takes it from `GONOGO_HEARTBEAT_MS` when set.
/// How often the watch's status line comes, however busy the output.
pub(super) const STATUS_EVERY_MS: u64 = 15_000;

pub(super) fn heartbeat_ms() -> u64 {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("GONOGO_HEARTBEAT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return ms;
    }
    30_000
}

impl Headless {
    /// `HH:MM:SS ` of the loop's clock, local time, on every line (computed once a second).
    pub(super) fn stamp(&mut self) -> std::rc::Rc<str> {
        let second = self.now / 1000;
        if self.stamp.0 != second {
            let text = i64::try_from(self.now)
                .ok()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| {
                    t.with_timezone(&chrono::Local)
                        .format("%H:%M:%S ")
                        .to_string()
                })
                .unwrap_or_default();
            self.stamp = (second, text.into());
        }
        self.stamp.1.clone()
    }

    /// After a long silence, one line saying what the release waits on, so a quiet wait does
    /// not read as a hang.
    pub(super) fn heartbeat(&mut self, release: &Release) {
        if release.outcome.is_none() && self.watch_status(release) {
            return;
        }
        if release.outcome.is_some() || self.now.saturating_sub(self.quiet_since) < self.heartbeat {
            return;
        }
        self.quiet_since = self.now;
        let waiting = if let Stage::Watching { until } = release.stage {
            format!(
                "watching: {} left",
                humantime::format_duration(Duration::from_secs(
                    until.saturating_sub(self.now) / 1000
                ))
            )
        } else if release.question.is_some() {
            "waiting for your answer".to_string()
        } else if let Some((list, index)) = release.current() {
            let running: Vec<String> = release.states(list)[index]
                .targets
                .iter()
                .filter(|t| t.status == RunStatus::Running)
                .map(|t| {
                    let took = t.started_at.map_or(0, |a| self.now.saturating_sub(a)) / 1000;
                    format!("{} ({}s)", printable(&t.target), took)
                })
                .collect();
            if running.is_empty() {
                return;
            }
            format!(
                "still running {}: {}",
                printable(&release.list(list)[index].name),
                running.join(", ")
            )
        } else {
            return;
        };
        self.line(format!("...  {waiting}"));
        let _ = self.out.flush();
    }

    /// During the watch, and while a step runs longer than 10 s, a status line every
    /// [`STATUS_EVERY_MS`] however much else is printed: time left, each rule's state, health
    /// and errors; a CI log reader tells a healthy watch from a hung job. True when it printed.
    fn watch_status(&mut self, release: &Release) -> bool {
        let long_step = release.current().is_some_and(|(list, index)| {
            release.states(list)[index].targets.iter().any(|t| {
                t.status == RunStatus::Running
                    && t.started_at
                        .is_some_and(|a| self.now.saturating_sub(a) >= 10_000)
            })
        });
        let watching = matches!(release.stage, Stage::Watching { .. });
        if !(watching || long_step) || release.question.is_some() {
            return false;
        }
        let last = *self.status_at.get_or_insert(self.now);
        if self.now.saturating_sub(last) < STATUS_EVERY_MS {
            return false;
        }
        self.status_at = Some(self.now);
        if !watching {
            // The heartbeat below says what runs.
            self.quiet_since = 0;
            return false;
        }
        let Stage::Watching { until } = release.stage else {
            return false;
        };
        let left =
            humantime::format_duration(Duration::from_secs(until.saturating_sub(self.now) / 1000));
        self.line(format!(
            "...  watching: {left} left; {}",
            crate::ui::health::health_summary(release)
        ));
        let rules = release
            .plan
            .watch
            .as_ref()
            .map(|w| w.rollback_on.clone())
            .unwrap_or_default();
        for (i, rule) in rules.iter().enumerate() {
            let stand = release.rule_stand(i);
            self.line(format!("     {}: {}", printable(&rule.text), stand.words()));
        }
        self.quiet_since = self.now;
        let _ = self.out.flush();
        true
    }
}
