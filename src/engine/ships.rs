//! What ships: the version running on each host before anything runs (`[release] current`),
//! the changes about to ship (`changes`, on the operator's machine) and what the release will
//! change in the database (`pending`). Hosts that disagree stop the release before it starts
//! (unless `--allow-mixed` gave a reason); a fleet already on the version asks first.

use serde::{Deserialize, Serialize};

use super::event::{Effect, EventKind, Outcome, StepList};
use super::plan::StepKind;
use super::release::{Question, Release, Stage};

/// Lines of a change or pending list kept; the count says how many there were.
pub const LIST_KEPT: usize = 200;

/// What was found, as the engine holds it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ships {
    /// Each target's answer to `current`: its version, or why none.
    pub found: Vec<(String, Running)>,
    pub changes: Option<Found>,
    pub pending: Option<Found>,
    /// The target the pending list came from (`pending_on`).
    pub pending_on: Option<String>,
    /// `{{previous}}` in the plan's words (step names, manual items, questions) was filled in.
    pub previous_filled: bool,
    /// The gate (a main step) that waits for the change and pending lists before it is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_held: Option<usize>,
}

/// `{{previous}}` as the plan shows it until each host's version is known.
pub const PREVIOUS_SHOWN: &str = "{{previous}}";

/// What a host said runs on it now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Running {
    Version(String),
    /// It could not say: why.
    Unknown(String),
}

impl Running {
    pub fn version(&self) -> Option<&String> {
        match self {
            Running::Version(v) => Some(v),
            Running::Unknown(_) => None,
        }
    }

    pub fn why(&self) -> Option<&String> {
        match self {
            Running::Unknown(why) => Some(why),
            Running::Version(_) => None,
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Running::Version(_))
    }
}

