//! What the cockpit remembers that the release does not: focus, cursor, scroll, filters, the
//! half-given answer to the open question, and the one modal that takes the keys.

use std::borrow::Cow;
use std::collections::HashSet;

use ratatui_textarea::TextArea;
use regex::Regex;

use super::keymap::{Choice, Mode};
pub use super::on_screen::OnScreen;
use super::pane::Position;
use crate::engine::{Question, Release, StepList};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Checklist,
    Output,
    /// The links, the health checks, the metrics and the watch rules.
    Health,
}

impl Pane {
    /// The pane Tab moves to.
    pub fn next(self) -> Pane {
        match self {
            Pane::Checklist => Pane::Output,
            Pane::Output => Pane::Health,
            Pane::Health => Pane::Checklist,
        }
    }

    /// As the journal names it.
    pub fn name(self) -> &'static str {
        match self {
            Pane::Checklist => "checklist",
            Pane::Output => "output",
            Pane::Health => "health",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Steps,
    Logs,
    /// The release so far: decisions, retries, skips, where each host stands (the end screen).
    Summary,
}

/// A yes / no asked by the cockpit itself before it sends a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    RollbackNow,
    /// Leaving (q, Ctrl-C) once something ran: abort, or roll back instead.
    Abort,
}

/// What is open over the panes and takes the keys: one thing at a time, by construction.
/// The open question is not here: it is the release's (`UiState::answer`), shown or hidden,
/// and help or a confirmation may open over it.
/// Who sits at a cockpit, as its question modal sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// The operator: every answer the question takes.
    Operator,
    /// A follower started with `--approver`: GO at a gate of two approvals or more, nothing
    /// else.
    Approver,
    /// A follower, or a replay: the question is shown, never answered here.
    ReadOnly,
}

#[derive(Debug, Clone, Default)]
pub enum Modal {
    #[default]
    None,
    Confirm(Confirm),
    /// `E`: end the watch window and call the release released, once a reason is typed.
    EndWatch(Reason),
    /// `over`: the confirmation that help was opened from, open again when help closes.
    Help {
        scroll: u16,
        over: Option<Confirm>,
    },
    /// `/`: the regex being typed.
    Filter(FilterBox),
    /// `t` with many targets, or `s` with no target chosen: the list to choose from.
    Picker(super::picker::Picker),
}

/// Why the watch ends early, as typed, and why Enter did not take it yet.
#[derive(Debug, Clone, Default)]
pub struct Reason {
    pub note: TextArea<'static>,
    pub refusal: Option<&'static str>,
}

/// The filter being typed, and why Enter did not apply it.
#[derive(Debug, Clone, Default)]
pub struct FilterBox {
    pub input: TextArea<'static>,
    pub error: Option<String>,
}

impl Modal {
    /// Help, opened from `over` (a yes / no it goes back to), at its top.
    pub fn help(over: &Modal) -> Modal {
        let over = match over {
            Modal::Confirm(c) | Modal::Help { over: Some(c), .. } => Some(*c),
            _ => None,
        };
        Modal::Help { scroll: 0, over }
    }

    /// The yes / no on screen, whether it has the keys or waits under help.
    pub fn confirm(&self) -> Option<Confirm> {
        match self {
            Modal::Confirm(c) | Modal::Help { over: Some(c), .. } => Some(*c),
            _ => None,
        }
    }
}

/// The answer being given to the open question.
pub struct OpenAnswer {
    pub question: Question,
    pub armed: Option<Choice>,
    /// Production gates: `go` typed out before Enter confirms.
    pub typed: String,
    pub note: TextArea<'static>,
    pub editing: bool,
    pub hidden: bool,
    pub refusal: Option<Cow<'static, str>>,
    /// The first gate's What ships list: its rows scrolled past (↑↓ PgUp PgDn).
    pub scroll: usize,
}

impl OpenAnswer {
    fn new(question: Question) -> Self {
        OpenAnswer {
            question,
            armed: None,
            typed: String::new(),
            note: TextArea::default(),
            editing: false,
            hidden: false,
            refusal: None,
            scroll: 0,
        }
    }

