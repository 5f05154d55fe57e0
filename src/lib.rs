//! gonogo: a terminal release cockpit. A release is an event log; the engine is pure; drivers
//! at the edges turn effects into events. See docs/architecture.md.

pub mod cli;
pub mod demo;
pub mod drivers;
pub mod engine;
pub mod exit;
pub mod headless;
pub mod journal;
pub mod launch;
pub mod logging;
pub mod login;
pub mod measure;
pub mod narrate;
pub mod notify;
pub mod probe;
pub mod profile;
pub mod replay;
pub mod report;
pub mod runtime;
pub mod share;
pub mod shell;
pub mod summary;
pub mod text;
pub mod transport;
pub mod ui;
