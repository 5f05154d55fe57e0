//! The checklist pane: phases and steps in order with their state, duration and, expanded,
//! their per-target results; the current step highlighted and kept in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::state::{Pane, UiState, row_of};
use super::theme::Theme;
use crate::engine::RunStatus;
use crate::engine::plan::PlannedStep;
use crate::engine::release::{StepState, TargetRun};
use crate::engine::{Release, StepList};

pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{}.{}s", s, (ms % 1000) / 100)
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// `text` in lines of at most `width` characters, broken between words where it can be.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        // A word longer than a line is cut.
        while word.len() > width {
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            out.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if needed > width && !line.is_empty() {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

fn took(state: &StepState, now: u64) -> String {
    match (state.started_at, state.finished_at) {
        (Some(a), Some(b)) => duration(b.saturating_sub(a)),
        (Some(a), None) => duration(now.saturating_sub(a)),
        _ => String::new(),
    }
}

/// `now` times the steps still running: their clock moves whether or not output arrives.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    release: &Release,
    ui: &UiState,
    theme: &Theme,
    now: u64,
) {
    let focused = ui.focus == Pane::Checklist;
    let block = Block::bordered().title(Line::from(" Checklist ").style(if focused {
        theme.bold()
    } else {
        theme.dim()
    }));
    let inner = block.inner(area);
    let pane = Checklist {
        release,
        ui,
        theme,
        now,
        width: inner.width as usize,
        focused,
        current: release.current(),
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor_line = 0;
    for list in [StepList::Main, StepList::Rollback] {
        let mut group: Option<(&str, Option<u32>)> = None;
        for (i, step) in release.list(list).iter().enumerate() {
            let heading = phase_heading(list, step);
            // A phase rolled out in batches: a heading per batch, its hosts named.
            let batch = step.batch.as_ref().filter(|_| list == StepList::Main);
            if group != Some((heading, batch.map(|b| b.number))) {
                group = Some((heading, batch.map(|b| b.number)));
                lines.push(match batch {
                    Some(b) => super::rollout::batch_heading(release, b, pane.width, theme),
                    None => Line::from(Span::styled(heading.to_string(), theme.bold())),
                });
            }
            if row_of(release, list, i) == ui.cursor {
                cursor_line = lines.len();
            }
            let row = pane.step_row(list, i, step);
            lines.push(row.line);
            if ui.expanded.contains(&(list, i)) {
                pane.expanded_rows(list, i, &row.name, row.cut, &mut lines);
            }
        }
    }
    // Keep the cursor (the current step while tracking) in view, a little below the top.
    let height = inner.height as usize;
    let top = cursor_line
        .saturating_sub(height / 3)
        .min(lines.len().saturating_sub(height));
    let visible: Vec<Line> = lines.into_iter().skip(top).take(height).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
}

/// A phase's heading: the step's phase, or "Rollback" for every rollback step.
fn phase_heading(list: StepList, step: &PlannedStep) -> &str {
    if list == StepList::Rollback {
        "Rollback"
    } else {
        step.phase.as_str()
    }
}

/// What drawing the checklist needs throughout, drawn at `width` columns.
struct Checklist<'a> {
    release: &'a Release,
    ui: &'a UiState,
    theme: &'a Theme,
    now: u64,
    width: usize,
    focused: bool,
    current: Option<(StepList, usize)>,
}

/// A step's row, with its full name and whether the row had to cut it.
struct StepRow {
    line: Line<'static>,
    name: String,
    cut: bool,
}

impl Checklist<'_> {
    /// A step's row: its symbol, its name cut to fit, and its time (or what became of it).
    fn step_row(&self, list: StepList, i: usize, step: &PlannedStep) -> StepRow {
        let (release, theme, width) = (self.release, self.theme, self.width);
        let state = &release.states(list)[i];
        let (mut symbol, mut style) = theme.step(state.status);
        let never_ran =
            release.outcome.is_some() && state.status == crate::engine::StepStatus::Pending;
        if never_ran {
            // Never ran, and never will: said, not left to a dot.
            (symbol, style) = ("–", theme.dim());
        }
        let mut time = self.step_time(list, i, state, never_ran);
        let analysis = (list == StepList::Main && !never_ran)
            .then(|| super::rollout::analysis_row(release, i, theme, self.now))
            .flatten();
        if let Some((glyph, look, words)) = analysis {
            (symbol, style, time) = (glyph, look, words);
        }
        let name = step_name(step);
        let room = width.saturating_sub(4 + time.len() + 1);
        let cut = name.chars().count() > room;
        let shown: String = if cut {
            name.chars()
                .take(room.saturating_sub(1))
                .chain(['…'])
                .collect()
        } else {
            name.clone()
        };
        let pad = width.saturating_sub(3 + shown.chars().count() + time.len());
        let line = Line::from(vec![
            Span::styled(format!(" {symbol} "), style),
            Span::raw(shown),
            Span::raw(" ".repeat(pad)),
            Span::styled(time, theme.dim()),
        ]);
        let line = self.highlight(line, list, i);
        StepRow { line, name, cut }
    }

    /// A step's time: how long it took, "not run", or what the rollback made of it.
    fn step_time(&self, list: StepList, i: usize, state: &StepState, never_ran: bool) -> String {
        if never_ran {
            "not run".into()
        } else if let Some(short) = (list == StepList::Main)
            .then(|| undo_short(self.release, i))
            .flatten()
        {
            short.into()
        } else {
            took(state, self.now)
        }
    }

    /// The cursor's row selected, the step under way in bold.
    fn highlight<'l>(&self, line: Line<'l>, list: StepList, i: usize) -> Line<'l> {
        let theme = self.theme;
        if row_of(self.release, list, i) == self.ui.cursor && self.focused {
            line.style(theme.selected())
        } else if self.current == Some((list, i)) && self.ui.present.is_some() {
            // Presenting: the step under way stands out for whoever watches the share.
            line.style(theme.bold().reversed())
        } else if self.current == Some((list, i)) {
            line.style(theme.bold())
        } else {
            line
        }
    }

    /// Under an expanded step: its name whole if cut, each target's row, why it was skipped.
    fn expanded_rows(
        &self,
        list: StepList,
        i: usize,
        name: &str,
        cut: bool,
        lines: &mut Vec<Line>,
    ) {
        let theme = self.theme;
        // Expanded, a name cut to fit is shown whole, wrapped under its row.
        if cut {
            for piece in wrap_words(name, self.width.saturating_sub(5).max(1)) {
                lines.push(Line::from(Span::styled(
                    format!("     {piece}"),
                    theme.bold(),
                )));
            }
        }
        let planned = &self.release.list(list)[i];
        // An analysis has no hosts of its own: what it compares is said instead.
        if planned.kind == crate::engine::plan::StepKind::Analysis {
            for piece in wrap_words(&planned.text, self.width.saturating_sub(5).max(1)) {
                lines.push(Line::from(Span::styled(
                    format!("     {piece}"),
                    theme.dim(),
                )));
            }
        }
        let state = &self.release.states(list)[i];
        for t in &state.targets {
            lines.push(self.target_row(list, i, t));
        }
        if let Some(reason) = &state.skip_reason {
            lines.push(Line::from(Span::styled(
                format!("     skipped: {reason}"),
                theme.dim(),
            )));
        }
    }

    /// A target's row under an expanded step: its symbol, its name and how the step went there.
    fn target_row(&self, list: StepList, i: usize, t: &TargetRun) -> Line<'static> {
        let (symbol, style) = self.theme.run(t.status);
        let mut detail = target_detail(t, self.now);
        // Once a rollback began, each host says what became of the step there.
        if list == StepList::Main
            && self.release.rollback_begun
            && let Some(said) = self.release.undo_said(i, &t.target)
        {
            detail = said;
        }
        Line::from(vec![
            Span::raw("     "),
            Span::styled(format!("{symbol} "), style),
            Span::styled(t.target.clone(), self.theme.target(self.release, &t.target)),
            Span::styled(format!("  {detail}"), self.theme.dim()),
        ])
    }
}

