//! `[phases.NAME]`: a phase rolled out in batches. Its steps run on the first batch's hosts,
//! the batch is watched against the hosts not yet deployed (the control) for `analysis`, then
//! the same steps run on the next batch's new hosts, and so on.
//!
//! ```toml
//! [phases.Deploy]
//! batches = [1, "50%", "100%"]   # cumulative sizes over the phase's hosts, in profile order
//! analysis = "2m"
//! promote = "auto"               # or "gate"
//! ```

use std::ops::Range;
use std::time::Duration;

use serde::Serialize;
use toml::Spanned;

use super::diag::Diagnostic;
use super::load::Loader;
use super::read::{Fields, wrong_type};
use super::schema::{Profile, Step, StepKind};
use crate::engine::plan::Promote;

/// How long a batch is watched against the control when `analysis` is not said.
pub const DEFAULT_ANALYSIS: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Serialize)]
pub struct PhaseRollout {
    pub phase: String,
    pub batches: Vec<BatchSize>,
    pub analysis: Duration,
    pub promote: Promote,
    #[serde(skip)]
    pub span: Range<usize>,
    #[serde(skip)]
    pub batches_span: Range<usize>,
}

/// One cumulative batch size: a number of hosts, or a share of the phase's hosts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum BatchSize {
    Hosts(u32),
    Percent(f64),
}

impl BatchSize {
    /// How many of `of` hosts the batch reaches (a share rounds up, and is at least one).
    pub fn hosts(self, of: usize) -> usize {
        match self {
            BatchSize::Hosts(n) => n as usize,
            BatchSize::Percent(p) => ((p / 100.0 * of as f64).ceil() as usize).clamp(1, of.max(1)),
        }
    }

    fn parse(text: &str) -> Option<BatchSize> {
        let n: f64 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
        (n > 0.0 && n <= 100.0).then_some(BatchSize::Percent(n))
    }
}

