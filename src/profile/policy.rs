//! Release windows: `"Mon-Thu 09:00-16:00"`, `"Mon,Wed,Fri 10:00-12:30"`.

use serde::Serialize;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Days of the week (bit 0 = Monday) and a time range in minutes after midnight, local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub text: String,
    pub days: u8,
    pub start_minute: u16,
    pub end_minute: u16,
}

impl Window {
    /// Whether a moment (weekday 0 = Monday, minute after midnight) is inside the window.
    pub fn contains(&self, weekday: u8, minute: u16) -> bool {
        self.days & (1 << weekday) != 0 && (self.start_minute..self.end_minute).contains(&minute)
    }
}

/// Whether a release may start at a moment (weekday 0 = Monday, minute after midnight, local
/// time): inside one of the windows, or any time when there are none.
pub fn allows(windows: &[Window], weekday: u8, minute: u16) -> bool {
    windows.is_empty() || windows.iter().any(|w| w.contains(weekday, minute))
}

/// The name of a weekday, 0 = Monday, as windows write it.
pub fn day_name(weekday: u8) -> &'static str {
    DAYS[usize::from(weekday % 7)]
}

/// A window, or what is wrong with it and the byte offset in `text` where that is.
pub fn parse_window(text: &str) -> Result<Window, (usize, String)> {
    let trimmed = text.trim_start();
    let lead = text.len() - trimmed.len();
    let (days_text, times_text) = trimmed.split_once(' ').ok_or((
        lead,
        "expected days then times, e.g. \"Mon-Thu 09:00-16:00\"".to_string(),
    ))?;
    let times_at = lead + days_text.len() + 1 + (times_text.len() - times_text.trim_start().len());
    let days = parse_days(days_text).map_err(|(at, why)| (lead + at, why))?;
    let (start, end) = times_text.trim().split_once('-').ok_or((
        times_at,
        "expected a time range like 09:00-16:00".to_string(),
    ))?;
    let start_minute =
        parse_time(start).ok_or((times_at, format!("`{start}` is not a time HH:MM")))?;
    let end_at = times_at + start.len() + 1;
    let end_minute = parse_time(end).ok_or((end_at, format!("`{end}` is not a time HH:MM")))?;
    if end_minute <= start_minute {
        return Err((
            end_at,
            format!("the window ends ({end}) before it starts ({start})"),
        ));
    }
    Ok(Window {
        text: text.to_string(),
        days,
        start_minute,
        end_minute,
    })
}

fn parse_days(text: &str) -> Result<u8, (usize, String)> {
    let mut days = 0u8;
    let mut at = 0;
    for part in text.split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let a = day_index(first).ok_or((at, unknown_day(first)))?;
        let b = day_index(last).ok_or((at + first.len() + 1, unknown_day(last)))?;
        let mut d = a;
        loop {
            days |= 1 << d;
            if d == b {
                break;
            }
            d = (d + 1) % 7;
        }
        at += part.len() + 1;
    }
    Ok(days)
}

fn unknown_day(text: &str) -> String {
    format!("`{text}` is not a day: use {}", DAYS.join(", "))
}

fn day_index(text: &str) -> Option<u8> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(text))
        .and_then(|i| u8::try_from(i).ok())
}

fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    // 24:00 closes a window at midnight.
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

/// A release freeze: whole days, local time, from and to inclusive (`2026-12-20..2027-01-05`,
/// or one day `2026-12-24`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freeze {
    pub text: String,
    #[serde(skip)]
    pub from: chrono::NaiveDate,
    #[serde(skip)]
    pub to: chrono::NaiveDate,
}

impl Freeze {
    pub fn contains(&self, day: chrono::NaiveDate) -> bool {
        (self.from..=self.to).contains(&day)
    }
}

/// A freeze, or what is wrong with it and the byte offset in `text` where that is.
pub fn parse_freeze(text: &str) -> Result<Freeze, (usize, String)> {
    let date = |t: &str, at: usize| {
        chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
            .map_err(|_| (at, format!("`{}` is not a date YYYY-MM-DD", t.trim())))
    };
    let (from, to) = match text.split_once("..") {
        Some((a, b)) => (date(a, 0)?, date(b, a.len() + 2)?),
        None => {
            let d = date(text, 0)?;
            (d, d)
        }
    };
    if to < from {
        let at = text.find("..").map_or(0, |i| i + 2);
        return Err((at, "the freeze ends before it starts".into()));
    }
    Ok(Freeze {
        text: text.to_string(),
        from,
        to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weekday_window_covers_its_days_and_hours() {
        let w = parse_window("Mon-Thu 09:00-16:00").expect("valid window");
        assert!(w.contains(0, 9 * 60));
        assert!(w.contains(3, 15 * 60 + 59));
        assert!(!w.contains(3, 16 * 60));
        assert!(!w.contains(4, 10 * 60), "Friday is outside Mon-Thu");
    }

    #[test]
    fn day_ranges_wrap_over_the_weekend() {
        let w = parse_window("Fri-Mon 00:00-24:00").expect("valid window");
        assert!(w.contains(5, 0) && w.contains(6, 0) && w.contains(0, 0));
        assert!(!w.contains(1, 0));
    }

    #[test]
    fn a_release_may_start_inside_any_window_or_anytime_without_windows() {
        let windows = [
            parse_window("Mon-Thu 09:00-16:00").expect("valid window"),
            parse_window("Sat 22:00-24:00").expect("valid window"),
        ];
        assert!(allows(&windows, 1, 10 * 60));
        assert!(allows(&windows, 5, 23 * 60 + 59));
        assert!(!allows(&windows, 5, 3 * 60), "Saturday night before 22:00");
        assert!(!allows(&windows, 4, 10 * 60), "Friday");
        assert!(!allows(&windows, 0, 8 * 60 + 59), "Monday before nine");
        assert!(allows(&[], 6, 3 * 60), "no [policy] windows: any time");
        assert_eq!(day_name(5), "Sat");
    }

    #[test]
    fn freezes_cover_whole_days_from_and_to() {
        let f = parse_freeze("2026-12-20..2027-01-05").expect("valid freeze");
        let day = |t: &str| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").expect("date");
        assert!(f.contains(day("2026-12-20")) && f.contains(day("2027-01-05")));
        assert!(!f.contains(day("2026-12-19")) && !f.contains(day("2027-01-06")));
        assert!(
            parse_freeze("2026-12-24")
                .expect("one day")
                .contains(day("2026-12-24"))
        );
        assert_eq!(parse_freeze("2026-12-20..2026-12-01").unwrap_err().0, 12);
        assert_eq!(parse_freeze("2026-12-20..soon").unwrap_err().0, 12);
    }

    #[test]
    fn mistakes_point_at_their_place() {
        assert_eq!(parse_window("Mon-Thurs 09:00-16:00").unwrap_err().0, 4);
        assert_eq!(parse_window("Mon 09:00-8:00").unwrap_err().0, 10);
        assert_eq!(parse_window("Mon 16:00-09:00").unwrap_err().0, 10);
        assert!(parse_window("Mon").is_err());
    }
}
