//! What a `gonogo run` connects to and runs: each target's link (SSH after `~/.ssh/config`, or
//! local), the shell `s` opens there, the real commands of the steps, the probes, the lock
//! holder and the session id.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::RunFlags;
use crate::drivers::{PerTarget, Session};
use crate::engine::{ReleasePlan, StepList};
use crate::probe::check::Work;
use crate::profile::{Profile, Quoting, Transport, VarValues};
use crate::transport::Link;
use crate::transport::lines::Redactor;
use crate::transport::local::LocalPlace;
use crate::transport::lock::Holder;
use crate::transport::ssh::{Endpoint, SshOptions};
use crate::transport::ssh_config::{self, TargetAddress};
use crate::ui::host_shell::ShellCommand;

/// Each target's SSH endpoint after `~/.ssh/config` (none for a local target), and the warnings
/// about the config: one line per key gonogo does not honour, naming the targets it applies to.
pub(super) fn endpoints(
    profile: &Profile,
    vars: &VarValues,
    config: Option<&ssh_config::ClientConfig>,
) -> (Vec<(String, Option<Endpoint>)>, Vec<String>) {
    let mut unhonoured: Vec<(ssh_config::Unhonoured, Vec<String>)> = Vec::new();
    let endpoints = profile
        .targets
        .iter()
        .map(|t| {
            let endpoint = (t.transport == Transport::Ssh).then(|| {
                let vars = &vars.for_target(t);
                let address = TargetAddress {
                    host: t
                        .host
                        .as_ref()
                        .map_or(t.name.clone(), |h| h.expand(vars, Quoting::Plain)),
                    user: t.user.as_ref().map(|u| u.expand(vars, Quoting::Plain)),
                    port: t.port,
                    identity: t.identity.clone(),
                };
                let parsed = config.map(|c| &c.config);
                let ep = ssh_config::resolve(&address, profile.ssh.identity.as_deref(), parsed);
                let found = parsed.map_or(Vec::new(), |c| {
                    ssh_config::unhonoured(&address.host, &ep, c)
                });
                for (key, jump) in found {
                    let target = match jump {
                        Some(jump) => format!("{} (its jump host {jump})", t.name),
                        None => t.name.clone(),
                    };
                    match unhonoured.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, targets)) => targets.push(target),
                        None => unhonoured.push((key, vec![target])),
                    }
                }
                ep
            });
            (t.name.clone(), endpoint)
        })
        .collect();
    let mut warnings = config.map_or(Vec::new(), |c| c.warnings.clone());
    warnings.extend(unhonoured.into_iter().map(|(key, targets)| {
        format!(
            "ssh config `{}` applies to {} but gonogo does not support it: ignored{}",
            key.key,
            targets.join(", "),
            key.hint
        )
    }));
    (endpoints, warnings)
}

/// How gonogo talks SSH to this profile's targets.
pub(super) fn ssh_options(
    profile: &Profile,
    flags: &RunFlags,
    unlocked: HashMap<std::path::PathBuf, Arc<russh::keys::PrivateKey>>,
) -> Arc<SshOptions> {
    Arc::new(SshOptions {
        known_hosts: profile
            .ssh
            .known_hosts
            .iter()
            .map(|p| ssh_config::expand_home(p))
            .collect(),
        accept_new: flags.accept_new_host_keys,
        keepalive: profile.ssh.keepalive,
        connect_timeout: profile.ssh.connect_timeout,
        unlocked,
    })
}

/// The shell `s` opens on each target: OpenSSH with gonogo's settings, or the local shell.
pub(super) fn shell_commands(
    endpoints: &[(String, Option<Endpoint>)],
    opts: &SshOptions,
    places: &HashMap<String, Arc<LocalPlace>>,
) -> HashMap<String, ShellCommand> {
    let local_shell = std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into());
    endpoints
        .iter()
        .map(|(name, endpoint)| {
            let command = match endpoint {
                Some(ep) => ShellCommand {
                    program: "ssh".into(),
                    args: crate::transport::openssh::shell_args(ep, opts),
                },
                // A simulated host's shell starts in its home, with HOME set to it.
                None => match places.get(name) {
                    Some(place) => ShellCommand {
                        program: "sh".into(),
                        args: vec![
                            "-c".into(),
                            "cd \"$1\" && HOME=\"$1\" exec \"$2\"".into(),
                            "sh".into(),
                            place.home.clone().into(),
                            local_shell.clone(),
                        ],
                    },
                    None => ShellCommand {
                        program: local_shell.clone(),
                        args: Vec::new(),
                    },
                },
            };
            (name.clone(), command)
        })
        .collect()
}

