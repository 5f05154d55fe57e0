//! Presenter mode (`--present`), for a screen share: whatever would tell a viewer where the
//! hosts are is masked on every cell of the screen (IP addresses, the targets' addresses, and
//! the patterns given with `--mask`), secrets being masked everywhere already; the current step
//! and an open question stand out; the screen is redrawn at a calm pace.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use regex::Regex;

use crate::engine::ReleasePlan;

/// What a presenting cockpit hides.
#[derive(Debug, Clone)]
pub struct Presenter {
    mask: Regex,
}

/// IPv4 and IPv6 addresses (full, or with `::`: a time of day is not one), e-mail addresses.
const ADDRESSES: [&str; 3] = [
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
    concat!(
        r"\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b",
        r"|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?"
    ),
    r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
];

/// A `--mask` that is not a regex (or masks that together make too big a one).
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("--mask {mask:?} is not a regex: {source}")]
    NotARegex { mask: String, source: regex::Error },
    #[error("{0}")]
    TooBig(#[source] regex::Error),
}

fn checked(mask: &str) -> Result<(), MaskError> {
    Regex::new(mask)
        .map(drop)
        .map_err(|source| MaskError::NotARegex {
            mask: mask.to_string(),
            source,
        })
}

/// `--mask` patterns, checked before anything starts.
pub fn check_masks(masks: &[String]) -> Result<(), MaskError> {
    masks.iter().try_for_each(|m| checked(m))
}

impl Presenter {
    /// Masks the addresses of the plan's targets, IP and e-mail addresses, and `extra`
    /// (regexes; a wrong one is an error that names it).
    pub fn new(plan: &ReleasePlan, extra: &[String]) -> Result<Self, MaskError> {
        let mut parts: Vec<String> = ADDRESSES.iter().map(|p| (*p).to_string()).collect();
        for t in &plan.targets {
            // `user@host:port`: the host is what tells; local targets have none.
            let host = t.address.rsplit('@').next().unwrap_or_default();
            let host = host.split(':').next().unwrap_or_default();
            if !host.is_empty() && host != t.name && host != "local" {
                parts.push(regex::escape(host));
            }
        }
        for e in extra {
            checked(e)?;
            parts.push(format!("(?:{e})"));
        }
        let mask = Regex::new(&parts.join("|")).map_err(MaskError::TooBig)?;
        Ok(Presenter { mask })
    }

    /// The presenter of a recorded session: what it was shown with (`--present` recorded in
    /// its journal's header), or `masks` asked for now; `None` when neither.
    pub fn of_recording(
        journal: &crate::journal::Journal,
        masks: Option<&[String]>,
    ) -> Result<Option<Self>, MaskError> {
        let recorded = journal.header.as_ref().and_then(|h| h.present.as_deref());
        let masks: Vec<String> = match (recorded, masks) {
            (None, None) => return Ok(None),
            (recorded, now) => recorded.into_iter().chain(now).flatten().cloned().collect(),
        };
        let plan = journal
            .events()
            .find_map(|e| match &e.kind {
                crate::engine::EventKind::Started { plan, .. } => Some(plan.as_ref().clone()),
                _ => None,
            })
            .unwrap_or_default();
        Presenter::new(&plan, &masks).map(Some)
    }

    /// `text` with every match a run of `•`, one per character: for what is printed beside the
    /// screen (the summary after the cockpit, its last words).
    pub fn mask_text(&self, text: &str) -> String {
        self.mask
            .replace_all(text, |c: &regex::Captures| "•".repeat(c[0].chars().count()))
            .into_owned()
    }

    /// Every match on a row of the drawn screen becomes `•` cells, its style kept.
    pub fn mask(&self, buffer: &mut Buffer, area: Rect) {
        let mask = &self.mask;
        for y in area.top()..area.bottom() {
            let mut text = String::new();
            // The cell where each byte of the row's text comes from.
            let mut cell_of = Vec::new();
            for x in area.left()..area.right() {
                let symbol = buffer[(x, y)].symbol();
                text.push_str(symbol);
                cell_of.extend(std::iter::repeat_n(x, symbol.len()));
            }
            let hits: Vec<(usize, usize)> = mask
                .find_iter(&text)
                .map(|m| (m.start(), m.end()))
                .collect();
            for (start, end) in hits {
                let (Some(&from), Some(&to)) = (cell_of.get(start), cell_of.get(end - 1)) else {
                    continue;
                };
                for x in from..=to {
                    buffer[(x, y)].set_symbol("•");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::{Color, Style};
    use ratatui::widgets::Paragraph;

    use super::*;
    use crate::engine::plan::{PlannedTarget, Transport};

    fn plan() -> ReleasePlan {
        ReleasePlan {
            targets: vec![PlannedTarget {
                name: "web-1".into(),
                address: "deploy@web-1.prod.acme.internal:2222".into(),
                roles: Vec::new(),
                transport: Transport::Ssh,
                vars: Default::default(),
            }],
            ..ReleasePlan::default()
        }
    }

    fn shown(text: &str, extra: &[String]) -> (String, Style) {
        let p = Presenter::new(&plan(), extra).expect("presenter");
        let mut terminal = Terminal::new(TestBackend::new(70, 1)).expect("terminal");
        terminal
            .draw(|f| {
                let style = Style::new().fg(Color::Red);
                f.render_widget(Paragraph::new(text).style(style), f.area());
                let area = f.area();
                p.mask(f.buffer_mut(), area);
            })
            .expect("draw");
        let buffer = terminal.backend().buffer();
        let row: String = (0..70).map(|x| buffer[(x, 0)].symbol()).collect();
        (row.trim_end().to_string(), buffer[(10, 0)].style())
    }

    #[test]
    fn addresses_are_masked_cell_by_cell_and_the_rest_stays() {
        let (row, style) = shown(
            "[web-1] dial 10.0.3.17 ok from web-1.prod.acme.internal",
            &[],
        );
        assert_eq!(
            row,
            format!("[web-1] dial {} ok from {}", "•".repeat(9), "•".repeat(24))
        );
        assert_eq!(style.fg, Some(Color::Red), "the cell keeps its style");
        let (row, _) = shown(
            "at 16:12:05 mail ops@acme.io and fe80::1:2:3:4 in vault-7",
            &["vault-\\d".into()],
        );
        let dots = |n| "•".repeat(n);
        assert_eq!(
            row,
            format!(
                "at 16:12:05 mail {} and {} in {}",
                dots(11),
                dots(13),
                dots(7)
            )
        );
    }

    #[test]
    fn a_wrong_mask_is_refused_with_its_text() {
        let err = check_masks(&["(".into()]).expect_err("refused").to_string();
        assert!(err.starts_with("--mask \"(\" is not a regex"), "{err}");
    }
}
