//! The replay's own row: playing or paused, speed, where it stands, a timeline with marks at
//! gates (◆), failures (✗), rollbacks (↺) and resumes after gonogo died (↯), and the last mark
//! passed in words.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};

use super::player::{MarkKind, Player};
use crate::ui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, player: &Player, theme: &Theme) {
    let state = if player.at_end() {
        "■ end"
    } else if player.paused {
        "‖ paused"
    } else {
        "▶"
    };
    let speed = player.speed;
    let speed = if speed.fract() == 0.0 {
        format!("{speed}×")
    } else {
        format!("{speed:.2}×").replace(".50", ".5")
    };
    // The journal is still being read: marks and records further on are still to come.
    let reading = if player.read_whole() {
        String::new()
    } else if let Some(to) = player.jumping() {
        format!(" reading… to {} by the index", clock(to))
    } else if player.landed() {
        " reading… shown from the index".into()
    } else if player.no_index() {
        " reading… no usable index: plays as read".into()
    } else {
        " reading…".into()
    };
    let head = format!(
        " REPLAY {state} {speed} {} / {}{reading} ",
        clock(player.position),
        clock(player.end())
    );
    // The last mark passed, with its time: the label moves on as the position does.
    let label = player
        .last_mark()
        .map_or(String::new(), |m| format!(" {} {}", clock(m.t), m.label));
    let width = area.width as usize;
    let used = head.chars().count() + 2;
    // The timeline takes what is left, at least a third of the row; the label what remains.
    let room = width.saturating_sub(used);
    let track = (room.saturating_sub(label.chars().count()))
        .max(room / 3)
        .max(1);
    let mut cells: Vec<(char, Option<Color>)> = vec![('─', None); track];
    let end = player.end().max(1);
    let at = |t: u64| ((t as f64 / end as f64) * (track - 1) as f64).round() as usize;
    for mark in &player.marks {
        let (symbol, colour) = match mark.kind {
            MarkKind::Gate => ('◆', Color::Cyan),
            MarkKind::Failure => ('✗', Color::Red),
            MarkKind::Rollback => ('↺', Color::Yellow),
            MarkKind::Proposal => ('⚑', Color::Yellow),
            MarkKind::Resumed => ('↯', Color::Magenta),
        };
        let i = at(mark.t).min(track - 1);
        // A failure or a rollback is never hidden under a gate.
        if cells[i].0 == '─' || mark.kind != MarkKind::Gate {
            cells[i] = (symbol, Some(colour));
        }
    }
    let here = at(player.position).min(track - 1);
    cells[here] = ('●', None);
    let mut spans = vec![Span::styled(head, theme.bold()), Span::raw("├")];
    // One span per run of cells alike, not one per cell.
    let mut run = String::new();
    let mut run_colour = None;
    for (symbol, colour) in cells {
        if colour != run_colour && !run.is_empty() {
            let style = run_colour.map_or(theme.dim(), |c| theme.fg(c));
            spans.push(Span::styled(std::mem::take(&mut run), style));
        }
        run_colour = colour;
        run.push(symbol);
    }
    let style = run_colour.map_or(theme.dim(), |c| theme.fg(c));
    spans.push(Span::styled(run, style));
    spans.push(Span::raw("┤"));
    spans.push(Span::raw(label));
    frame.render_widget(Line::from(spans), area);
}

/// `h:mm:ss` or `mm:ss` of microseconds.
fn clock(us: u64) -> String {
    let s = us / 1_000_000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}