pub(super) fn session(
    profile: &Profile,
    vars: &VarValues,
    flags: &RunFlags,
    endpoints: Vec<(String, Option<Endpoint>)>,
    opts: Arc<SshOptions>,
    operator: &str,
    events: mpsc::Sender<crate::engine::EventKind>,
) -> Session {
    let now = chrono::Utc::now();
    // A resumed session is the same session: its id is the owner token of its locks.
    let id = flags
        .resume
        .as_ref()
        .map_or_else(|| session_id(now), |r| r.release.session.clone());
    let since = flags.resume.as_ref().map_or_else(
        || now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        |r| r.started.clone(),
    );
    let from = gethostname::gethostname().to_string_lossy().into_owned();
    let budget = profile
        .ssh
        .reconnect_budget
        .unwrap_or(crate::transport::RECONNECT_BUDGET);
    let links = links(endpoints, flags, (opts, budget), &events);
    // `{{previous}}` is found at run time: the drivers put each host's in its place.
    let run_vars = &with_previous_token(profile, vars);
    let StepWork {
        work,
        rollback_work,
        undo_work,
    } = step_work(profile, run_vars);
    Session {
        holder: Arc::new(Holder {
            session: id.clone(),
            operator: operator.to_string(),
            from,
            since,
            release: profile.release.name.clone(),
            pid: std::process::id(),
            place: profile
                .release
                .lock_dir
                .clone()
                .unwrap_or_else(|| crate::transport::lock::DEFAULT_LOCK_DIR.to_string()),
        }),
        id,
        operator: operator.to_string(),
        plan: ReleasePlan {
            window_override: flags.window_override.clone(),
            rehearsal: flags.rehearsal.clone(),
            ..plan_with(crate::profile::release_plan(profile, vars), flags)
        },
        work,
        undo_work,
        rollback_work,
        links,
        break_lock: flags.break_lock.clone(),
        stop_previous: flags.stop_previous,
        // The webhook's URL is a secret even when written in the profile as it is.
        redactor: Arc::new(Redactor::new(
            vars.secrets()
                .into_iter()
                .map(str::to_string)
                .chain(webhook(profile, vars)),
        )),
        probes: probes(profile, vars),
        tails: tails(profile, run_vars),
        ships: ships_work(profile, run_vars, flags),
    }
}

/// Each target's values: the release's, with the target's own `vars` in place of theirs.
fn target_values(profile: &Profile, vars: &VarValues) -> PerTarget<VarValues> {
    (profile.targets.iter())
        .map(|t| (t.name.clone(), vars.for_target(t)))
        .collect()
}

/// The values commands run with: `{{previous}}` stands as the drivers' token until each host's
/// version is found.
fn with_previous_token(profile: &Profile, vars: &VarValues) -> VarValues {
    let mut vars = vars.clone();
    if profile.release.current.is_some() {
        let token = crate::drivers::PREVIOUS_TOKEN.to_string();
        vars.insert(crate::profile::ships::PREVIOUS, Some(token), false);
    }
    vars
}

/// The commands that find what ships: `current` per target, `changes` here (in the profile's
/// directory), `pending` on its target.
fn ships_work(profile: &Profile, vars: &VarValues, flags: &RunFlags) -> crate::drivers::ShipsWork {
    let on = target_values(profile, vars);
    let release = &profile.release;
    let dir = flags.changes_dir.clone().unwrap_or_else(|| {
        std::path::Path::new(&flags.profile_path)
            .parent()
            .filter(|d| d.is_dir())
            .map_or_else(
                || std::path::PathBuf::from("."),
                std::path::Path::to_path_buf,
            )
    });
    crate::drivers::ShipsWork {
        current: release.current.as_ref().map_or_else(HashMap::new, |c| {
            (on.iter())
                .map(|(t, vars)| (t.clone(), c.expand(vars, Quoting::Shell)))
                .collect()
        }),
        changes: (release.changes.as_ref()).map(|c| (c.expand(vars, Quoting::Shell), dir)),
        pending: release
            .pending
            .as_ref()
            .zip(release.pending_on.as_ref())
            .and_then(|(c, t)| Some((t.clone(), c.expand(on.get(t)?, Quoting::Shell)))),
    }
}

/// Each log tail's real command on each target, with that target's values.
fn tails(profile: &Profile, vars: &VarValues) -> HashMap<String, PerTarget<String>> {
    let on = target_values(profile, vars);
    (profile.logs.iter())
        .map(|l| {
            let commands = (on.iter())
                .map(|(target, vars)| (target.clone(), l.command.expand(vars, Quoting::Shell)))
                .collect();
            (l.name.clone(), commands)
        })
        .collect()
}