    /// The note or skip reason as typed (one line each, joined).
    pub fn text(&self) -> String {
        self.note.lines().join(" ").trim().to_string()
    }
}

pub struct UiState {
    pub focus: Pane,
    /// Index into the checklist rows: main steps then rollback steps.
    pub cursor: usize,
    pub track_current: bool,
    pub expanded: HashSet<(StepList, usize)>,
    pub source: Source,
    pub follow: bool,
    /// Lines above the bottom when not following.
    pub scroll: usize,
    /// Output lines seen so far (kept + dropped) when follow was paused.
    pub paused_at: u64,
    pub filter: Option<Regex>,
    pub target: Option<String>,
    pub wrap: bool,
    /// The health pane's rows scrolled past at its top (its rules come first).
    pub health_down: usize,
    /// `z`: the focused pane has the whole screen between the status bar and the key line.
    pub zoomed: bool,
    /// The modal that takes the keys, if any: the keymap's mode derives from it.
    pub modal: Modal,
    /// The answer being given to the release's open question (its modal shown or hidden).
    pub answer: Option<OpenAnswer>,
    /// Parts of the profile this run does not act on yet, shown until output comes.
    pub notes: Vec<String>,
    /// A passing word for the operator (a key that could not do what it says).
    pub notice: Option<String>,
    /// This run's log file, named in the summary.
    pub log: Option<std::path::PathBuf>,
    /// This session's journal, named in the summary with the command that replays it.
    pub journal: Option<std::path::PathBuf>,
    /// The end screen opened on the summary once; after that the operator chooses.
    pub ended_shown: bool,
    /// `gonogo follow`: the operator followed, read-only.
    pub following: Option<String>,
    /// `gonogo replay`: a recording, read-only; the player has the keys.
    pub replaying: bool,
    /// Who sits at this cockpit: what its question modal offers.
    pub seat: Seat,
    /// `--present`: addresses masked, the current step emphasised, a calm redraw.
    pub present: Option<super::present::Presenter>,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            focus: Pane::Checklist,
            cursor: 0,
            track_current: true,
            expanded: HashSet::new(),
            source: Source::Steps,
            follow: true,
            scroll: 0,
            paused_at: 0,
            filter: None,
            target: None,
            wrap: false,
            health_down: 0,
            zoomed: false,
            modal: Modal::None,
            answer: None,
            notes: Vec::new(),
            log: None,
            journal: None,
            notice: None,
            ended_shown: false,
            following: None,
            replaying: false,
            seat: Seat::Operator,
            present: None,
        }
    }
}

impl UiState {
    /// The keymap's mode, from the modal on top. The filter and the picker are text boxes:
    /// their keys are read before the keymap, which says what is under them.
    pub fn mode(&self) -> Mode {
        match self.modal {
            Modal::Help { .. } => Mode::Help,
            _ if self.replaying => Mode::Replay,
            Modal::Confirm(_) | Modal::EndWatch(_) => Mode::Confirm,
            _ if self.question_shown() => Mode::Answer,
            _ => Mode::Normal,
        }
    }

    /// The open question's modal is on screen (perhaps under help or a confirmation).
    pub fn question_shown(&self) -> bool {
        self.answer.as_ref().is_some_and(|a| !a.hidden)
    }

    /// A text box has the keys: letters are typed, not commands.
    pub fn typing(&self) -> bool {
        matches!(self.modal, Modal::Filter(_) | Modal::Picker(_))
    }

    /// Keeps the modal in step with the release's open question (when it opened is the
    /// release's: `Release::question_opened_at`).
    pub fn sync_question(&mut self, release: &Release) {
        match (&release.question, &self.answer) {
            (None, _) => self.answer = None,
            (Some(q), Some(a)) if *q == a.question => {}
            (Some(q), _) => self.answer = Some(OpenAnswer::new(q.clone())),
        }
    }