impl Loader<'_> {
    pub(crate) fn phases(&mut self, top: &Fields<'_, '_>) -> Vec<PhaseRollout> {
        let Some((table, _)) = top.table("phases", &mut self.diags) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in table.iter() {
            let phase = key.get_ref().to_string();
            let place = format!("[phases.{phase}]");
            let Some(t) = value.get_ref().as_table() else {
                let example = format!("[phases.{phase}]");
                self.diags.push(wrong_type(
                    &format!("phases.{phase}"),
                    value,
                    "a table",
                    &example,
                ));
                continue;
            };
            let keys = ["batches", "analysis", "promote"];
            let f = Fields::new(t, value.span(), &place, &keys, &mut self.diags);
            let Some((batches, batches_span)) = self.batch_sizes(&f, &place) else {
                continue;
            };
            let analysis = f
                .duration("analysis", &mut self.diags)
                .map_or(DEFAULT_ANALYSIS, Spanned::into_inner);
            let promote = self.promote(&f);
            out.push(PhaseRollout {
                phase,
                batches,
                analysis,
                promote,
                span: key.span(),
                batches_span,
            });
        }
        out
    }

    fn batch_sizes(
        &mut self,
        f: &Fields<'_, '_>,
        place: &str,
    ) -> Option<(Vec<BatchSize>, Range<usize>)> {
        let help = "write cumulative sizes, e.g. batches = [1, \"50%\", \"100%\"]";
        let Some(value) = f.get("batches") else {
            self.diags.push(
                Diagnostic::error(f.span.clone(), format!("{place} has no `batches`")).help(help),
            );
            return None;
        };
        let Some(items) = value.get_ref().as_array() else {
            self.diags.push(wrong_type(
                "batches",
                value,
                "an array",
                "batches = [1, \"100%\"]",
            ));
            return None;
        };
        let mut sizes = Vec::new();
        for item in items.iter() {
            let size = match (item.get_ref().as_integer(), item.get_ref().as_str()) {
                (Some(n), _) => u32::from_str_radix(n.as_str(), n.radix())
                    .ok()
                    .filter(|n| *n > 0)
                    .map(BatchSize::Hosts),
                (None, Some(s)) => BatchSize::parse(s),
                _ => None,
            };
            match size {
                Some(size) => sizes.push(size),
                None => self.diags.push(
                    Diagnostic::error(
                        item.span(),
                        "a batch is a number of hosts (1 or more) or a share (\"1%\" to \"100%\")",
                    )
                    .help(help),
                ),
            }
        }
        if sizes.is_empty() && items.iter().next().is_none() {
            self.diags.push(
                Diagnostic::error(value.span(), format!("{place} `batches` is empty")).help(help),
            );
        }
        (sizes.len() == items.len() && !sizes.is_empty()).then(|| (sizes, value.span()))
    }

    fn promote(&mut self, f: &Fields<'_, '_>) -> Promote {
        let Some(word) = f.str("promote", &mut self.diags) else {
            return Promote::default();
        };
        match word.get_ref().as_str() {
            "auto" => Promote::Auto,
            "gate" => Promote::Gate,
            other => {
                self.diags.push(
                    Diagnostic::error(word.span(), format!("`promote = \"{other}\"` is not a way to promote"))
                        .help("write \"auto\" (the next batch starts after a clean analysis) or \"gate\" (a person says go)"),
                );
                Promote::default()
            }
        }
    }

    /// Each rolled-out phase names steps that exist, together, that a batch can undo alone,
    /// with sizes that fit its hosts.
    pub(crate) fn check_phases(&mut self, p: &Profile) {
        for rollout in &p.phases {
            let steps: Vec<(usize, &Step)> = (p.steps.iter().enumerate())
                .filter(|(_, s)| s.phase == rollout.phase && !s.after_watch)
                .collect();
            let Some(&(first, _)) = steps.first() else {
                let phases: Vec<&str> = p.steps.iter().map(|s| s.phase.as_str()).collect();
                let near = super::diag::did_you_mean(&rollout.phase, phases.iter().copied());
                let help = near.map_or(
                    "name the phase of some [[step]] (its `phase`)".into(),
                    |n| format!("did you mean `{n}`?"),
                );
                self.diags.push(
                    Diagnostic::error(
                        rollout.span.clone(),
                        format!("no step is in phase `{}`", rollout.phase),
                    )
                    .help(help),
                );
                continue;
            };
            let last = steps.last().map_or(first, |(i, _)| *i);
            if let Some(between) = p.steps[first..=last]
                .iter()
                .find(|s| s.phase != rollout.phase)
            {
                self.diags.push(
                    Diagnostic::error(between.span.clone(), format!("this step of phase `{}` comes between steps of phase `{}`, which runs in batches", between.phase, rollout.phase))
                        .help("keep a batched phase's steps together: each batch runs all of them in order"),
                );
            }
            for (_, step) in &steps {
                self.batchable(step, rollout);
            }
            self.sizes_fit(p, rollout);
        }
    }

    /// A gate or an irreversible step cannot run batch by batch.
    fn batchable(&mut self, step: &Step, rollout: &PhaseRollout) {
        let why = if step.kind == StepKind::Gate {
            "a gate is asked once for the whole release, not once per batch; put it in the phase before, or use `promote = \"gate\"`"
        } else if step.irreversible {
            "an irreversible step cannot be undone for one batch alone; run it in a phase of its own before the batched one"
        } else {
            return;
        };
        self.diags.push(
            Diagnostic::error(
                step.span.clone(),
                format!(
                    "phase `{}` runs in batches ([phases.{}] batches), so this step cannot be in it",
                    rollout.phase, rollout.phase
                ),
            )
            .help(why),
        );
    }

    fn sizes_fit(&mut self, p: &Profile, rollout: &PhaseRollout) {
        let hosts = phase_hosts(p, &rollout.phase);
        let span = rollout.batches_span.clone();
        if hosts.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    span,
                    format!(
                        "phase `{}` runs on no host: nothing to batch",
                        rollout.phase
                    ),
                )
                .help(
                    "batches split the hosts of the phase's steps (`on`); remove [phases] for it",
                ),
            );
            return;
        }
        let n = hosts.len();
        let mut reached = 0;
        for size in &rollout.batches {
            let this = size.hosts(n);
            let problem = if this > n {
                Some(format!(
                    "a batch of {this} hosts, but phase `{}` has {n} ({})",
                    rollout.phase,
                    hosts.join(", ")
                ))
            } else if this < reached {
                Some(format!(
                    "batches are cumulative: {this} hosts after {reached}"
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                self.diags.push(
                    Diagnostic::error(span.clone(), problem)
                        .help("each size counts every host so far, growing to \"100%\""),
                );
                return;
            }
            reached = this;
        }
        if reached < n {
            self.diags.push(
                Diagnostic::error(
                    span,
                    format!(
                        "the last batch reaches {reached} of the {n} hosts of phase `{}`",
                        rollout.phase
                    ),
                )
                .help("end with \"100%\" so every host gets the phase"),
            );
        }
    }
}

