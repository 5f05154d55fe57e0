//! What headless does when a question opens: says it with its evidence, answers it at once
//! when an answer is already there (typed ahead, `--yes`, the demo's own), or leaves it to the
//! unattended policy when nobody can answer; and how the end is annotated.

use std::io::Write as _;

use super::Headless;
use super::answer::parse_answer;
use crate::engine::plan::StepKind;
use crate::engine::release::RunStatus;
use crate::engine::{Actor, Decision, EventKind, Question, Release, StepList};
use crate::text::{printable, printable_lines};

impl Headless {
    /// A question opened: print it, then answer at once what is already answered (answers piped
    /// ahead, `--yes`, a closed stdin). It comes in as an input, like a typed answer.
    pub(super) fn asked(&mut self, release: &Release) -> Option<EventKind> {
        let question = release.question.clone()?;
        self.show_question(release, &question);
        // Headless deploys a version already running only on `--redeploy "REASON"`.
        if let Question::Redeploy { .. } = question {
            return self.unattended(release, "headless asks nobody to deploy it again");
        }
        let choices = release.choices();
        self.line(format!("   answer: {}", choices.join(" / ")));
        let _ = self.out.flush();
        while let Some(line) = self.typed_ahead.pop_front() {
            self.line(format!("> {}", printable(&line)));
            if let Some(kind) = self.answer(&line, release) {
                return Some(kind);
            }
        }
        if self.yes
            && let Some(answer) = self.yes_answers(release, &question)
        {
            return answer;
        }
        if self.yes
            && let Some(word) = self.rehearsal.as_mut().and_then(|answer| answer(release))
        {
            self.line(format!(
                "   the demo answers {word} itself (only in gonogo demo --headless --yes)"
            ));
            match parse_answer(word, release, &self.operator) {
                Ok(decision) => {
                    return Some(self.decided_as(
                        Actor::Demo,
                        decision,
                        Some("gonogo demo".into()),
                    ));
                }
                Err(e) => self.line(format!("   {e}")),
            }
        }
        let auto = release.watch.auto_rollback_at.is_some();
        let unattended = self.stdin_closed || self.yes;
        if unattended && matches!(question, Question::RollbackProposal { .. }) && auto {
            self.line("   nobody answers here: auto_rollback decides when it is due");
            return None;
        }
        // `--yes` answers gates and manual items; what it does not answer, the policy does.
        if self.stdin_closed {
            return self.unattended(release, "stdin is closed");
        }
        if self.yes
            && matches!(
                question,
                Question::Failure { .. }
                    | Question::RollbackProposal { .. }
                    | Question::ConfirmRollback { .. }
            )
        {
            return self.unattended(release, "--yes does not answer this");
        }
        None
    }

    /// What `--yes` answers by itself (`Some`: answered, or left to the unattended policy).
    fn yes_answers(&mut self, release: &Release, question: &Question) -> Option<Option<EventKind>> {
        let yes = |h: &mut Self, decision| {
            Some(Some(h.decided_as(
                Actor::Yes,
                decision,
                Some("--yes".into()),
            )))
        };
        match question.clone() {
            // A batch whose analysis was in doubt is not promoted by a flag.
            Question::Gate { step }
                if release.batch_verdict(step) == Some(crate::engine::BatchVerdict::InDoubt) =>
            {
                self.line("   --yes does not promote a batch in doubt");
                Some(self.unattended(release, "--yes does not promote a batch in doubt"))
            }
            // One person approves once: a gate that needs more approvals waits for others.
            Question::Gate { step }
                if !release.steps[step].approved_by.contains(&self.operator) =>
            {
                yes(self, Decision::Go)
            }
            Question::Gate { .. } => {
                self.line("   --yes approved once; this gate needs another person's approval");
                None
            }
            Question::Manual { .. } => yes(self, Decision::Done),
            // Only a watch that held: every rule ok, nothing new in the logs.
            Question::FinalGate if release.verdict_doubts().is_empty() => yes(self, Decision::Go),
            Question::FinalGate => {
                self.line("   --yes does not answer a final gate in doubt");
                Some(self.unattended(release, "--yes does not answer a watch in doubt"))
            }
            _ => None,
        }
    }

    /// Nobody can answer the open question: `[policy] unattended` decides, said and recorded
    /// as the policy's decision (never as a person's or `--yes`).
    pub(super) fn unattended(&mut self, release: &Release, why: &str) -> Option<EventKind> {
        let (decision, note) = release.unattended_decision()?;
        let said = format!("?? nobody can answer ({why}): {}", printable(&note));
        self.line(&said);
        self.annotate_outcome("error", "gonogo: the unattended policy decided", &note);
        Some(EventKind::Decided {
            by: "policy".into(),
            decision,
            note: Some(note),
            actor: Actor::Policy,
        })
    }

    /// The release has ended: what the rollback undid, host by host, and under GitHub Actions
    /// an annotation of the outcome (a warning for a completed rollback, an error otherwise).
    pub(super) fn ended(&mut self, release: &Release) {
        self.close_log_group();
        // The lines themselves are in the summary printed at the end.
        let undo = crate::summary::undo_lines(release);
        let said = crate::summary::outcome_said(release);
        let level = match release.outcome {
            Some(crate::engine::Outcome::Released) | None => return,
            Some(crate::engine::Outcome::RolledBack)
                if !undo.iter().any(|l| l.contains("undo failed")) =>
            {
                "warning"
            }
            _ => "error",
        };
        let mut message = said.clone();
        for line in &undo {
            message.push('\n');
            message.push_str(line);
        }
        self.annotate_outcome(level, &format!("gonogo: {said}"), &message);
    }

