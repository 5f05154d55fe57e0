//! The pure release engine: state, events, effects and the rules that connect them.
//! No I/O and no clock reads here: time arrives inside events.

pub mod plan;
pub mod watch_rule;
