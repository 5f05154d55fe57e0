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
    /// A sentence for a person (a notice, who watches): when it would go, it is shortened
    /// between two words instead, while at least [`MIN_SHORTENED`] columns are left for it.
    pub shortens: bool,
}

/// The fewest columns a shortened part is given; with less room it goes whole.
pub const MIN_SHORTENED: usize = 16;

impl Part {
    pub fn new(text: impl Into<String>, style: Style, rank: u8) -> Part {
        Part {
            text: text.into(),
            style,
            rank,
            shortens: false,
        }
    }

    /// A part shortened between two words rather than dropped, while it has room.
    pub fn shortening(mut self) -> Part {
        self.shortens = true;
        self
    }

    fn width(&self) -> usize {
        Span::raw(self.text.as_str()).width()
    }
}

/// The parts that fit in `width` columns with `gap` spaces between two, in their order: the
/// highest rank dropped first (the later one among equals). A part that [`Part::shortens`],
/// and the last one left (a banner that must be read), is shortened between two words with
/// `…` instead; no word is cut.
pub fn fit(parts: Vec<Part>, width: usize, gap: usize) -> Vec<Part> {
    let (keep, shorter) = choose(&parts, width, gap);
    parts
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(i, mut p)| {
            if let Some((_, text)) = shorter.as_ref().filter(|(at, _)| *at == i) {
                p.text = text.clone();
            }
            p
        })
        .filter(|p| !p.text.trim().is_empty())
        .collect()
}

/// Which of the parts [`fit`] keeps, by index, in order (a shortened one is kept).
pub fn kept(parts: &[Part], width: usize, gap: usize) -> Vec<usize> {
    choose(parts, width, gap).0
}

/// The parts kept, by index, and the one shortened with its shorter text, if any.
fn choose(parts: &[Part], width: usize, gap: usize) -> (Vec<usize>, Option<(usize, String)>) {
    let mut keep: Vec<usize> = (0..parts.len()).collect();
    let chosen = |keep: &[usize]| keep.iter().map(|&i| &parts[i]).collect::<Vec<_>>();
    loop {
        let over = used(&chosen(&keep), gap).saturating_sub(width);
        if over == 0 || keep.is_empty() {
            return (keep, None);
        }
        let least = (0..keep.len())
            .max_by_key(|&k| (parts[keep[k]].rank, k))
            .expect("a part");
        let part = &parts[keep[least]];
        // The last part's trailing spaces were not counted: neither is its room for them.
        let shown = if least + 1 == keep.len() {
            Span::raw(part.text.trim_end()).width()
        } else {
            part.width()
        };
        let room = shown.saturating_sub(over);
        if (part.shortens && room >= MIN_SHORTENED) || keep.len() == 1 {
            return (
                keep.clone(),
                Some((keep[least], shortened(&part.text, room))),
            );
        }
        keep.remove(least);
    }
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

    #[test]
    fn a_sentence_for_a_person_is_shortened_between_words_before_it_goes() {
        let notice = Part::new(
            " following ana's session: shop to staging ",
            Style::new(),
            1,
        );
        let all = vec![
            Part::new(" QUESTION open ", Style::new(), 0),
            notice.clone().shortening(),
            Part::new("? help", Style::new(), 0),
            Part::new("l logs", Style::new(), 3),
        ];
        assert_eq!(
            texts(&fit(all.clone(), 60, 2)),
            [
                " QUESTION open ",
                " following ana's session: shop to…",
                "? help"
            ]
        );
        // Without room for a useful part of it, it goes whole.
        assert_eq!(texts(&fit(all, 35, 2)), [" QUESTION open ", "? help"]);
    }
}
