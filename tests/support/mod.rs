//! Shared helpers for integration tests.
//!
//! Each test file pulls this in with `mod support;`, so any one file uses only
//! part of it; dead-code warnings for the rest are silenced here.

#![allow(dead_code)]

pub mod app;
pub mod gonogo;
pub mod http;
pub mod https;
pub mod pty;
pub mod screen;
pub mod sshd;
