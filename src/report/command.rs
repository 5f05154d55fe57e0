//! `gonogo report` and `gonogo stats` as the command line runs them.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::text::printable;

/// Prints the report of the journal at `path`; exit 2 when it cannot be read as one.
pub fn report(path: &Path, json: bool) -> ExitCode {
    let journal = match crate::journal::read(path) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {}", printable(&e.to_string()));
            eprintln!(
                "  help: give a session journal, e.g. one of {}",
                printable(&crate::journal::sessions_dir().display().to_string())
            );
            return ExitCode::from(crate::exit::INVALID);
        }
    };
    for w in &journal.warnings {
        eprintln!("gonogo: warning: {}", printable(w));
    }
    let report = super::build(&journal);
    let text = if json {
        super::to_json(&report)
    } else {
        super::to_markdown(&report)
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Prints the stats over the journals in `dir` (default: the sessions directory).
pub fn stats(dir: Option<&Path>, json: bool) -> ExitCode {
    let default = crate::journal::sessions_dir();
    let dir = dir.unwrap_or(&default);
    let (stats, warnings) = match super::stats::gather(dir) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::exit::INVALID);
        }
    };
    for w in &warnings {
        eprintln!("gonogo: warning: {w}");
    }
    let text = if json {
        super::stats::to_json(&stats)
    } else {
        super::stats::to_text(&stats)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Why the job summary did not get the report.
#[derive(Debug, thiserror::Error)]
pub enum StepSummaryError {
    #[error("no report for the job summary: {}", printable(&.0.to_string()))]
    Read(#[source] crate::journal::ReadError),
    #[error("cannot append the report to $GITHUB_STEP_SUMMARY ({}): {source}", printable(.file))]
    Append {
        file: String,
        source: std::io::Error,
    },
}

/// Under GitHub Actions: appends the report of the journal at `path` to the file named by
/// `$GITHUB_STEP_SUMMARY` (nothing when it is unset).
pub fn step_summary(path: &Path) -> Result<(), StepSummaryError> {
    let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let journal = crate::journal::read(path).map_err(StepSummaryError::Read)?;
    let report = super::build(&journal);
    // The first line says how it ended, before any heading: what a CI page shows first.
    let markdown = format!(
        "**{}**\n\n{}",
        super::markdown::text(&report.summary.headline),
        super::to_markdown(&report)
    );
    let shown = Path::new(&summary).display().to_string();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&summary)
        .and_then(|mut f| f.write_all(format!("{markdown}\n").as_bytes()))
        .map_err(|source| StepSummaryError::Append {
            file: shown,
            source,
        })
}
