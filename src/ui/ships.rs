//! What ships, where the decision is made: the first gate's part (`v1.4.2 → v1.5.0 · 12
//! changes · 2 migrations`, then the change list and the migrations to run, scrolled with
//! ↑↓ PgUp PgDn), the status bar's `v1.4.2 → v1.5.0`, and the words for the fleet's versions.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::present::Presenter;
use super::theme::Theme;
use crate::engine::plan::StepKind;
use crate::engine::ships::Found;
use crate::engine::{Question, Release};
use crate::text::printable;

/// The plan's first gate: the one that shows what ships.
fn first_gate(release: &Release) -> Option<usize> {
    (release.plan.steps.iter()).position(|s| s.kind == StepKind::Gate)
}

/// The open question is the first gate, and the profile says how to find what ships.
pub fn at_first_gate(release: &Release, question: &Question) -> bool {
    let Question::Gate { step } = question else {
        return false;
    };
    let ships = &release.plan.ships;
    let asked = ships.current.is_some() || ships.changes.is_some() || ships.pending.is_some();
    asked && first_gate(release) == Some(*step)
}

/// The versions the hosts ran before the release (`v1.4.2`, a mixed fleet's `v1.4.2 / v1.4.1`),
/// once found.
pub fn before_said(release: &Release) -> Option<String> {
    let groups = release.version_groups();
    if groups.is_empty() {
        return None;
    }
    let before: Vec<&str> = groups.iter().map(|(v, _)| v.as_str()).collect();
    Some(printable(&before.join(" / ")).into_owned())
}

/// The part's first row: `What ships: v1.4.2 → v1.5.0 · 3 changes · 2 migrations`.
pub fn header(release: &Release, theme: &Theme) -> Line<'static> {
    let said = match release.ships_said() {
        Some(said) => printable(&said).into_owned(),
        None => "the versions running now are not found yet".to_string(),
    };
    Line::from(vec![
        Span::styled("What ships: ", theme.bold()),
        Span::styled(said, theme.bold()),
    ])
}

/// Where the lists are scrolled to, when they do not fit (`↑↓ 1–8 of 14`), on the blank row
/// under them.
pub fn scroll_line((top, shown, total): (usize, usize, usize), theme: &Theme) -> Line<'static> {
    let last = (top + shown).min(total);
    Line::from(Span::styled(
        format!("↑↓ {}–{last} of {total}", top + 1),
        theme.dim(),
    ))
    .right_aligned()
}

/// The fleet's disagreement, when it was let go on (`--allow-mixed`): each version and its
/// hosts, and the reason given.
pub fn mixed_line(release: &Release, theme: &Theme) -> Option<Line<'static>> {
    let groups = release.version_groups();
    if groups.len() < 2 {
        return None;
    }
    let said: Vec<String> = groups
        .iter()
        .map(|(v, hosts)| format!("{v} on {}", hosts.join(", ")))
        .collect();
    let why = match &release.plan.ships.allow_mixed {
        Some(reason) => format!("allowed: {reason}"),
        None => "not allowed".to_string(),
    };
    Some(Line::from(Span::styled(
        printable(&format!("mixed: {why} ({})", said.join("; "))).into_owned(),
        theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
    )))
}

