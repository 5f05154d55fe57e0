//! The watch window's evidence on a headless run: a health check's line when it changes
//! (failing, passing again), not every sample; the proposal is printed as its question.

use super::Headless;
use crate::engine::Release;
use crate::engine::watch::HealthReading;
use crate::text::printable;

impl Headless {
    /// A line when a health check starts failing or passes again (and its first answer).
    pub(super) fn health_change(
        &mut self,
        release: &Release,
        check: &str,
        via: Option<&str>,
        reading: &HealthReading,
    ) {
        let Some(series) = release
            .watch
            .health
            .iter()
            .find(|s| s.check == check && s.via.as_deref() == via)
        else {
            return;
        };
        let before = series
            .history
            .len()
            .checked_sub(2)
            .and_then(|i| series.history.get(i))
            .map(|(_, ok, _)| *ok);
        if before == Some(reading.ok) {
            return;
        }
        let place = via.map_or(String::new(), |v| format!(" via {}", printable(v)));
        let line = if reading.ok {
            format!(
                "ok   health {}{place}: {} in {}ms",
                printable(check),
                reading.status.map_or("answered".into(), |s| s.to_string()),
                reading.latency_ms
            )
        } else {
            format!(
                "!!   health {}{place} failing: {}",
                printable(check),
                printable(reading.error.as_deref().unwrap_or("failing"))
            )
        };
        self.line(line);
    }
}
