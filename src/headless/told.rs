//! How headless formats what the narrator told: a mark for its kind and severity, the time,
//! the sentence, its detail indented; a CI annotation for what went wrong.

use super::Headless;
use crate::engine::Release;
use crate::narrate::{Severity, Subject, Told, Topic};

/// The mark a line begins with, or `None` when headless says it another way (a header, the
/// question, the summary at the end).
fn mark(told: &Told) -> Option<&'static str> {
    Some(match told.topic {
        Topic::Started
        | Topic::StepStarted
        | Topic::Attempt
        | Topic::WatchStarted
        | Topic::WatchEnded
        | Topic::RollingBack
        | Topic::RollbackProposed
        | Topic::Baseline
        | Topic::Outcome(_) => return None,
        Topic::Interrupted | Topic::Resumed | Topic::Follower | Topic::AutoRollback => "gonogo: ",
        Topic::Halted if told.subject.is_some() => "gonogo: ",
        Topic::Halted | Topic::LockKept => "!! ",
        Topic::Link
        | Topic::LockTaken { .. }
        | Topic::Lock
        | Topic::Decision { .. }
        | Topic::Logs => "",
        Topic::RunPassed => "ok   ",
        Topic::RunFailed | Topic::RunRetrying => "FAIL ",
        Topic::RunUnknown => "???  ",
        Topic::RunStopping | Topic::RunStopped => "stop ",
        Topic::Overtime => "...  ",
        Topic::Batch if told.severity == Severity::Good => "ok   ",
        Topic::Batch if told.severity == Severity::Bad => "!!   ",
        Topic::Batch => ">>   ",
        Topic::Ships if told.severity == Severity::Info => "",
        Topic::Ships => "!!   ",
        Topic::Shell => "$$  ",
        Topic::Notify => "!!   notify: ",
        Topic::Health | Topic::Vote if told.severity == Severity::Good => "ok   ",
        Topic::Health | Topic::Vote => "!!   ",
    })
}

impl Headless {
    /// One thing told, as lines (and an annotation under GitHub Actions).
    pub(super) fn say(&mut self, told: &Told, release: &Release) {
        let Some(mark) = mark(told) else {
            return;
        };
        let line = format!("{mark}{}", told.text);
        self.line(&line);
        for detail in &told.detail {
            self.line(format!("   {detail}"));
        }
        let level = match told.topic {
            Topic::RunFailed | Topic::RunUnknown => "error",
            Topic::RunRetrying => "warning",
            Topic::Notify => {
                self.warn("notification not delivered", &told.text);
                return;
            }
            _ => return,
        };
        if let Some(Subject::Run(run)) = &told.subject {
            let step = release
                .list(run.list)
                .get(run.step)
                .map_or(String::new(), |s| {
                    crate::text::printable(&s.name).into_owned()
                });
            let target = crate::text::printable(&run.target).into_owned();
            self.annotate(level, &step, &target, &line);
        }
    }
}