/// A step's name as listed: a gate and an irreversible step marked before it runs.
fn step_name(step: &PlannedStep) -> String {
    if let Some(name) = super::rollout::analysis_name(step) {
        return name.to_string();
    }
    let kind = if step.kind == crate::profile::StepKind::Gate {
        "gate: "
    } else {
        ""
    };
    // Marked before it runs: there is no undo for it.
    let mark = if step.irreversible { "! " } else { "" };
    format!("{kind}{mark}{}", step.name)
}

/// How a step went on one target: its failure, its attempt, how long it ran or took.
fn target_detail(t: &TargetRun, now: u64) -> String {
    let took = match (t.started_at, t.finished_at) {
        (Some(a), Some(b)) => Some(duration(b.saturating_sub(a))),
        _ => None,
    };
    if let Some(f) = &t.failure {
        f.clone()
    } else if t.status == RunStatus::Stopping {
        "stopping on the host…".into()
    } else if let (RunStatus::Running, Some(a)) = (t.status, t.started_at) {
        let again = match t.attempt {
            0 | 1 => String::new(),
            n => format!(" (#{n})"),
        };
        format!("running {}{again}", duration(now.saturating_sub(a)))
    } else if let Some(how) = &t.stopped {
        format!("{} {how}", took.unwrap_or_default())
    } else if let Some(took) = took {
        format!("{took} ok")
    } else {
        format!("attempt {}", t.attempt.max(1))
    }
}

/// A `run` step's row once a rollback began: what the rollback made of it, in a word or two
/// (each host's mark is in the expanded rows). `None`: nothing to say beyond the symbol.
fn undo_short(release: &Release, step: usize) -> Option<&'static str> {
    use crate::engine::UndoMark;
    if !release.rollback_begun {
        return None;
    }
    let marks: Vec<UndoMark> = release.steps[step]
        .targets
        .iter()
        .filter_map(|t| release.undo_mark(step, &t.target))
        .filter(|m| *m != UndoMark::NeverRan)
        .collect();
    if marks.is_empty() {
        return None;
    }
    let all = |m: UndoMark| marks.iter().all(|x| *x == m);
    let any = |m: UndoMark| marks.contains(&m);
    Some(if all(UndoMark::Undone) {
        "undone"
    } else if any(UndoMark::UndoFailed) {
        "undo failed"
    } else if any(UndoMark::Undoing) {
        "undoing"
    } else if marks.iter().all(|m| *m == UndoMark::ToUndo) {
        "to undo"
    } else if any(UndoMark::Undone) {
        "partly undone"
    } else {
        "not undone"
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_wrap_between_words() {
        assert_eq!(
            super::wrap_words("Required env vars present", 22),
            vec!["Required env vars", "present"]
        );
        assert_eq!(
            super::wrap_words("abcdefgh ij", 4),
            vec!["abcd", "efgh", "ij"]
        );
    }
}
