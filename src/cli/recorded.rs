//! The subcommands that read a session's journal back and go on with it: replay, export,
//! resume; and their argument parsers.

use std::path::Path;
use std::process::ExitCode;

use super::{exit, run_release};
use crate::launch::RunFlags;

pub(super) fn speed(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches(['x', '×'])
        .parse()
        .map_err(|_| format!("{text:?} is not a speed"))?;
    crate::replay::SPEEDS
        .iter()
        .find(|s| (**s - value).abs() < f64::EPSILON)
        .copied()
        .ok_or_else(|| "one of 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64".to_string())
}

pub(super) fn size(text: &str) -> Result<(u16, u16), String> {
    let (cols, rows) = text
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("{text:?}: write COLSxROWS, e.g. 120x36"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (10..=1000).contains(n))
    };
    match (n(cols), n(rows)) {
        (Some(c), Some(r)) => Ok((c, r)),
        _ => Err(format!(
            "{text:?}: columns and rows from 10 to 1000, e.g. 120x36"
        )),
    }
}

/// `gonogo resume`: the session found and checked, then run from where it stood.
pub(super) fn resume_release(
    journal: Option<&Path>,
    sets: &[(String, String)],
    headless: bool,
    yes: bool,
    unattended: Option<crate::engine::Unattended>,
) -> ExitCode {
    let from = match crate::launch::resume::find(journal) {
        Ok(from) => from,
        Err(e) => {
            eprintln!("error: {}", crate::text::printable_lines(&e.to_string()));
            return exit(true);
        }
    };
    eprintln!(
        "gonogo: resuming session {} of {} to {} from {}",
        crate::text::printable(&from.release.session),
        crate::text::printable(&from.release.plan.release),
        crate::text::printable(&from.release.plan.environment),
        crate::text::printable(&from.path.display().to_string()),
    );
    let profile = from.profile.clone();
    let flags = RunFlags {
        yes,
        unattended,
        profile_path: profile.display().to_string(),
        resume: Some(Box::new(from)),
        github_actions: headless && crate::headless::ci::github_actions(),
        ..RunFlags::default()
    };
    run_release(&profile, sets, headless, &flags)
}

/// Why a cast was not written.
#[derive(Debug, thiserror::Error)]
pub(super) enum ExportError {
    #[error(transparent)]
    Read(#[from] crate::journal::ReadError),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// Writing the cast itself failed.
    #[error("{0}")]
    Cast(#[source] std::io::Error),
}

/// Writes the cast next to where it goes, then moves it there: never half a cast.
pub(super) fn export(
    journal: &Path,
    out: &Path,
    (cols, rows): (u16, u16),
) -> Result<(), ExportError> {
    let read = crate::journal::read(journal)?;
    for warning in &read.warnings {
        eprintln!("gonogo: {}: {warning}", journal.display());
    }
    let partial = out.with_extension("cast.partial");
    let file = std::fs::File::create(&partial).map_err(|source| ExportError::Write {
        path: partial.clone(),
        source,
    })?;
    let mut writer = std::io::BufWriter::new(file);
    crate::replay::export::asciicast(read, cols, rows, &mut writer).map_err(ExportError::Cast)?;
    drop(writer);
    std::fs::rename(&partial, out).map_err(|source| ExportError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    eprintln!(
        "gonogo: wrote {} ({cols}x{rows}): asciinema play {}",
        out.display(),
        out.display()
    );
    Ok(())
}