    /// Keeps the cursor on the current step while tracking.
    pub fn sync_cursor(&mut self, release: &Release) {
        if self.track_current
            && let Some((list, step)) = release.current()
        {
            self.cursor = row_of(release, list, step);
        }
    }

    /// Total output lines seen (kept and dropped): stable numbers for "N new lines".
    pub fn lines_seen(release: &Release) -> u64 {
        release.output_dropped + release.output.len() as u64
    }

    /// Lines seen so far (kept and dropped) of the source on screen: the steps' output or the
    /// logs.
    pub fn seen(&self, release: &Release) -> u64 {
        match self.source {
            Source::Logs => release.logs.seen(),
            _ => Self::lines_seen(release),
        }
    }

    /// Lines kept of the source on screen.
    pub fn kept(&self, release: &Release) -> usize {
        match self.source {
            Source::Logs => release.logs.lines.len(),
            _ => release.output.len(),
        }
    }

    pub fn pause_follow(&mut self, release: &Release) {
        if self.follow {
            self.follow = false;
            self.paused_at = self.seen(release);
        }
    }

    /// Where the output or the logs stand: following the end, or scrolled back.
    pub fn position(&self) -> Position {
        Position::Back(if self.follow { 0 } else { self.scroll })
    }

    pub fn resume_follow(&mut self) {
        self.follow = true;
        self.scroll = 0;
    }

    pub fn rows(release: &Release) -> usize {
        release.plan.steps.len() + release.rollback_plan.len()
    }

    /// The step under the cursor.
    pub fn cursor_step(&self, release: &Release) -> Option<(StepList, usize)> {
        let main = release.plan.steps.len();
        if self.cursor < main {
            Some((StepList::Main, self.cursor))
        } else if self.cursor < Self::rows(release) {
            Some((StepList::Rollback, self.cursor - main))
        } else {
            None
        }
    }
}

pub fn row_of(release: &Release, list: StepList, step: usize) -> usize {
    match list {
        StepList::Main => step,
        StepList::Rollback => release.plan.steps.len() + step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RecordedView;

    fn asked() -> UiState {
        UiState {
            answer: Some(OpenAnswer::new(Question::FinalGate)),
            ..UiState::default()
        }
    }

    /// The keymap's mode and the journaled modal both come from the one enum; the question is
    /// under whatever opens over it, and back when it closes.
    #[test]
    fn the_mode_comes_from_the_modal_and_the_question_under_it() {
        let mut ui = asked();
        assert_eq!(
            (ui.mode(), ui.on_screen().modal.as_deref()),
            (Mode::Answer, Some("question"))
        );
        ui.modal = Modal::Confirm(Confirm::RollbackNow);
        ui.modal = Modal::help(&ui.modal);
        assert_eq!(
            (ui.mode(), ui.on_screen().modal.as_deref()),
            (Mode::Help, Some("help"))
        );
        assert_eq!(
            ui.modal.confirm(),
            Some(Confirm::RollbackNow),
            "waits under help"
        );
        ui.modal = Modal::Filter(FilterBox::default());
        assert!(ui.typing());
        assert_eq!(
            ui.on_screen().modal.as_deref(),
            Some("question"),
            "drawn over the box"
        );
        ui.answer.as_mut().expect("asked").hidden = true;
        assert_eq!(
            (ui.mode(), ui.on_screen().modal.as_deref()),
            (Mode::Normal, Some("filter"))
        );
    }

    /// A replay's help opens over the operator's own confirmation and closes back to it.
    #[test]
    fn recorded_help_opens_and_closes_over_a_confirmation() {
        let mut ui = UiState {
            modal: Modal::Confirm(Confirm::Abort),
            ..UiState::default()
        };
        let help = RecordedView {
            modal: Some("help".into()),
            ..RecordedView::default()
        };
        ui.show_recorded(&help);
        assert!(matches!(
            ui.modal,
            Modal::Help {
                over: Some(Confirm::Abort),
                ..
            }
        ));
        ui.show_recorded(&RecordedView::default());
        assert!(matches!(ui.modal, Modal::Confirm(Confirm::Abort)));
    }
}
