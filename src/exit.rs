//! gonogo's exit codes, for every command: 0 released (or the command did what it was asked),
//! 1 aborted, 2 an invalid profile or usage, 3 rolled back, 4 refused before anything ran.

/// An invalid profile or usage (clap uses it for usage errors too).
pub const INVALID: u8 = 2;
