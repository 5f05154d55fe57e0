//! A row made of parts, each shown whole or not at all (the status bar, the key line): when the
//! row is too narrow the least important parts go first and the rest keep their order, so a
//! word is never cut at the terminal's edge.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// One part of a row: its text as shown (with its own leading gap), its look, and how much it
/// matters: rank 0 most, the highest rank is dropped first.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub text: String,
    pub style: Style,
    pub rank: u8,
}

impl Part {
    pub fn new(text: impl Into<String>, style: Style, rank: u8) -> Part {
        Part {
            text: text.into(),
            style,
            rank,
        }
    }

    fn width(&self) -> usize {
        Span::raw(self.text.as_str()).width()
    }
}

/// The parts that fit in `width` columns with `gap` spaces between two, in their order: the
/// highest rank dropped first (the later one among equals). A part that cannot fit even alone
/// is shortened between two words, with `…`, only if it is the last one left: a banner that
/// must be read is never dropped.
pub fn fit(parts: Vec<Part>, width: usize, gap: usize) -> Vec<Part> {
    let keep = kept(&parts, width, gap);
    let mut kept: Vec<Part> = parts
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, p)| p)
        .collect();
    if let Some(only) = kept.first_mut().filter(|p| used(&[&**p], 0) > width) {
        only.text = shortened(&only.text, width);
    }
    kept.retain(|p| !p.text.trim().is_empty());
    kept
}

/// Which of the parts [`fit`] keeps, by index, in order.
pub fn kept(parts: &[Part], width: usize, gap: usize) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..parts.len()).collect();
    let chosen = |keep: &[usize]| keep.iter().map(|&i| &parts[i]).collect::<Vec<_>>();
    while keep.len() > 1 && used(&chosen(&keep), gap) > width {
        let least = (0..keep.len())
            .max_by_key(|&k| (parts[keep[k]].rank, k))
            .expect("more than one part");
        keep.remove(least);
    }
    keep
}

/// The columns the parts take with `gap` between two; the last one's trailing spaces run off
/// the edge unseen.
fn used(parts: &[&Part], gap: usize) -> usize {
    let trailing = parts.last().map_or(0, |p| {
        p.text.chars().rev().take_while(|c| *c == ' ').count()
    });
    let gaps = gap * parts.len().saturating_sub(1);
    parts.iter().map(|p| p.width()).sum::<usize>() + gaps - trailing
}

/// The row the parts that fit make, `gap` spaces between two.
pub fn line(parts: Vec<Part>, width: usize, gap: usize) -> Line<'static> {
    let mut spans = Vec::new();
    for part in fit(parts, width, gap) {
        if !spans.is_empty() && gap > 0 {
            spans.push(Span::raw(" ".repeat(gap)));
        }
        spans.push(Span::styled(part.text, part.style));
    }
    Line::from(spans)
}

/// `text` cut after its last whole word that leaves room for `…` in `width` columns.
fn shortened(text: &str, width: usize) -> String {
    let mut out = String::new();
    for word in text.split_inclusive(' ') {
        let next = format!("{out}{word}");
        if Span::raw(next.trim_end()).width() + 1 > width {
            break;
        }
        out = next;
    }
    let out = out.trim_end();
    if out.trim().is_empty() {
        String::new()
    } else {
        format!("{out}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(spec: &[(&str, u8)]) -> Vec<Part> {
        spec.iter()
            .map(|(t, r)| Part::new(*t, Style::new(), *r))
            .collect()
    }

    fn texts(parts: &[Part]) -> Vec<&str> {
        parts.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn the_least_important_parts_go_first_and_the_rest_keep_their_order() {
        let all = parts(&[("aaaa", 2), (" bbbb", 0), (" cccc", 3), (" dddd", 1)]);
        assert_eq!(
            texts(&fit(all.clone(), 19, 0)),
            ["aaaa", " bbbb", " cccc", " dddd"]
        );
        assert_eq!(texts(&fit(all.clone(), 18, 0)), ["aaaa", " bbbb", " dddd"]);
        assert_eq!(texts(&fit(all.clone(), 10, 0)), [" bbbb", " dddd"]);
        assert_eq!(texts(&fit(all.clone(), 5, 0)), [" bbbb"]);
        assert_eq!(texts(&fit(all, 18, 2)), ["aaaa", " bbbb", " dddd"]);
    }

    #[test]
    fn a_banner_too_long_for_the_row_is_cut_between_words() {
        let banner = parts(&[(" journal not written: disk full ", 0), ("? help", 1)]);
        assert_eq!(texts(&fit(banner, 24, 2)), [" journal not written:…"]);
    }
}
