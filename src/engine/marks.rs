//! The release's own lines between the steps' output: where a step and an attempt begin, the
//! command it runs, how each target's run ended, and what happened to the links meanwhile. The
//! output pane reads like a terminal session with headings, and a retried failure stays in it.

use std::sync::Arc;

use super::event::{RunId, StepList, Stream};
use super::release::{LinkState, Mark, OUTPUT_LINES_KEPT, OutputLine, Release, RunStatus};

impl Release {
    pub(super) fn push_line(&mut self, run: Arc<RunId>, stream: Stream, mark: Mark, line: &str) {
        let mut spare = None;
        if self.output.len() == OUTPUT_LINES_KEPT {
            self.output
                .drop_oldest(|oldest| spare = Some(std::mem::take(&mut oldest.line)));
            self.output_dropped += 1;
        }
        self.output.push_back(OutputLine {
            at: self.now,
            run,
            stream,
            mark,
            line: copy_into(spare, line),
        });
    }

    fn mark(&mut self, list: StepList, step: usize, target: &str, mark: Mark, text: &str) {
        let run = Arc::new(RunId {
            list,
            step,
            target: target.to_string(),
            attempt: 0,
        });
        self.push_line(run, Stream::Stdout, mark, text);
    }

    /// A check or action begins: its place in the checklist, its name and targets, and the
    /// command as shown to people (secrets masked).
    pub(super) fn mark_step_start(&mut self, list: StepList, step: usize) {
        let steps = self.list(list);
        let Some(planned) = steps.get(step) else {
            return;
        };
        let place = match list {
            StepList::Main => format!("{}/{}", step + 1, steps.len()),
            StepList::Rollback => format!("rollback {}/{}", step + 1, steps.len()),
        };
        let heading = format!(
            "{place} {} · {} on {}",
            planned.phase,
            planned.name,
            planned.targets.join(", ")
        );
        // A built-in check's heading says it all: it has no command.
        let command = match planned.builtin {
            None => planned.text.clone(),
            Some(_) => String::new(),
        };
        self.mark(list, step, "", Mark::Step, &heading);
        for line in command.lines() {
            self.mark(list, step, "", Mark::Command, line);
        }
    }

    /// A run attached again by a resume: it is not run again, but its output so far is read
    /// again from its start.
    pub(super) fn mark_resumed_run(&mut self, run: &RunId) {
        let text = format!(
            "attached again after the resume (attempt {} is not run again): its output so far follows again",
            run.attempt
        );
        self.mark(run.list, run.step, &run.target, Mark::Attempt, &text);
    }

    /// Another attempt of a run on one target: a retry, or a re-attach after a lost link.
    pub(super) fn mark_attempt(&mut self, run: &RunId, reattach: bool) {
        let text = if reattach {
            format!(
                "re-attaching to attempt {} (it is not run again)",
                run.attempt
            )
        } else {
            format!("attempt {}", run.attempt)
        };
        self.mark(run.list, run.step, &run.target, Mark::Attempt, &text);
    }

    /// How a target's run ended, in words, once the engine knows.
    pub(super) fn mark_run_end(&mut self, run: &RunId) {
        let Some(t) = self.run_state(run) else {
            return;
        };
        let took = match (t.started_at, t.finished_at) {
            (Some(s), Some(f)) => format!(" after {}", seconds(f.saturating_sub(s))),
            _ => String::new(),
        };
        let failure = t.failure.clone().unwrap_or_default();
        let text = match t.status {
            RunStatus::Passed => format!("ok{took}"),
            RunStatus::RetryWaiting => format!("failed{took}: {failure}; retrying"),
            RunStatus::Failed => match &t.stopped {
                Some(how) => format!("failed{took}: {failure}; {how}"),
                None => format!("failed{took}: {failure}"),
            },
            RunStatus::Cancelled => match &t.stopped {
                Some(how) => format!("stopped: {how}"),
                None => "stopped".to_string(),
            },
            RunStatus::Unknown => format!("outcome unknown: {failure}"),
            _ => return,
        };
        let mark = Mark::Ended(t.status);
        self.mark(run.list, run.step, &run.target, mark, &text);
    }

    /// A link dropped, came back, or was given up, shown under the step that was running.
    pub(super) fn mark_link(&mut self, target: &str, text: &str) {
        let (list, step) = self.current().unwrap_or((StepList::Main, 0));
        self.mark(list, step, target, Mark::Link, text);
    }

    /// A follower's GO, as the engine judged it: under the gate it was cast at.
    pub(super) fn mark_vote(&mut self, step: usize, text: &str, counted: bool) {
        self.mark(StepList::Main, step, "", Mark::Vote { counted }, text);
    }

    pub(super) fn mark_shell(&mut self, target: &str, text: &str) {
        let (list, step) = self.current().unwrap_or((StepList::Main, 0));
        self.mark(list, step, target, Mark::Shell, text);
    }

    /// How long the link to `target` has been down, if it is.
    pub(super) fn down_for(&self, target: &str) -> Option<String> {
        let t = self.targets.iter().find(|t| t.name == target)?;
        match &t.link {
            LinkState::Down { since, .. } | LinkState::Lost { since, .. } => {
                Some(seconds(self.now.saturating_sub(*since)))
            }
            _ => None,
        }
    }
}

/// As people read a wait: tenths under ten seconds ("0.3s", "4.0s"), whole seconds above
/// ("2m 5s").
fn seconds(ms: u64) -> String {
    if ms < 10_000 {
        return format!("{}.{}s", ms / 1000, ms % 1000 / 100);
    }
    humantime::format_duration(std::time::Duration::from_secs(ms / 1000)).to_string()
}

/// `line` as an owned string, in the buffer of a line the scrollback just let go when it fits
/// (a flood of output then allocates nothing here); never in one much larger than the line, so
/// a few runaway lines do not leave every kept line holding their size.
pub(super) fn copy_into(spare: Option<String>, line: &str) -> String {
    match spare {
        Some(mut text)
            if text.capacity() >= line.len() && text.capacity() <= 2 * line.len() + 64 =>
        {
            text.clear();
            text.push_str(line);
            text
        }
        _ => line.to_string(),
    }
}
