//! `gonogo check` and `gonogo plan`: a profile read, checked and resolved, every diagnostic
//! printed with its place.

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use super::{Format, exit};
use crate::profile::{self, Diagnostics, Profile, Purpose, Severity, Source, StepKind, VarValues};
use crate::text::plural;
pub(super) fn check_one(path: &Path, strict: bool) -> bool {
    let Some(source) = read(path) else {
        return false;
    };
    let (profile, mut diags) = profile::load(&source);
    if let Some(p) = &profile {
        profile::resolve(
            p,
            &[],
            |name| std::env::var(name).ok(),
            Purpose::Check,
            &mut diags,
        );
    }
    let ok = report(&source, diags, strict);
    match profile {
        Some(p) if ok => {
            let (steps, targets, gates) = summary(&p);
            let s = crate::text::plural;
            println!(
                "ok: {} ({steps} step{}, {targets} target{}, {gates} gate{})",
                source.path,
                s(steps),
                s(targets),
                s(gates)
            );
            true
        }
        _ => false,
    }
}

/// Reads, checks and resolves a profile for `plan` or `run`; prints every diagnostic.
pub(super) fn load_resolved(
    path: &Path,
    sets: &[(String, String)],
    purpose: Purpose,
    strict: bool,
) -> Option<(Profile, VarValues)> {
    let source = read(path)?;
    let (profile, mut diags) = profile::load(&source);
    let vars = profile.as_ref().map(|p| {
        profile::resolve(
            p,
            sets,
            |name| std::env::var(name).ok(),
            purpose,
            &mut diags,
        )
    });
    if !report(&source, diags, strict) {
        return None;
    }
    profile.zip(vars)
}

pub(super) fn plan(
    path: &Path,
    sets: &[(String, String)],
    format: Format,
    strict: bool,
) -> ExitCode {
    let Some((profile, vars)) = load_resolved(path, sets, Purpose::Plan, strict) else {
        return exit(true);
    };
    let plan = crate::profile::release_plan(&profile, &vars);
    match format {
        Format::Markdown => print!("{}", crate::report::plan::to_markdown(&plan)),
        Format::Json => print!("{}", crate::report::plan::to_json(&plan)),
    }
    ExitCode::SUCCESS
}

/// Reads a profile; a missing or unreadable file is reported like any other problem.
pub(super) fn read(path: &Path) -> Option<Source> {
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Some(Source::new(shown, text)),
        Err(e) => {
            eprintln!("{shown}: error: cannot read the profile: {e}");
            eprintln!(
                "  help: check the path; profiles are TOML files such as profiles/example.toml"
            );
            None
        }
    }
}

/// Prints every diagnostic and a summary; true when the profile may be used.
pub(super) fn report(source: &Source, diags: Diagnostics, strict: bool) -> bool {
    let errors = diags.count(Severity::Error);
    let warnings = diags.count(Severity::Warning);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for d in diags.into_sorted() {
        eprint!("{}", source.render(&d, color));
    }
    let failed = errors > 0 || (strict && warnings > 0);
    if failed {
        let why = if errors == 0 {
            " (--strict: warnings count as errors)"
        } else {
            ""
        };
        eprintln!(
            "{}: {} error{}, {} warning{}{why}",
            source.path,
            errors,
            plural(errors),
            warnings,
            plural(warnings)
        );
    }
    !failed
}

/// Steps, targets and gates: what `check` says of a valid profile.
pub fn summary(p: &Profile) -> (usize, usize, usize) {
    let gates = p.steps.iter().filter(|s| s.kind == StepKind::Gate).count();
    (p.steps.len(), p.targets.len(), gates)
}