/// The lists below the header, one row each (cut to `width` columns, never wrapped, so a
/// presenter's masks see each whole): the changes, then the migrations to run. A list that
/// could not be made says why, in amber. Masked first when presenting.
pub fn list_lines(
    release: &Release,
    width: usize,
    present: Option<&Presenter>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let plan = &release.plan.ships;
    let ships = &release.ships;
    let mut lines = Vec::new();
    let mut list = |asked: bool, found: &Option<Found>, title: String, what: &str| {
        if !asked {
            return;
        }
        let Some(found) = found else {
            lines.push(Line::from(Span::styled(
                format!("{what}: being found…"),
                theme.dim(),
            )));
            return;
        };
        lines.extend(found_lines(found, (title, what), width, present, theme));
    };
    let changes = ships.changes.as_ref().map_or(0, |f| f.total);
    // A mixed fleet's list starts from one host's version: which, and what the others run.
    let since = (release.changes_from_said()).map_or(String::new(), |s| {
        s.trim_start_matches("changes").to_string()
    });
    list(
        plan.changes.is_some(),
        &ships.changes,
        format!("Changes ({changes}){since}:"),
        "changes",
    );
    let pending_on = ships.pending_on.as_deref().or(plan.pending_on.as_deref());
    let on = pending_on.map_or(String::new(), |t| format!(" on {t}"));
    let pending = ships.pending.as_ref().map_or(0, |f| f.total);
    list(
        plan.pending.is_some(),
        &ships.pending,
        format!("Migrations to run{on} ({pending}):"),
        "migrations",
    );
    lines
}

/// One list: its title and lines (and how many more were not kept), or why it has none.
fn found_lines(
    found: &Found,
    (title, what): (String, &str),
    width: usize,
    present: Option<&Presenter>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let fit = |text: &str| {
        let text = printable(text).into_owned();
        let text = present.map_or(text.clone(), |p| p.mask_text(&text));
        cut(&text, width)
    };
    if let Some(error) = &found.error {
        let amber = theme.fg(Color::Yellow).add_modifier(Modifier::BOLD);
        return vec![Line::from(Span::styled(
            fit(&format!("{what}: not found ({error})")),
            amber,
        ))];
    }
    let mut lines = vec![Line::from(Span::styled(fit(&title), theme.bold()))];
    lines.extend((found.lines.iter()).map(|l| Line::from(Span::raw(fit(&format!("  {l}"))))));
    if found.total > found.lines.len() {
        let more = found.total - found.lines.len();
        lines.push(Line::from(Span::styled(
            format!("  … {more} more, not kept"),
            theme.dim(),
        )));
    }
    lines
}

/// `text` in `width` columns at most, `…` at the end when cut.
fn cut(text: &str, width: usize) -> String {
    if Span::raw(text).width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if Span::raw(format!("{out}{c}")).width() + 1 > width {
            break;
        }
        out.push(c);
    }
    format!("{out}…")
}

/// Every host's version before the release, in one row's words: `web-1 v1.4.2, web-2 v1.4.2`
/// (a host that could not say: `web-3 ?`).
pub fn versions_said(release: &Release) -> Option<String> {
    if release.ships.found.is_empty() {
        return None;
    }
    // In the profile's order of the targets, whatever order they answered in.
    let mut found: Vec<&(String, crate::engine::ships::Running)> =
        release.ships.found.iter().collect();
    found.sort_by_key(|(t, _)| (release.targets.iter()).position(|s| s.name == *t));
    let said: Vec<String> = (found.into_iter())
        .map(|(t, v)| match v.version() {
            Some(version) => format!("{t} {version}"),
            None => format!("{t} ?"),
        })
        .collect();
    Some(printable(&said.join(", ")).into_owned())
}

/// The question when every host already runs the version: what was found, and what each
/// answer does.
pub fn redeploy_lines(release: &Release, version: &str, theme: &Theme) -> Vec<Line<'static>> {
    let version = printable(version).into_owned();
    let mut lines = vec![Line::from(Span::styled(
        format!("Every host runs {version} already: nothing new to ship."),
        theme.bold(),
    ))];
    if let Some(hosts) = versions_said(release) {
        lines.push(Line::from(format!("Running now: {hosts}")));
    }
    lines.push(Line::from(format!(
        "Deploy {version} again (a reason is required, and recorded), or stop: the release \
         ends refused, nothing run on the hosts."
    )));
    lines
}

/// A style that stands out for what a person must notice (a mixed fleet).
pub fn warn(theme: &Theme) -> Style {
    theme.fg(Color::Yellow).add_modifier(Modifier::BOLD)
}
