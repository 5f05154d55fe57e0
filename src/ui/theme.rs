//! Colours and symbols. Every state has a symbol, so nothing is told by colour alone, and
//! `NO_COLOR` turns colour off.

use ratatui::style::{Color, Modifier, Style};

use crate::engine::StepStatus;
use crate::engine::release::RunStatus;

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

    /// A stable colour per target, so its lines are recognisable at a glance.
    pub fn target(&self, name: &str) -> Style {
        const PALETTE: [Color; 6] = [
            Color::Cyan,
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::LightRed,
        ];
        let hash = name
            .bytes()
            .fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
        self.fg(PALETTE[hash as usize % PALETTE.len()])
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
