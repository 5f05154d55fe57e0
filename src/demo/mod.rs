//! `gonogo demo`: the release in profiles/demo.toml on three simulated hosts, through the same
//! engine, loop, drivers, journal and cockpit as `gonogo run`. Only the targets are simulated:
//! each is a home directory under the demo's own temporary directory, with an app on loopback
//! (see `hosts.rs`). Everything the demo writes stays in that directory.

mod app;
mod host;
mod hosts;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::engine::{Question, Release};
use crate::headless::Rehearsal;
use crate::launch::RunFlags;
use crate::profile::{self, Purpose, Source};

/// The demo's profile, built in: the file in profiles/ that `gonogo check` passes.
pub const PROFILE: &str = include_str!("../../profiles/demo.toml");
/// The simulated hosts, as the profile names them.
pub const HOSTS: [&str; 3] = ["web-1", "web-2", "web-3"];

/// What the demo rehearses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// A clean release, through the watch window to the final gate.
    Happy,
    /// The new release passes its canary, then raises the 5xx ratio and a new error during
    /// the watch.
    BadRelease,
    /// One host's preflight check fails once; its retry passes.
    FlakyHost,
    /// The irreversible migration fails halfway.
    FailedMigration,
    /// The new release's 5xx ratio climbs on the first batch (web-1) while the control
    /// (web-2, web-3, still on the previous release) stays clean: only web-1 rolls back.
    Canary,
    /// web-3 still runs an older release than web-1 and web-2: the release stops before
    /// anything runs, naming each version and its hosts.
    MixedFleet,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Happy => "happy",
            Scenario::BadRelease => "bad-release",
            Scenario::FlakyHost => "flaky-host",
            Scenario::FailedMigration => "failed-migration",
            Scenario::Canary => "canary",
            Scenario::MixedFleet => "mixed-fleet",
        }
    }

    /// What it rehearses, in one line (the top of the cockpit, headless's first lines).
    pub fn line(self) -> String {
        let what = match self {
            Scenario::Happy => "a clean release; sit through the watch, then release it",
            Scenario::BadRelease => {
                "passes the canary, then 500s: spot them in the watch, roll back"
            }
            Scenario::FlakyHost => "one host fails a check once; retry it",
            Scenario::FailedMigration => "migration fails; what can rollback undo?",
            Scenario::Canary => "bad build caught on web-1; web-2/3 never get it",
            Scenario::MixedFleet => "web-3 runs an older release; nothing runs until they agree",
        };
        format!("DEMO {}, simulated hosts: {what}", self.name())
    }

    /// `--headless --yes`: the answers to the failures the scenario stages, which `--yes`
    /// never gives. Said on screen and recorded as the demo's.
    fn rehearse(self) -> Option<fn() -> Rehearsal> {
        match self {
            // A breach is answered by the profile's auto_rollback, as an unanswered proposal
            // is in a real release: `--yes` never answers one.
            // A mixed fleet stops before anything runs: there is nothing to answer.
            Scenario::Happy | Scenario::BadRelease | Scenario::Canary | Scenario::MixedFleet => {
                None
            }
            Scenario::FlakyHost => Some(|| {
                let mut retries = 1;
                Box::new(move |release: &Release| match release.question {
                    Some(Question::Failure { .. }) if retries > 0 => {
                        retries -= 1;
                        Some("retry")
                    }
                    _ => None,
                })
            }),
            Scenario::FailedMigration => Some(|| {
                Box::new(|release: &Release| match release.question {
                    Some(Question::Failure { .. }) => Some("rollback"),
                    Some(Question::ConfirmRollback { .. }) => Some("confirm"),
                    _ => None,
                })
            }),
        }
    }
}

/// `gonogo demo`'s options.
#[derive(Debug, Clone)]
pub struct DemoArgs {
    pub scenario: Scenario,
    pub headless: bool,
    pub yes: bool,
    /// `--unattended`: what is decided when nobody can answer.
    pub unattended: Option<crate::engine::Unattended>,
    /// The watch window's length instead of the profile's 90 s.
    pub watch: Option<Duration>,
    /// Where the journal goes instead of the demo's directory.
    pub record: Option<PathBuf>,
    /// `--present`, with the `--mask` patterns.
    pub present: Option<Vec<String>>,
}