/// A list a command printed (its first lines and how many in all), or why it has none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Found {
    pub lines: Vec<String>,
    pub total: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Release {
    /// What was found of what ships.
    pub(super) fn ships_event(&mut self, kind: &EventKind, fx: &mut Vec<Effect>) {
        match kind {
            EventKind::VersionFound {
                target,
                version,
                error,
            } => self.version_found(target, version, error, fx),
            EventKind::ChangesFound { found } => {
                self.ships.changes = Some(found.clone());
                self.ask_held_gate(fx);
            }
            EventKind::PendingFound { target, found } => {
                self.ships.pending = Some(found.clone());
                self.ships.pending_on = Some(target.clone());
                self.ask_held_gate(fx);
            }
            _ => {}
        }
    }

    /// The change or pending list being looked for is not there yet (nor why not).
    pub(super) fn lists_awaited(&self) -> bool {
        (self.plan.ships.changes.is_some() && self.ships.changes.is_none())
            || (self.plan.ships.pending.is_some() && self.ships.pending.is_none())
    }

    /// A gate is asked with what ships in view: while a list is still looked for (`changes`
    /// answers within 60 s, `pending` within the link's own limits), it waits. True when it
    /// waits.
    pub(super) fn hold_gate(&mut self, step: usize) -> bool {
        if !self.lists_awaited() {
            return false;
        }
        self.ships.gate_held = Some(step);
        true
    }

    /// The lists are there: the gate that waited for them is asked.
    fn ask_held_gate(&mut self, fx: &mut Vec<Effect>) {
        let Some(step) = self.ships.gate_held else {
            return;
        };
        let here = self.stage
            == Stage::Running {
                list: StepList::Main,
                step,
            };
        if self.lists_awaited() || !here || self.question.is_some() {
            return;
        }
        self.ships.gate_held = None;
        self.question = Some(Question::Gate { step });
        fx.push(Effect::Ask);
    }

    /// Every lock is held: find what runs now before the first step, when the plan asks.
    pub(super) fn find_versions(&mut self, fx: &mut Vec<Effect>) -> bool {
        if self.plan.ships.current.is_none() {
            return false;
        }
        self.stage = Stage::Finding;
        fx.push(Effect::FindVersions);
        true
    }

    /// A target answered `current`.
    pub(super) fn version_found(
        &mut self,
        target: &str,
        version: &Option<String>,
        error: &Option<String>,
        fx: &mut Vec<Effect>,
    ) {
        let known = self.targets.iter().any(|t| t.name == target);
        let answered = self.ships.found.iter().any(|(t, _)| t == target);
        if self.stage != Stage::Finding || !known || answered {
            return;
        }
        let said = match (version, error) {
            (Some(v), None) if !v.trim().is_empty() => Running::Version(v.trim().to_string()),
            (_, Some(e)) => Running::Unknown(e.clone()),
            _ => Running::Unknown("`current` printed no version".to_string()),
        };
        self.ships.found.push((target.to_string(), said));
        if self.ships.found.len() == self.targets.len() {
            self.versions_known(fx);
        }
    }

    /// Every host answered: refuse a fleet that disagrees (or could not say), ask before
    /// deploying a version every host runs already, else go on.
    fn versions_known(&mut self, fx: &mut Vec<Effect>) {
        let failed: Vec<String> = (self.ships.found.iter())
            .filter_map(|(t, v)| v.why().map(|e| format!("{t}: {e}")))
            .collect();
        if !failed.is_empty() {
            let why = format!(
                "the version running now is unknown ({}): fix `[release] current`, or the host",
                failed.join("; ")
            );
            return self.refuse(why, fx);
        }
        let groups = self.version_groups();
        if groups.len() > 1 && self.plan.ships.allow_mixed.is_none() {
            let said: Vec<String> = groups
                .iter()
                .map(|(v, hosts)| format!("{} on {v}", hosts.join(", ")))
                .collect();
            let why = format!(
                "the hosts run different versions ({}): a rollback to \"the previous version\" is ambiguous; run with --allow-mixed \"REASON\" to go on (each host rolls back to its own)",
                said.join("; ")
            );
            return self.refuse(why, fx);
        }
        // What people read shows the versions found, the question below included.
        self.fill_previous();
        let already =
            groups.len() == 1 && self.plan.version.as_deref() == Some(groups[0].0.as_str());
        if already && self.plan.ships.redeploy.is_none() {
            // A person decides; nobody there (headless, the policy) is a refusal.
            self.question = Some(Question::Redeploy {
                version: groups[0].0.clone(),
            });
            fx.push(Effect::Ask);
            return;
        }
        self.ships_go_on(fx);
    }

    /// The refusal when every host runs `version` already and nobody said to deploy it again.
    pub fn already_running_said(version: &str) -> String {
        format!(
            "every host already runs {version}: nothing to ship; run with --redeploy \"REASON\" to deploy it again"
        )
    }

    /// The redeploy question answered: deploy again (the reason kept where `--redeploy`
    /// keeps its own, so every surface tells it alike), or stop before anything runs.
    pub(super) fn redeploy_answered(&mut self, reason: Option<&str>, fx: &mut Vec<Effect>) {
        let Some(Question::Redeploy { version }) = self.question.take() else {
            return;
        };
        match reason {
            Some(reason) => {
                self.plan.ships.redeploy = Some(reason.to_string());
                self.ships_go_on(fx);
            }
            None => self.refuse(Release::already_running_said(&version), fx),
        }
    }

    /// The release does not start, for `why`: said for the record (the journal holds the
    /// words), the locks released.
    fn refuse(&mut self, why: String, fx: &mut Vec<Effect>) {
        self.refusals.push(why.clone());
        fx.push(Effect::Record {
            event: Box::new(EventKind::Refused { why: vec![why] }),
        });
        self.finish(Outcome::Refused, fx);
    }

    /// The versions found, each with its hosts, in the profile's order of the hosts.
    pub fn version_groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let in_order = (self.plan.targets.iter())
            .filter_map(|t| self.ships.found.iter().find(|(f, _)| *f == t.name));
        for (target, found) in in_order {
            let Some(version) = found.version() else {
                continue;
            };
            match groups.iter_mut().find(|(v, _)| v == version) {
                Some((_, hosts)) => hosts.push(target.clone()),
                None => groups.push((version.clone(), vec![target.clone()])),
            }
        }
        groups
    }

    /// The drivers learn each host's previous version (for `{{previous}}`), the change and
    /// pending lists are looked for, and the first step begins.
    fn ships_go_on(&mut self, fx: &mut Vec<Effect>) {
        self.previous_told(fx);
        self.fill_previous();
        self.find_lists(fx);
        self.stage = Stage::Locking;
        self.begin(fx);
    }

    /// The change and pending lists are looked for (beside the first steps: they only read).
    pub(super) fn find_lists(&self, fx: &mut Vec<Effect>) {
        if self.plan.ships.changes.is_some() && self.ships.changes.is_none() {
            fx.push(Effect::FindChanges);
        }
        if self.plan.ships.pending.is_some() && self.ships.pending.is_none() {
            fx.push(Effect::FindPending);
        }
    }

    /// Each host's version running before the release, for the drivers' `{{previous}}`.
    pub(super) fn previous_told(&self, fx: &mut Vec<Effect>) {
        let previous: Vec<(String, String)> = (self.ships.found.iter())
            .filter_map(|(t, v)| Some((t.clone(), v.version()?.clone())))
            .collect();
        if !previous.is_empty() {
            fx.push(Effect::UsePrevious { previous });
        }
    }

    /// `{{previous}}` in what people read of the plan becomes the version found: every surface
    /// shows the plan's words, so each says it alike (commands keep it: the drivers fill it in
    /// per host, shell-quoted).
    fn fill_previous(&mut self) {
        if self.ships.previous_filled {
            return;
        }
        self.ships.previous_filled = true;
        let mut plan = self.plan.clone();
        self.previous_in(&mut plan);
        self.plan = plan;
        self.refresh_rollback();
    }

    /// `plan`'s words with `{{previous}}` filled in as this release filled its own, once it
    /// did (a resume compares the profile's plan with the session's this way).
    pub fn previous_in(&self, plan: &mut super::plan::ReleasePlan) {
        if !self.ships.previous_filled {
            return;
        }
        for step in plan.steps.iter_mut().chain(plan.rollback.iter_mut()) {
            let Some(words) = self.previous_words(&step.targets) else {
                continue;
            };
            step.name = step.name.replace(PREVIOUS_SHOWN, &words);
            // A manual item's or a gate's words; a command keeps it for the drivers.
            if matches!(step.kind, StepKind::Manual | StepKind::Gate) {
                step.text = step.text.replace(PREVIOUS_SHOWN, &words);
            }
        }
    }

    /// The version `targets` ran before the release, in words: the one version they agree on,
    /// else each with its hosts (`v1.4.1 on web-1, v1.4.2 on web-2 and web-3`). Targets the
    /// plan does not name (a gate's none) read as the whole fleet. Control characters a host
    /// printed are left out.
    pub fn previous_words(&self, targets: &[String]) -> Option<String> {
        let mut groups = self.version_groups();
        let named = |t: &String| targets.contains(t);
        if groups.iter().any(|(_, hosts)| hosts.iter().any(named)) {
            for (_, hosts) in &mut groups {
                hosts.retain(named);
            }
            groups.retain(|(_, hosts)| !hosts.is_empty());
        }
        let clean = |v: &str| v.chars().filter(|c| !c.is_control()).collect::<String>();
        match groups.as_slice() {
            [] => None,
            [(version, _)] => Some(clean(version)),
            _ => Some(
                (groups.iter())
                    .map(|(v, hosts)| format!("{} on {}", clean(v), hosts.join(" and ")))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        }
    }

    /// Where the change list starts when the hosts disagree: `changes since v1.4.1 (web-1);
    /// web-2 runs v1.4.2` (the drivers fill `changes`' `{{previous}}` with the first host's
    /// version). `None` when the fleet agrees.
    pub fn changes_from_said(&self) -> Option<String> {
        let groups = self.version_groups();
        let [(first, hosts), rest @ ..] = groups.as_slice() else {
            return None;
        };
        if rest.is_empty() {
            return None;
        }
        let mut said = format!("changes since {first} ({})", hosts.join(", "));
        for (version, hosts) in rest {
            let runs = if hosts.len() == 1 { "runs" } else { "run" };
            said.push_str(&format!("; {} {runs} {version}", hosts.join(", ")));
        }
        Some(said)
    }

    /// The version a host ran before the release, once found.
    pub fn previous_on(&self, target: &str) -> Option<&str> {
        (self.ships.found.iter())
            .find(|(t, _)| t == target)
            .and_then(|(_, v)| v.version().map(String::as_str))
    }

    /// "v1.4.2 → v1.5.0" (several previous versions joined with "/"), once found.
    pub fn ships_said(&self) -> Option<String> {
        let groups = self.version_groups();
        if groups.is_empty() {
            return None;
        }
        let before: Vec<&str> = groups.iter().map(|(v, _)| v.as_str()).collect();
        let to = self.plan.version.as_deref().unwrap_or("this release");
        let mut said = format!("{} → {to}", before.join(" / "));
        if let Some(c) = &self.ships.changes
            && c.error.is_none()
        {
            said.push_str(&format!(" · {} {}", c.total, plural(c.total, "change")));
        }
        if let Some(p) = &self.ships.pending
            && p.error.is_none()
        {
            said.push_str(&format!(" · {} {}", p.total, plural(p.total, "migration")));
        }
        Some(said)
    }

    /// The checklist's first step, with what watches the release started.
    pub(super) fn begin(&mut self, fx: &mut Vec<Effect>) {
        if !self.plan.probes.is_empty() {
            fx.push(Effect::StartProbes);
        }
        self.follow_logs(fx);
        self.enter(StepList::Main, 0, fx);
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
