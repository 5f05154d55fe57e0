//! How headless tells the hosts' logs: every line as `[target:follower] line` with its time,
//! and what happened to a follower (dropped lines, a gap) on a line of its own.

use super::Headless;
use crate::engine::EventKind;
use crate::text::printable;

impl Headless {
    /// Shows a log follower's event; other events are not its business.
    pub(super) fn show_logs(&mut self, kind: &EventKind) {
        match kind {
            EventKind::LogLines {
                target,
                follower,
                lines,
            } => {
                // Cleaned where they were read; an event from elsewhere (a journal) is made
                // printable here all the same.
                let lead = format!("[{}:{}] ", printable(target), printable(follower));
                self.log_lines_coming(lines.len());
                self.lines_after(&lead, lines);
            }
            EventKind::LogsDropped {
                target,
                follower,
                count,
            } => self.line(format!(
                "logs {}:{}: {count} lines dropped (they came faster than gonogo could take them; the release was not slowed)",
                printable(target),
                printable(follower)
            )),
            EventKind::FollowerDown {
                target,
                follower,
                error,
            } => self.line(format!(
                "logs {}:{} down: {}; following again once it can",
                printable(target),
                printable(follower),
                printable(error)
            )),
            EventKind::FollowerUp {
                target,
                follower,
                gap_ms,
            } => {
                let again = gap_ms.map_or(String::new(), |gap| {
                    format!(
                        " again after a gap of {}",
                        humantime::format_duration(std::time::Duration::from_secs(
                            gap.div_ceil(1000)
                        ))
                    )
                });
                self.line(format!(
                    "logs {}:{}: following{again}",
                    printable(target),
                    printable(follower)
                ));
            }
            _ => {}
        }
    }
}