/// Why the demo could not begin.
#[derive(Debug, thiserror::Error)]
enum DemoError {
    /// Options that do not go together, said with what to do.
    #[error("{0}")]
    Usage(&'static str),
    #[error(transparent)]
    Mask(#[from] crate::ui::present::MaskError),
    #[error("the built-in demo profile does not load: a bug in this build of gonogo")]
    Profile,
    #[error("cannot make the demo's directory: {0}")]
    Dir(#[source] std::io::Error),
    #[error("cannot start the simulated hosts in {dir}: {source}")]
    Hosts { dir: String, source: std::io::Error },
}

pub fn run(args: &DemoArgs) -> ExitCode {
    match prepare(args) {
        Ok(code) => code,
        Err(e) => {
            let said = e.to_string();
            eprintln!(
                "gonogo demo: error: {}",
                crate::text::printable_lines(&said)
            );
            ExitCode::from(crate::exit::INVALID)
        }
    }
}

fn prepare(args: &DemoArgs) -> Result<ExitCode, DemoError> {
    if args.yes && !args.headless {
        return Err(DemoError::Usage(
            "--yes answers for you only with --headless: in the cockpit, answer each \
                    question yourself, or add --headless",
        ));
    }
    crate::ui::present::check_masks(args.present.as_deref().unwrap_or_default())?;
    if args
        .watch
        .is_some_and(|w| !(Duration::from_secs(2)..=Duration::from_secs(3600)).contains(&w))
    {
        return Err(DemoError::Usage(
            "--watch takes 2s to 60m, e.g. --watch 20s",
        ));
    }
    let source = Source::new("profiles/demo.toml", PROFILE);
    let (profile, mut diags) = profile::load(&source);
    let vars = profile
        .as_ref()
        .map(|p| profile::resolve(p, &[], |_| None, Purpose::Run, &mut diags));
    let (Some(mut profile), Some(vars)) = (profile, vars) else {
        return Err(DemoError::Profile);
    };
    if let (Some(watch), Some(duration)) = (profile.watch.as_mut(), args.watch) {
        watch.duration = duration;
    }
    let dir = tempfile::Builder::new()
        .prefix("gonogo-demo-")
        .tempdir()
        .map_err(DemoError::Dir)?
        .keep();
    let shown = crate::text::printable(&dir.display().to_string()).into_owned();
    let hosts = host::write_changes(&dir)
        .and_then(|()| hosts::Hosts::start(&dir.join("hosts"), &HOSTS, args.scenario))
        .map_err(|source| DemoError::Hosts {
            dir: shown.clone(),
            source,
        })?;
    eprintln!("gonogo demo: {}", args.scenario.line());
    eprintln!(
        "gonogo demo: the hosts web-1, web-2, web-3 are simulated under {shown}; nothing else is touched"
    );
    let log = crate::logging::start_in(&dir);
    let flags = RunFlags {
        yes: args.yes,
        unattended: args.unattended,
        log: log.as_ref().map(|l| l.path.clone()),
        record: Some(
            args.record
                .clone()
                .unwrap_or_else(|| dir.join("session.jsonl")),
        ),
        profile_path: "profiles/demo.toml (built into gonogo)".into(),
        profile_sha256: crate::profile::sha256_hex(PROFILE.as_bytes()),
        github_actions: args.headless && crate::headless::ci::github_actions(),
        places: hosts.places.clone(),
        // `changes` reads the log the demo wrote in its directory, wherever it was started.
        changes_dir: Some(dir.clone()),
        rehearsal: Some(args.scenario.line()),
        rehearse: args.yes.then(|| args.scenario.rehearse()).flatten(),
        present: args.present.clone(),
        ..RunFlags::default()
    };
    let code = crate::launch::outcome::launch_and_report(
        &profile,
        &vars,
        args.headless,
        &flags,
        log.as_ref(),
    );
    drop(hosts);
    // The hosts and what ships go; the journal and the run's log stay, to replay and read.
    let _ = std::fs::remove_dir_all(dir.join("hosts"));
    let _ = std::fs::remove_dir_all(dir.join("changes"));
    Ok(code)
}
