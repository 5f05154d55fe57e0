//! Probes: the drivers that look at the running service during a release. They read the world
//! and report samples; what the samples mean for the release is the engine's call.

pub mod check;
pub mod drive;
pub mod health;
pub mod logs;
pub mod metrics;
pub mod tls;
