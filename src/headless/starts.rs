//! The headers headless prints as the release moves: a step or stage begins, a target starts.

use std::io::Write as _;
use std::time::Duration;

use super::Headless;
use crate::engine::release::RunStatus;
use crate::engine::{Release, Stage, StepList};
use crate::text::printable;

impl Headless {
    /// A header when the release moves to a new step or stage.
    /// A line when a target starts (serial steps and retries start targets one by one).
    pub(super) fn show_starts(&mut self, release: &Release) {
        let Some((list, index)) = release.current() else {
            return;
        };
        let name = printable(&release.list(list)[index].name);
        for t in &release.states(list)[index].targets {
            if t.status == RunStatus::Running
                && self
                    .shown_starts
                    .insert((list, index, t.target.clone(), t.attempt))
            {
                let attempt = if t.attempt > 1 {
                    format!(" (attempt {})", t.attempt)
                } else {
                    String::new()
                };
                if self.out.ci() && self.group.is_none() {
                    let title =
                        format!("{}. {name} on {}{attempt}", index + 1, printable(&t.target));
                    self.open_group((list, index), &title);
                }
                let target = printable(&t.target);
                let stamp = self.stamp();
                let _ = writeln!(self.out, "{stamp}...  {target} {name}: started{attempt}");
            }
        }
    }

    pub(super) fn show_progress(&mut self, release: &Release) {
        if let Some((list, index)) = release.current()
            && self.shown_step != Some((list, index))
        {
            if list == StepList::Rollback
                && self.shown_step.is_none_or(|(l, _)| l == StepList::Main)
            {
                self.line("== rolling back, host by host:");
                for line in crate::narrate::rollback_plan(release) {
                    self.line(format!("   {line}"));
                }
            }
            self.shown_step = Some((list, index));
            self.close_group();
            let step = &release.list(list)[index];
            if step.kind.runs_command() {
                let rollback = if list == StepList::Rollback {
                    "rollback: "
                } else {
                    ""
                };
                let title = format!(
                    "{rollback}{}. {} on {}",
                    index + 1,
                    printable(&step.name),
                    printable(&step.targets.join(", "))
                );
                self.open_group((list, index), &title);
                let mut how = format!(
                    "{} on {}",
                    step.kind.key(),
                    printable(&step.targets.join(", "))
                );
                match step.serial {
                    Some(1) => how.push_str(", one host at a time"),
                    Some(n) => how.push_str(&format!(", {n} hosts at a time")),
                    None => {}
                }
                let n = index + 1;
                self.line(format!(
                    "==> [{}] {n}. {} ({how})",
                    printable(&step.phase),
                    printable(&step.name)
                ));
                if step.builtin.is_some() && step.name != step.text {
                    self.line(format!("    checks: {}", printable(&step.text)));
                } else if step.name != step.text {
                    // A script of several lines stays one, each line under the `$`.
                    for (i, line) in step.text.trim_end().split('\n').enumerate() {
                        let lead = if i == 0 { "    $ " } else { "      " };
                        self.line(format!("{lead}{}", printable(line)));
                    }
                }
            }
        }
        if let Stage::Watching { until } = release.stage
            && !self.shown_watch
        {
            self.close_group();
            self.shown_watch = true;
            let left = Duration::from_millis(until.saturating_sub(release.now));
            self.line(format!(
                "==> watch window: {} (answer `rollback` to roll back, `done` to end the watch now)",
                humantime::format_duration(Duration::from_secs(left.as_secs()))
            ));
        }
    }
}
