//! How headless tells the hosts' logs: every line as `[target:tail] line` with its time
//! (what happened to a tail, dropped lines or a gap, is the narrator's).

use super::Headless;
use crate::engine::EventKind;
use crate::text::printable;

impl Headless {
    /// Shows a log tail's lines; other events are not its business.
    pub(super) fn show_logs(&mut self, kind: &EventKind) {
        if let EventKind::LogLines {
            target,
            tail,
            lines,
        } = kind
        {
            // Cleaned where they were read; an event from elsewhere (a journal) is made
            // printable here all the same.
            let lead = format!("[{}:{}] ", printable(target), printable(tail));
            self.log_lines_coming(lines.len());
            self.lines_after(&lead, lines);
        }
    }
}
