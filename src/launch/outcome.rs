//! What a run says when it ends: the summary, the outcome, the locks, the journal.

use std::io::Write as _;
use std::process::ExitCode;

use super::RunFlags;
use crate::engine::{LockState, Outcome};
use crate::headless::ci::shown;
use crate::logging::RunLog;
use crate::profile::{Profile, VarValues};
use crate::text::plural;

/// Runs a checked profile (headless or in the cockpit) and says how it ended; the exit code
/// is the outcome's.
pub fn launch_and_report(
    profile: &Profile,
    vars: &VarValues,
    headless: bool,
    flags: &RunFlags,
    log: Option<&RunLog>,
) -> ExitCode {
    // Where to look when a run did not go as planned.
    let show_log = || {
        if let Some(log) = log {
            eprintln!(
                "gonogo: log of this run: {}",
                crate::text::printable(&log.path.display().to_string())
            );
        }
    };
    match crate::launch::run(profile, vars, flags, headless) {
        Ok(crate::launch::Ran { release, journal }) => {
            tracing::info!(outcome = ?release.outcome, "run ends");
            said_at_the_end(&release, journal.as_ref(), flags, log)
        }
        Err(e) => {
            tracing::error!(error = %e, "run did not start");
            let said = format!("error: {}", crate::text::printable_lines(&e.to_string()));
            for line in said.lines() {
                eprintln!("{}", shown(flags.github_actions, line));
            }
            show_log();
            ExitCode::from(crate::exit::INVALID)
        }
    }
}

/// What a run says once it ended: the summary, the outcome and the locks on stdout, where the
/// journal is on stderr; with `--present`, masked like the screen was.
fn said_at_the_end(
    release: &crate::engine::Release,
    journal: Option<&crate::journal::Writer>,
    flags: &RunFlags,
    log: Option<&RunLog>,
) -> ExitCode {
    let presenter = flags
        .present
        .as_ref()
        .and_then(|masks| crate::ui::present::Presenter::new(&release.plan, masks).ok());
    let masked = |line: &str| match &presenter {
        Some(p) => p.mask_text(line),
        None => line.to_string(),
    };
    let mut out = std::io::stdout();
    let ci = flags.github_actions;
    if release.started_at.is_some() {
        let log = log.map(|l| l.path.as_path());
        for line in crate::summary::lines(release, log) {
            let _ = writeln!(out, "{}", shown(ci, &masked(&line)));
        }
    }
    let outcome = release.outcome.unwrap_or(Outcome::Aborted);
    let said = crate::summary::outcome_said(release);
    // Only what the hosts confirmed: a lock kept is named with how to remove it.
    let locks = match release.kept_locks.len() {
        0 if release
            .targets
            .iter()
            .any(|t| t.lock == LockState::Released) =>
        {
            "; locks released".to_string()
        }
        0 => String::new(),
        n => format!(
            "; {n} lock{} kept: {}",
            plural(n),
            release
                .kept_locks
                .iter()
                .map(|k| k.target.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    // The terminal may be gone (SIGHUP): the outcome is in the exit code either way.
    let _ = writeln!(
        std::io::stdout(),
        "gonogo: {}",
        masked(&format!("{said}{locks}"))
    );
    if let Some(journal) = journal {
        let shown = journal.path().display().to_string();
        let path = masked(&crate::text::printable(&shown));
        match journal.error() {
            None => eprintln!("gonogo: recorded to {path} (gonogo replay {path})"),
            Some(e) => eprintln!(
                "gonogo: warning: the journal {path} is incomplete: writing it failed ({e})"
            ),
        }
        if ci && let Err(e) = crate::report::command::step_summary(journal.path()) {
            eprintln!("gonogo: warning: {e}");
        }
    }
    ExitCode::from(outcome.exit_code())
}
