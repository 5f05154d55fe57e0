//! Sharing a running session: the follow socket (`socket.rs`), `gonogo follow` (`follow.rs`)
//! and which session it follows (`sessions.rs`).

pub mod follow;
pub mod sessions;
pub mod socket;
mod watching;

#[cfg(test)]
mod tests;
