//! What the operator types on stdin: answers checked against the open question, and the reader
//! that brings lines into the run loop.

use crate::engine::{Answer, Answerer, Decision, Question, Refusal, Release, Stage};
use crate::runtime::Input;
use crate::text::printable;

/// Why a line typed on stdin is not a decision; its words are the reply the person reads.
#[derive(Debug, thiserror::Error)]
pub(super) enum NotAnAnswer {
    /// Nothing is asked, and it is not abort or rollback.
    #[error(
        "`{0}` is not an answer now: nothing is asked (abort and rollback are always possible)"
    )]
    NothingAsked(String),
    /// Not one of the answers the open question takes.
    #[error("`{typed}` is not an answer here: answer {choices}")]
    NotOffered { typed: String, choices: String },
    /// An answer that is recorded with its reason, given none.
    #[error("{0} needs a reason: {0} REASON (it is recorded)")]
    NoReason(&'static str),
    /// The engine counts one go per person: said rather than let pass unnoticed.
    #[error("   go from {who} not counted: {why}")]
    NotCounted { who: String, why: String },
    /// The engine does not take it now (`Release::may_answer`).
    #[error("{0}")]
    Refused(String),
}

/// An answer `who` typed on stdin, read against the open question, then asked of the engine
/// (`Release::may_answer`): the decision, or why it is not one.
pub(super) fn parse_answer(
    answer: &str,
    release: &Release,
    who: &str,
) -> Result<Decision, NotAnAnswer> {
    let decision = read_answer(answer, release)?;
    match release.may_answer(&decision, &Answerer::operator(who)) {
        Ok(()) => Ok(decision),
        Err(refusal @ Refusal::AlreadyApproved { .. }) => Err(NotAnAnswer::NotCounted {
            who: printable(who).into_owned(),
            why: printable(&refusal.to_string()).into_owned(),
        }),
        Err(refusal) => Err(NotAnAnswer::Refused(
            printable(&refusal.to_string()).into_owned(),
        )),
    }
}

/// The decision an answer typed on stdin names, read against the open question.
fn read_answer(answer: &str, release: &Release) -> Result<Decision, NotAnAnswer> {
    let (word, rest) = answer
        .split_once(char::is_whitespace)
        .unwrap_or((answer, ""));
    let reason = rest.trim().to_string();
    let word = word.to_ascii_lowercase();
    // Abort at any time; rollback once under way; the watch ends with `done`.
    match word.as_str() {
        "abort" => return Ok(Decision::Abort),
        "done" | "end"
            if release.question.is_none() && matches!(release.stage, Stage::Watching { .. }) =>
        {
            return Ok(Decision::EndWatch);
        }
        "extend" if matches!(release.stage, Stage::Watching { .. }) => {
            return Ok(Decision::ExtendWatch);
        }
        "skip-baseline" if release.baseline_wait.is_some() => {
            let reason = rest.trim();
            if reason.is_empty() {
                return Err(NotAnAnswer::NoReason("skip-baseline"));
            }
            return Ok(Decision::SkipBaseline {
                reason: reason.to_string(),
            });
        }
        "rollback"
            if release.can_roll_back()
                && !matches!(release.question, Some(Question::ConfirmRollback { .. })) =>
        {
            return Ok(Decision::Rollback);
        }
        _ => {}
    }
    let offered = release.answers();
    let chosen = offered.iter().copied().find(|a| {
        let name = a.word().split(' ').next().unwrap_or_default();
        name == word
            || (word == "nogo" && *a == Answer::NoGo)
            || (word == "rollback" && *a == Answer::RollbackAnyway)
    });
    let Some(chosen) = chosen else {
        let typed = printable(answer).into_owned();
        return Err(if offered.is_empty() {
            NotAnAnswer::NothingAsked(typed)
        } else {
            NotAnAnswer::NotOffered {
                typed,
                choices: release.choices().join(" / "),
            }
        });
    };
    if chosen == Answer::Skip && reason.is_empty() {
        return Err(NotAnAnswer::NoReason("skip"));
    }
    if chosen == Answer::Keep && reason.is_empty() {
        return Err(NotAnAnswer::NoReason("keep"));
    }
    let decision = chosen.decision(reason, release);
    Ok(decision)
}

/// Reads stdin line by line into the run loop's input channel.
pub fn read_stdin(inputs: tokio::sync::mpsc::Sender<Input>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut line = String::new();
        loop {
            line.clear();
            match stdin.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = inputs.blocking_send(Input::Closed);
                    return;
                }
                Ok(_) => {
                    if inputs
                        .blocking_send(Input::Line(line.trim_end().to_string()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
}
