//! Colours and symbols. Every state has a symbol, so nothing is told by colour alone, and
//! `NO_COLOR` turns colour off.

use ratatui::style::{Color, Modifier, Style};

use crate::engine::release::RunStatus;
use crate::engine::{Release, StepStatus};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Self {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    /// The cursor line: reversed, which reads without colour too.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn step(&self, status: StepStatus) -> (&'static str, Style) {
        match status {
            StepStatus::Pending => ("·", self.dim()),
            StepStatus::Running => ("▶", self.fg(Color::Yellow).add_modifier(Modifier::BOLD)),
            StepStatus::Waiting => ("?", self.fg(Color::Magenta).add_modifier(Modifier::BOLD)),
            StepStatus::Passed => ("✓", self.fg(Color::Green)),
            StepStatus::Failed => ("✗", self.fg(Color::Red).add_modifier(Modifier::BOLD)),
            StepStatus::Skipped => ("↷", self.fg(Color::DarkGray)),
            StepStatus::RolledBack => ("↺", self.fg(Color::Cyan)),
            StepStatus::Cancelled => ("⊘", self.fg(Color::DarkGray)),
        }
    }

    pub fn run(&self, status: RunStatus) -> (&'static str, Style) {
        match status {
            RunStatus::Pending => ("·", self.dim()),
            RunStatus::Running => ("▶", self.fg(Color::Yellow)),
            RunStatus::RetryWaiting => ("↻", self.fg(Color::Yellow)),
            RunStatus::Passed => ("✓", self.fg(Color::Green)),
            RunStatus::Failed => ("✗", self.fg(Color::Red)),
            RunStatus::Cancelled => ("⊘", self.fg(Color::DarkGray)),
            RunStatus::Stopping => ("◼", self.fg(Color::Yellow)),
            RunStatus::Unknown => ("◌", self.fg(Color::Magenta)),
        }
    }

    /// A colour per target, distinct for the first twelve in profile order (then they repeat),
    /// so a host's lines are recognisable at a glance.
    pub fn target(&self, release: &Release, name: &str) -> Style {
        const PALETTE: [Color; 12] = [
            Color::Cyan,
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::LightRed,
            Color::Indexed(208),
            Color::Indexed(141),
            Color::Indexed(37),
            Color::Indexed(178),
            Color::Indexed(70),
            Color::Indexed(169),
        ];
        let index = release
            .plan
            .targets
            .iter()
            .position(|t| t.name == name)
            .unwrap_or(0);
        self.fg(PALETTE[index % PALETTE.len()])
    }

    pub fn error_line(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Red)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn environment(&self, production: bool) -> Style {
        if production {
            let s = Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED);
            if self.color { s.fg(Color::Red) } else { s }
        } else {
            self.fg(Color::Green).add_modifier(Modifier::BOLD)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::{PlannedTarget, Transport};

    #[test]
    fn the_first_twelve_targets_each_have_their_own_colour() {
        let mut release = Release::default();
        release.plan.targets = (1..=13)
            .map(|i| PlannedTarget {
                name: format!("web-{i}"),
                address: String::new(),
                roles: Vec::new(),
                transport: Transport::Ssh,
                vars: Default::default(),
            })
            .collect();
        let theme = Theme { color: true };
        let colours: Vec<Style> = (1..=12)
            .map(|i| theme.target(&release, &format!("web-{i}")))
            .collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let no_colour = Theme { color: false };
        assert_eq!(no_colour.target(&release, "web-1"), Style::new());
    }
}