/// Each target's link: over SSH to its endpoint, or here (in its place, for the demo).
fn links(
    endpoints: Vec<(String, Option<Endpoint>)>,
    flags: &RunFlags,
    (opts, budget): (Arc<SshOptions>, std::time::Duration),
    events: &mpsc::Sender<crate::engine::EventKind>,
) -> HashMap<String, Arc<Link>> {
    endpoints
        .into_iter()
        .map(|(name, endpoint)| {
            let link = match endpoint {
                None => match flags.places.get(&name) {
                    Some(place) => Link::local(&name, events.clone()).placed(place.clone()),
                    None => Link::local(&name, events.clone()),
                },
                Some(endpoint) => Link::ssh(&name, endpoint, opts.clone(), budget, events.clone()),
            };
            (name, Arc::new(link))
        })
        .collect()
}

/// What each step runs on each target, `undo` and `[[rollback]]` included, with that target's
/// values expanded and quoted.
struct StepWork {
    work: HashMap<(StepList, usize), PerTarget<Work>>,
    rollback_work: HashMap<usize, PerTarget<Work>>,
    undo_work: HashMap<usize, PerTarget<Work>>,
}

fn step_work(profile: &Profile, vars: &VarValues) -> StepWork {
    let on = target_values(profile, vars);
    let per_target = |work: &dyn Fn(&VarValues) -> Work| -> PerTarget<Work> {
        (on.iter())
            .map(|(target, vars)| (target.clone(), work(vars)))
            .collect()
    };
    let work_of = |step: &crate::profile::Step| match &step.builtin {
        Some(check) => Some(per_target(&|vars| {
            crate::probe::check::work(check, vars, step.timeout)
        })),
        None if step.kind.runs_command() => Some(per_target(&|vars| {
            Work::Command(step.text.expand(vars, Quoting::Shell))
        })),
        None => None,
    };
    // The plan's steps, batched phases unrolled: each entry runs its profile step's work.
    let sources: Vec<(usize, usize)> = crate::profile::phases::plan_entries(profile)
        .into_iter()
        .enumerate()
        .filter_map(|(i, entry)| match entry {
            crate::profile::phases::PlanEntry::Step { source, .. } => Some((i, source)),
            crate::profile::phases::PlanEntry::Analysis(_) => None,
        })
        .collect();
    let work = (sources.iter())
        .filter_map(|&(i, source)| Some(((StepList::Main, i), work_of(&profile.steps[source])?)))
        .collect();
    let rollback_work = (profile.rollback.iter().enumerate())
        .filter_map(|(i, step)| Some((i, work_of(step)?)))
        .collect();
    let undo_work = (sources.iter())
        .filter_map(|&(i, source)| {
            let undo = profile.steps[source].undo.as_ref()?;
            Some((
                i,
                per_target(&|vars| Work::Command(undo.expand(vars, Quoting::Shell))),
            ))
        })
        .collect();
    StepWork {
        work,
        rollback_work,
        undo_work,
    }
}

/// The webhook's URL, variables expanded (`None`: no `[notify]`, or no value for it).
fn webhook(profile: &Profile, vars: &VarValues) -> Option<String> {
    let url = profile
        .notify
        .as_ref()?
        .webhook
        .expand(vars, Quoting::Plain);
    (!url.trim().is_empty()).then_some(url)
}

/// Why `[notify]` will post nothing this run (never with the URL in it: it is a secret).
#[derive(Debug, thiserror::Error)]
pub(super) enum NoWebhook {
    #[error("[notify] webhook `{0}` is empty: nothing will be posted this run")]
    Empty(String),
    /// `shown`: the webhook as written, its secrets masked.
    #[error("[notify] webhook `{0}` is not an http(s) URL: nothing will be posted this run")]
    NotHttp(String),
}

/// What `[notify]` asks of this run, or a warning on why nothing will be posted.
pub(super) fn notify_settings(
    profile: &Profile,
    vars: &VarValues,
) -> Result<Option<crate::notify::Settings>, NoWebhook> {
    let Some(notify) = &profile.notify else {
        return Ok(None);
    };
    let shown = notify.webhook.display(vars, Quoting::Plain);
    let Some(url) = webhook(profile, vars) else {
        return Err(NoWebhook::Empty(notify.webhook.raw().to_string()));
    };
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) || reqwest::Url::parse(&url).is_err() {
        return Err(NoWebhook::NotHttp(shown.to_string()));
    }
    Ok(Some(crate::notify::Settings {
        url,
        format: notify.format,
        every: notify.every,
    }))
}