    /// The open question in lines: what is asked and the evidence it rests on.
    fn show_question(&mut self, release: &Release, question: &Question) {
        match &question {
            Question::Gate { step } => self.show_gate(release, *step),
            Question::Manual { list, step } => {
                let s = &release.list(*list)[*step];
                self.line(format!(
                    "?? MANUAL [{}] {}",
                    printable(&s.phase),
                    printable(&s.text)
                ));
            }
            Question::Failure { list, step } => self.show_failure(release, *list, *step),
            Question::FinalGate => {
                self.line(format!(
                    "?? FINAL GATE: {}",
                    crate::summary::final_gate_words(release)
                ));
                self.line(format!("   {}", crate::ui::health::health_summary(release)));
            }
            Question::RollbackProposal { rule } => {
                let lines = crate::summary::proposal_lines(release, *rule);
                for line in &lines {
                    self.line(line);
                }
                let rule = release
                    .plan
                    .watch
                    .as_ref()
                    .and_then(|w| w.rollback_on.get(*rule))
                    .map_or(String::new(), |r| r.text.clone());
                let hosts = release.changed_hosts().join(", ");
                self.annotate_outcome(
                    "error",
                    &format!("rollback proposed: {rule}"),
                    &format!("on {hosts}\n{}", lines.join("\n")),
                );
            }
            Question::ConfirmRollback { irreversible, .. } => {
                for done in irreversible {
                    self.line(format!(
                        "!! {} is irreversible and already ran on {}: rollback cannot undo it",
                        printable(&done.step),
                        printable(&done.targets.join(", "))
                    ));
                }
            }
            Question::Redeploy { version } => self.line(format!(
                "?? ALREADY DEPLOYED: every host runs {} already; deploy it again?",
                printable(version)
            )),
        }
    }

    /// A gate: what it asks, what runs next, how many approvals it needs.
    fn show_gate(&mut self, release: &Release, step: usize) {
        let s = &release.plan.steps[step];
        if let Some(batch) = s.batch.as_ref().filter(|_| s.kind == StepKind::Analysis) {
            return self.show_promote(release, step, batch);
        }
        self.line(format!(
            "?? GATE [{}] {}",
            printable(&s.phase),
            printable(&s.text)
        ));
        if let Some(next) = release
            .plan
            .steps
            .get(step + 1)
            .filter(|n| n.kind.runs_command())
        {
            self.line(format!(
                "   next: {} on {}",
                printable(&next.name),
                printable(&next.targets.join(", "))
            ));
        }
        if release
            .plan
            .steps
            .iter()
            .position(|g| g.kind == StepKind::Gate)
            == Some(step)
        {
            self.show_ships(release);
        }
        if s.approvals > 1 {
            self.line(format!(
                "   needs {} approvals, {} so far",
                s.approvals,
                release.steps[step].approved_by.len()
            ));
        }
    }

    /// What ships, at the first gate: versions, changes, migrations, each list's first lines.
    fn show_ships(&mut self, release: &Release) {
        let Some(ships) = release.ships_said() else {
            return;
        };
        self.line(format!("   what ships: {}", printable(&ships)));
        let lists = [
            ("changes", &release.ships.changes),
            ("migrations to run", &release.ships.pending),
        ];
        for (what, found) in lists {
            let Some(found) = found else { continue };
            if let Some(error) = &found.error {
                self.line(format!("   {what}: not found ({})", printable(error)));
                continue;
            }
            for line in found.lines.iter().take(10) {
                self.line(format!("     {}", printable(line)));
            }
            if found.total > 10 {
                self.line(format!("     … {} more {what}", found.total - 10));
            }
        }
    }

    /// The gate after a batch's analysis: what it promotes, and what the analysis saw.
    fn show_promote(&mut self, release: &Release, step: usize, batch: &crate::engine::plan::Batch) {
        let next = release
            .plan
            .steps
            .get(step + 1)
            .and_then(|n| n.batch.as_ref())
            .map_or(String::new(), |n| format!(" ({})", n.hosts.join(", ")));
        self.line(format!(
            "?? GATE [{}] promote to batch {}/{}{}?",
            printable(&batch.phase),
            batch.number + 1,
            batch.of,
            printable(&next)
        ));
        let verdict = release
            .batch_verdict(step)
            .map_or("not judged", |v| v.word());
        self.line(format!("   batch {}/{} {verdict}", batch.number, batch.of));
        let figures = (release.rollout.verdicts.iter())
            .find(|(s, _, _)| *s == step)
            .map(|(_, _, f)| f.clone())
            .unwrap_or_default();
        for figure in &figures {
            self.line(format!(
                "   {}",
                crate::narrate::figure_said(release, figure)
            ));
        }
    }

    /// A step that failed: on which targets, and why.
    fn show_failure(&mut self, release: &Release, list: StepList, step: usize) {
        let s = &release.list(list)[step];
        let failed: Vec<String> = release.states(list)[step]
            .targets
            .iter()
            .filter(|t| matches!(t.status, RunStatus::Failed | RunStatus::Unknown))
            .map(|t| {
                format!(
                    "{} ({})",
                    printable(&t.target),
                    printable_lines(t.failure.as_deref().unwrap_or("failed"))
                )
            })
            .collect();
        let what = if list == StepList::Rollback {
            "rollback step"
        } else {
            "step"
        };
        self.line(format!(
            "?? FAILED {what} {}: {}",
            printable(&s.name),
            failed.join(", ")
        ));
        // A retry that failed again says which attempt, and what the ones before said.
        for t in &release.states(list)[step].targets {
            if let Some(attempts) = crate::narrate::attempts_said(s, t)
                && matches!(t.status, RunStatus::Failed | RunStatus::Unknown)
            {
                self.line(format!("   {}: {attempts}", printable(&t.target)));
            }
        }
    }
}
