//! The pure release engine: state, events, effects and the rules that connect them.
//! No I/O and no clock reads here: time arrives inside events.

mod answer;
mod apply;
pub mod event;
pub mod plan;
pub mod release;
pub mod watch_rule;

pub use answer::Answer;
pub use event::{
    Decision, Effect, Event, EventKind, Millis, Outcome, RunId, StepList, Stream, Timer,
};
pub use plan::ReleasePlan;
pub use release::{Question, Release, RunStatus, Stage, StepStatus};

#[cfg(test)]
mod tests;
