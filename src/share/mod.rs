//! Sharing a running session: the follow socket (`socket.rs`) and `gonogo follow` (`follow.rs`).

pub mod follow;
pub mod socket;
pub mod vote;

#[cfg(test)]
mod tests;