/// The profile's `[health.*]` and `[metrics.*]`, one probe per place it is reached from: each
/// `via` target, its URL with that target's values, or the laptop, with the release's.
fn probes(profile: &Profile, vars: &VarValues) -> crate::probe::drive::Probes {
    use crate::probe::drive::{HealthTask, MetricsTask, Probes};
    use crate::probe::health::HealthProbe;
    let on = target_values(profile, vars);
    let places = |via: &Option<crate::profile::Selector>| -> Vec<(Option<String>, &VarValues)> {
        match via {
            None => vec![(None, vars)],
            Some(sel) => (sel.resolve(&profile.targets).into_iter())
                .filter_map(|t| Some((Some(t.name.clone()), on.get(&t.name)?)))
                .collect(),
        }
    };
    let mut out = Probes::default();
    for h in &profile.health {
        for (via, vars) in places(&h.via) {
            let url = h.url.expand(vars, Quoting::Plain);
            out.health.push(HealthTask {
                name: h.name.clone(),
                via,
                probe: HealthProbe::new(url, h.expect, h.timeout),
                every: h.every,
            });
        }
    }
    for m in &profile.metrics {
        let queries = crate::probe::metrics::MetricQueries::new(
            m.errors.as_deref(),
            m.requests.as_deref(),
            m.latency.as_deref(),
        );
        // `gonogo check` reports a wrong selector; one left here scrapes nothing.
        let Ok(queries) = queries else {
            continue;
        };
        for (via, vars) in places(&m.via) {
            out.metrics.push(MetricsTask {
                name: m.name.clone(),
                via,
                url: m.url.expand(vars, Quoting::Plain),
                queries: queries.clone(),
                every: m.every,
            });
        }
    }
    out
}

/// A session id: the UTC time for people, then 64 random bits so that two sessions never share
/// one (it names the run directories on the hosts and is the lock's owner token).
fn session_id(now: chrono::DateTime<chrono::Utc>) -> String {
    let mut bytes = [0u8; 8];
    // No randomness means no unique id: better to stop than to share another run's directory.
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{random}", now.format("%Y%m%dT%H%M%SZ"))
}

/// The plan with the command line's say over the profile's: `--unattended`, `--allow-mixed`,
/// `--redeploy`.
fn plan_with(mut plan: ReleasePlan, flags: &RunFlags) -> ReleasePlan {
    plan.ships.allow_mixed = flags.allow_mixed.clone();
    plan.ships.redeploy = flags.redeploy.clone();
    if let Some(policy) = flags.unattended {
        plan.unattended = policy;
    }
    plan
}

#[cfg(test)]
mod tests {
    use crate::engine::StepList;
    use crate::engine::plan::StepKind;
    use crate::probe::check::Work;
    use crate::profile::{self, Purpose, Source};

    /// A batched phase runs its steps once per batch: each run finds its own command, and
    /// none falls back to an empty one (which would pass without running anything).
    #[test]
    fn batched_steps_find_their_commands_by_plan_index() {
        let (p, mut diags) = profile::load(&Source::new("demo.toml", crate::demo::PROFILE));
        let p = p.expect("the demo profile loads");
        let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut diags);
        let plan = profile::release_plan(&p, &vars);
        assert!(plan.steps.iter().any(|s| s.kind == StepKind::Analysis));
        let work = super::step_work(&p, &vars);
        let mut batched = 0;
        for (i, step) in plan.steps.iter().enumerate() {
            if step.kind != StepKind::Run {
                continue;
            }
            batched += usize::from(step.batch.is_some());
            for target in &step.targets {
                match work
                    .work
                    .get(&(StepList::Main, i))
                    .and_then(|w| w.get(target))
                {
                    Some(Work::Command(c)) => assert_eq!(c, &step.text, "step {i}"),
                    other => panic!("step {i} ({}) on {target}: {other:?}", step.name),
                }
            }
            assert_eq!(work.undo_work.contains_key(&i), step.undo.is_some(), "{i}");
        }
        assert_eq!(batched, 4, "unpack and restart, in each of two batches");
    }

    #[test]
    fn session_ids_made_in_the_same_second_differ() {
        let now = chrono::Utc::now();
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| super::session_id(now)).collect();
        assert_eq!(ids.len(), 1000);
        let id = ids.iter().next().expect("an id");
        assert_eq!(id.rsplit('-').next().map(str::len), Some(16), "{id}");
    }
}
