//! The pure release engine: state, events, effects and the rules that connect them.
//! No I/O and no clock reads here: time arrives inside events.

mod answer;
mod apply;
pub mod baseline;
mod decide;
pub mod event;
mod evidence;
mod families;
mod fold;
pub mod judge;
pub mod logs;
mod marks;
pub mod plan;
mod policy;
pub mod release;
mod resume;
pub mod rollout;
pub mod scrollback;
pub mod ships;
pub mod signature;
mod stopping;
mod timers;
pub mod trace;
mod undo;
mod vote;
pub mod watch;
pub mod watch_rule;

pub use answer::Answer;
pub use event::{
    Actor, BatchFigure, BatchVerdict, Decision, Effect, Event, EventKind, KeptLock, Millis,
    Outcome, RunId, StepList, Stream, Timer, left_said,
};
pub use fold::Fold;
pub use plan::{Origin, ReleasePlan, Unattended};
pub use policy::{Answerer, Refusal, STRAY_KEY_GUARD_MS, Seat, Via};
pub use release::{
    AfterStop, EarlierAttempt, LockState, Question, Release, RunStatus, Stage, StepStatus,
};
pub use resume::Interruption;
pub use undo::{NotUndone, UndoMark};
pub use vote::{Vote, VoteRecord, vote_said};

#[cfg(test)]
mod tests;
