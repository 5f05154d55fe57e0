//! The release profile: a TOML file describing targets, steps, probes, the watch window and
//! rollback. Loading keeps spans so that every problem is reported as `file:line:col`.

pub mod builtin;
mod checks;
pub mod diag;
mod load;
pub mod phases;
pub mod policy;
mod read;
mod release_plan;
pub mod resolve;
pub mod rule;
pub mod schema;
mod sections;
pub mod ships;
mod steps;
mod target_vars;
pub mod template;

pub use diag::{Diagnostic, Diagnostics, Severity, Source};
pub use load::load;
pub use read::parse_duration;
pub use release_plan::release_plan;
pub use resolve::{Purpose, parse_set, resolve};
pub use schema::*;
pub use template::{MASK, Quoting, Template, VarValues};

/// A profile's SHA-256 in hex, as the journal's header records it (a resume checks it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