/// The hosts of a phase's steps, in profile order.
pub fn phase_hosts(p: &Profile, phase: &str) -> Vec<String> {
    let named: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| s.phase == phase && !s.after_watch)
        .filter_map(|s| s.on.as_ref())
        .flat_map(|on| on.resolve(&p.targets))
        .map(|t| t.name.as_str())
        .collect();
    p.targets
        .iter()
        .filter(|t| named.contains(&t.name.as_str()))
        .map(|t| t.name.clone())
        .collect()
}

/// A phase's batches: the hosts each adds, in order; batches that add no host left out.
pub fn batch_hosts(p: &Profile, rollout: &PhaseRollout) -> Vec<Vec<String>> {
    let hosts = phase_hosts(p, &rollout.phase);
    let mut out = Vec::new();
    let mut reached = 0;
    for size in &rollout.batches {
        let this = size.hosts(hosts.len()).min(hosts.len());
        if this > reached {
            out.push(hosts[reached..this].to_vec());
            reached = this;
        }
    }
    if reached < hosts.len() {
        out.push(hosts[reached..].to_vec());
    }
    out
}

/// One step of the plan as the engine runs it: a profile step (narrowed to a batch's new
/// hosts when its phase runs in batches), or the analysis after a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanEntry {
    Step {
        /// The profile step (`[[step]]`, then `[[after]]`) it runs.
        source: usize,
        /// The hosts it runs on, when a batch narrows them.
        hosts: Option<Vec<String>>,
        batch: Option<crate::engine::plan::Batch>,
    },
    Analysis(crate::engine::plan::Batch),
}

/// The profile's steps in the order the engine runs them, batched phases unrolled: each
/// batch's steps on its new hosts, then its analysis (the last batch has none: the watch
/// window follows the whole release).
pub fn plan_entries(p: &Profile) -> Vec<PlanEntry> {
    let mut out = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for (i, step) in p.steps.iter().enumerate() {
        let rollout = (!step.after_watch)
            .then(|| p.phases.iter().find(|r| r.phase == step.phase))
            .flatten();
        let Some(rollout) = rollout else {
            out.push(PlanEntry::Step {
                source: i,
                hosts: None,
                batch: None,
            });
            continue;
        };
        if done.contains(&rollout.phase.as_str()) {
            continue;
        }
        done.push(&rollout.phase);
        unroll(p, rollout, &mut out);
    }
    out
}

fn unroll(p: &Profile, rollout: &PhaseRollout, out: &mut Vec<PlanEntry>) {
    let batches = batch_hosts(p, rollout);
    let of = batches.len();
    for (k, hosts) in batches.iter().enumerate() {
        let batch = crate::engine::plan::Batch {
            phase: rollout.phase.clone(),
            number: k as u32 + 1,
            of: of as u32,
            hosts: hosts.clone(),
            changed: batches[..=k].concat(),
            control: batches[k + 1..].concat(),
            analysis_ms: u64::try_from(rollout.analysis.as_millis()).unwrap_or(u64::MAX),
            promote: rollout.promote,
        };
        for (j, step) in p.steps.iter().enumerate() {
            if step.phase != rollout.phase || step.after_watch {
                continue;
            }
            let narrowed = step.on.as_ref().map(|on| {
                on.resolve(&p.targets)
                    .into_iter()
                    .filter(|t| hosts.contains(&t.name))
                    .map(|t| t.name.clone())
                    .collect::<Vec<_>>()
            });
            if narrowed.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            out.push(PlanEntry::Step {
                source: j,
                hosts: narrowed,
                batch: Some(batch.clone()),
            });
        }
        if k + 1 < of {
            out.push(PlanEntry::Analysis(batch));
        }
    }
}

#[cfg(test)]
#[path = "phases_tests.rs"]
mod tests;
