//! The cockpit: a ratatui view of `&Release` plus the cockpit's own `UiState`.
//!
//! ```text
//! ┌ status: release · ENVIRONMENT · version · elapsed · lock · hosts · watch ───────────┐
//! │ Checklist (≈38%)        │ Output / Logs                                             │
//! │  phases, steps, state   │  [target] line …                                          │
//! │                         ├──────────────────────────────────────────────────────────┤
//! │                         │ Health: rules, failures, metrics, links                   │
//! └ hints / what waits ──────────────────────────────────────────────────────────────────┘
//!   modals (question, confirmations, help) draw last, over a cleared area
//! ```
//!
//! `z` gives the focused pane the whole middle; the status bar and the key line stay.

pub mod checklist;
pub mod cockpit;
mod confirm;
mod failure;
pub mod fit;
pub mod health;
mod help;
pub mod host_shell;
pub mod keyline;
pub mod keymap;
pub mod logs;
pub mod modal;
mod on_screen;
pub mod output;
pub mod pane;
pub mod panels;
pub mod picker;
pub mod present;
mod rollback_plan;
pub mod rollout;
pub mod screen;
pub mod ships;
pub mod state;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::engine::{Release, Stage};
use state::UiState;
use theme::Theme;

/// Draws one frame. `now` (ms since the epoch) is passed in so a frame is a function of its
/// inputs: snapshots and replays draw the same thing twice.
pub fn draw(frame: &mut Frame, release: &Release, ui: &UiState, theme: &Theme, now: u64) {
    draw_in(frame, frame.area(), release, ui, theme, now);
}

/// [`draw`] into part of the frame (a replay keeps the last row for its own bar).
pub fn draw_in(
    frame: &mut Frame,
    area: ratatui::layout::Rect,
    release: &Release,
    ui: &UiState,
    theme: &Theme,
    now: u64,
) {
    // A demo says so on its first row, whatever else is on screen: the hosts are simulated.
    let banner_rows = u16::from(release.plan.rehearsal.is_some() && area.height > 6);
    let [banner, top, middle, bottom] = Layout::vertical([
        Constraint::Length(banner_rows),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    if let Some(rehearsal) = release
        .plan
        .rehearsal
        .as_deref()
        .filter(|_| banner_rows > 0)
    {
        let text = crate::text::printable(rehearsal).into_owned();
        frame.render_widget(
            ratatui::widgets::Paragraph::new(text).style(theme.bold().reversed()),
            banner,
        );
    }
    let Panes {
        checklist: left,
        output: output_area,
        health: health_area,
    } = panes(middle, release, ui, now);

    panels::status_bar(frame, top, release, ui, theme, now);
    if !left.is_empty() {
        checklist::render(frame, left, release, ui, theme, now);
    }
    // The end screen keeps the health pane, with its last readings, under the summary.
    if !output_area.is_empty() {
        output::render(frame, output_area, release, ui, theme);
    }
    if !health_area.is_empty() {
        health::render(frame, health_area, release, ui, theme, now);
    }
    keyline::render(frame, bottom, release, ui, theme);

    // Under a question that arrives while they are typed (their keys come first all the same).
    match &ui.modal {
        state::Modal::Filter(filter) => {
            let under = if output_area.is_empty() {
                middle
            } else {
                output_area
            };
            filter_box(frame, under, filter)
        }
        state::Modal::Picker(picker) => picker::render(frame, middle, release, picker, theme),
        _ => {}
    }
    if let Some(answer) = ui.answer.as_ref().filter(|a| !a.hidden) {
        modal::answer(
            frame,
            area,
            release,
            (answer, ui.seat, ui.present.as_ref()),
            theme,
        );
    }
    confirm::render(frame, area, release, &ui.modal, theme);
    if let state::Modal::Help { scroll, .. } = ui.modal {
        help::overlay(frame, area, (scroll, ui.replaying), theme);
    }
    if let Some(present) = &ui.present {
        present.mask(frame.buffer_mut(), area);
    }
}

/// Where the three panes go in the middle of the screen (an empty one is not drawn).
struct Panes {
    checklist: Rect,
    output: Rect,
    health: Rect,
}

/// The checklist on the left, the output over the health pane on the right; zoomed, the
/// focused pane has the whole middle.
fn panes(middle: Rect, release: &Release, ui: &UiState, now: u64) -> Panes {
    if ui.zoomed {
        let zero = Rect {
            height: 0,
            ..middle
        };
        let only = |pane| if ui.focus == pane { middle } else { zero };
        return Panes {
            checklist: only(state::Pane::Checklist),
            output: only(state::Pane::Output),
            health: only(state::Pane::Health),
        };
    }
    let checklist_width = (middle.width * 38 / 100).clamp(28.min(middle.width), 60);
    let [checklist, right] =
        Layout::horizontal([Constraint::Length(checklist_width), Constraint::Min(10)])
            .areas(middle);
    // In the watch window, a batch's analysis and on the end screen the health pane is what
    // matters: it may take half the height.
    let share = match release.stage {
        Stage::Watching { .. } | Stage::Closing | Stage::Finished => 2,
        _ if release.analysing().is_some() => 2,
        _ => 3,
    };
    let health_height = health::height_wanted(release, right.width, now)
        .clamp(3, (middle.height / share).max(3) as usize) as u16;
    let [output, health] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(health_height)]).areas(right);
    Panes {
        checklist,
        output,
        health,
    }
}

/// The filter being typed, over the bottom of the output pane.
fn filter_box(frame: &mut Frame, output_area: ratatui::layout::Rect, filter: &state::FilterBox) {
    let rect = ratatui::layout::Rect {
        x: output_area.x,
        y: output_area.bottom().saturating_sub(3),
        width: output_area.width,
        height: 3.min(output_area.height),
    };
    frame.render_widget(ratatui::widgets::Clear, rect);
    let mut input = filter.input.clone();
    input.set_placeholder_text("a regex, e.g. error|timeout");
    let title = match &filter.error {
        Some(e) => format!(" filter: {e} "),
        None => " filter (regex, Enter applies, Esc clears) ".to_string(),
    };
    input.set_block(ratatui::widgets::Block::bordered().title(title));
    frame.render_widget(&input, rect);
}
