//! Why a link could not do what was asked, by kind: a caller decides on the kind (a changed host
//! key is never retried), and formats the words only at the edge (an event, a line, the exit).

use std::time::Duration;

use super::ssh::{ConnectError, Endpoint};

/// A command that could not be run at all (its end, when it ran, is an `ExecEnd`).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The SSH channel could not be opened or the command started on it.
    #[error("{address}: {source}")]
    Channel {
        address: String,
        source: russh::Error,
    },
    #[error("cannot start sh: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("cannot pass the script to sh: {0}")]
    Feed(#[source] std::io::Error),
    /// The local shell could not be waited for.
    #[error("{0}")]
    Wait(#[source] std::io::Error),
}

/// A byte stream to `host:port` on the target's side could not be had.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// A local target: straight from here.
    #[error("cannot reach {host}:{port}: {source}")]
    Local {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    /// No reconnect for a tunnel: a probe through a link that is down fails, and says so.
    #[error("the link to {0} is down")]
    Down(String),
    #[error("cannot reach {host}:{port} through {address}: {source}")]
    Channel {
        host: String,
        port: u16,
        address: String,
        source: russh::Error,
    },
    #[error("{address} did not open a tunnel to {host}:{port} within {}", humantime::format_duration(*.after))]
    NoAnswer {
        host: String,
        port: u16,
        address: String,
        after: Duration,
    },
}

/// What a [`super::Link`] could not do.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The target could not be reached (the first connection), or a reconnect met what is
    /// never retried (a changed or revoked host key, authentication refused).
    #[error("{}", .error.explain(.endpoint))]
    Connect {
        error: ConnectError,
        endpoint: Box<Endpoint>,
    },
    /// A dropped link did not come back within its budget; `error` is the last attempt's.
    #[error("not back after {}: {}", humantime::format_duration(*.budget), .error.explain(.endpoint))]
    NotBack {
        budget: Duration,
        error: ConnectError,
        endpoint: Box<Endpoint>,
    },
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// gonogo's script never started: the account's shell said why (its words, quoted).
    #[error("{0}")]
    NotStarted(String),
    /// One of gonogo's short scripts did not answer in time.
    #[error("gonogo's script on {target} did not answer within {}", humantime::format_duration(*.after))]
    NoAnswer { target: String, after: Duration },
}

impl LinkError {
    /// What it was about connecting, if it was: the kind decides whether to try again.
    pub fn connect_error(&self) -> Option<&ConnectError> {
        match self {
            LinkError::Connect { error, .. } | LinkError::NotBack { error, .. } => Some(error),
            _ => None,
        }
    }
}
