//! What `gonogo run` checks and says before anything connects: the release windows of
//! `[policy]`, and the parts of the profile it does not act on yet.

use chrono::{Datelike as _, NaiveDateTime, Timelike as _};

use crate::profile::Profile;
use crate::profile::policy;
use crate::text::printable;

/// A release started outside every window of its `[policy]`, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedWindow {
    /// The rule, after the release's name: `is released only in its release windows (Mon-Thu
    /// 09:00-16:00)`, or `is in a release freeze (2026-12-20..2027-01-05)`.
    pub rule: String,
    /// The moment checked, local time: `Sat 2026-11-21 03:00`.
    pub now: String,
}

impl ClosedWindow {
    /// What happened and the way out, for a run that cannot ask (headless, no terminal).
    pub fn refusal(&self, release: &str) -> String {
        format!(
            "gonogo: refused: {} {}, and it is {} here (local time); nothing ran.\n  Wait, or run again with --override-window \"REASON\" to release now: the reason is recorded.",
            printable(release),
            self.rule,
            self.now
        )
    }

    /// The question the cockpit asks on the terminal before it takes the screen.
    pub fn question(&self, release: &str) -> String {
        format!(
            "gonogo: {} {}, and it is {} here (local time).\nTo release now anyway, give the reason (it is recorded; empty refuses): ",
            printable(release),
            self.rule,
            self.now
        )
    }
}

/// `Some` when `now` (local time) is in a freeze of the profile's `[policy]`, or outside every
/// one of its windows.
pub fn closed_window(profile: &Profile, now: NaiveDateTime) -> Option<ClosedWindow> {
    let policy = profile.policy.as_ref()?;
    let weekday = u8::try_from(now.weekday().num_days_from_monday()).unwrap_or(0);
    let minute = u16::try_from(now.hour() * 60 + now.minute()).unwrap_or(0);
    let rule = if let Some(freeze) = policy.freezes.iter().find(|f| f.contains(now.date())) {
        format!("is in a release freeze ({})", printable(&freeze.text))
    } else if policy::allows(&policy.windows, weekday, minute) {
        return None;
    } else {
        let texts: Vec<_> = policy.windows.iter().map(|w| printable(&w.text)).collect();
        format!(
            "is released only in its release windows ({})",
            texts.join(", ")
        )
    };
    Some(ClosedWindow {
        rule,
        now: format!(
            "{} {}",
            policy::day_name(weekday),
            now.format("%Y-%m-%d %H:%M")
        ),
    })
}

/// One line per part of the profile that `run` does not act on yet, so nobody counts on it.
/// Every part is acted on today (`[notify]` was the last); a new part gets its line here until
/// it is built.
pub fn not_acted_on(_profile: &Profile) -> Vec<String> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{self, Source};

    fn profile(text: &str) -> Profile {
        let (p, diags) = profile::load(&Source::new("t.toml", text.to_string()));
        p.unwrap_or_else(|| panic!("{diags:?}"))
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").expect("a time")
    }

    const WINDOWS: &str = "version = 1\n[release]\nname = \"shop\"\nenvironment = \"production\"\n[policy]\nwindows = [\"Mon-Thu 09:00-16:00\", \"Fri 09:00-12:00\"]\n";

    #[test]
    fn a_release_outside_every_window_is_named_with_the_windows_and_the_time() {
        let p = profile(WINDOWS);
        // 2026-11-20 is a Friday, 2026-11-21 a Saturday.
        assert_eq!(closed_window(&p, at("2026-11-20T11:59")), None);
        assert_eq!(
            closed_window(&p, at("2026-11-20T12:00")),
            Some(ClosedWindow {
                rule:
                    "is released only in its release windows (Mon-Thu 09:00-16:00, Fri 09:00-12:00)"
                        .into(),
                now: "Fri 2026-11-20 12:00".into(),
            })
        );
        assert!(closed_window(&p, at("2026-11-21T10:00")).is_some());
        let no_policy = WINDOWS.split("[policy]").next().expect("head");
        assert_eq!(
            closed_window(&profile(no_policy), at("2026-11-21T03:00")),
            None
        );
    }

    #[test]
    fn a_freeze_closes_even_the_windows() {
        let p = profile(&format!(
            "{WINDOWS}freezes = [\"2026-12-20..2027-01-05\"]\n"
        ));
        // 2026-12-21 is a Monday, 10:00 is inside a window.
        assert_eq!(
            closed_window(&p, at("2026-12-21T10:00")).map(|c| c.rule),
            Some("is in a release freeze (2026-12-20..2027-01-05)".into())
        );
        assert_eq!(closed_window(&p, at("2027-01-11T10:00")), None);
    }

    #[test]
    fn every_part_not_acted_on_gets_a_line() {
        let p = profile(
            "version = 1\n[release]\nname = \"shop\"\nenvironment = \"staging\"\n[targets.web]\nhost = \"h\"\n[logs.gunicorn]\non = \"web\"\ncommand = \"journalctl -f\"\n[health.app]\nurl = \"http://127.0.0.1/health\"\n[metrics.app]\nurl = \"http://127.0.0.1/metrics\"\n[watch]\nduration = \"10m\"\nrollback_on = [\"health failing for 30s\", \"log_errors > 20/min\"]\nauto_rollback = true\n[notify]\nwebhook = \"https://hooks.example.com/x\"\nevery = \"15m\"\n",
        );
        // Log tails, health, metrics, every rule, auto_rollback and notify are acted on.
        assert!(not_acted_on(&p).is_empty());
        assert!(not_acted_on(&profile(WINDOWS)).is_empty());
    }
}
