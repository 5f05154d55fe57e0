//! Which running session `gonogo follow` attaches to. Every session of this Unix user has its
//! socket in one directory, so on a shared account (`deploy`, reached with `ssh` or `sudo`)
//! they are several people's: each socket's hello says whose (its login), and without a session
//! named a follower attaches only to the one session running when it is its own login's.

use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::socket::{self, Hello};
use crate::text::printable;

/// A session whose socket answers, and what its hello said (`None`: nothing, or not a hello).
#[derive(Debug, Clone)]
pub struct Running {
    pub id: String,
    pub path: PathBuf,
    pub hello: Option<Hello>,
}

impl Running {
    fn login(&self) -> &str {
        self.hello.as_ref().map_or("", |h| h.login.as_str())
    }

    /// One line of the list: the id to name, what, whose, since when.
    fn line(&self, me: &str) -> String {
        let Some(hello) = &self.hello else {
            return format!("  {}  (it did not say whose)", printable(&self.id));
        };
        let login = if hello.login.is_empty() {
            "someone (not said)".to_string()
        } else {
            printable(&hello.login).into_owned()
        };
        let yours = if !hello.login.is_empty() && hello.login == me {
            " (yours)"
        } else {
            ""
        };
        format!(
            "  {}  {} to {}, by {login}{yours}, started {}",
            printable(&self.id),
            printable(&hello.release),
            printable(&hello.environment),
            crate::login::local_time(&hello.started)
        )
    }
}

/// Why no session was picked: each says what is running and what to type.
#[derive(Debug, thiserror::Error)]
pub enum PickError {
    #[error(transparent)]
    Dir(super::socket::SocketError),
    #[error("cannot read {dir}: {error}")]
    ReadDir { dir: String, error: std::io::Error },
    #[error("no gonogo session of this user is running (looked in {dir})")]
    NoneRunning { dir: String },
    #[error("no running session {session} of this user (looked in {dir})")]
    NoneNamed { session: String, dir: String },
    #[error("several sessions run; name one: gonogo follow SESSION\n{list}{hint}")]
    Several { list: String, hint: String },
    #[error(
        "the session running is {whose}'s, not yours ({me}): name it to follow it: \
         gonogo follow SESSION\n{list}{hint}"
    )]
    Another {
        whose: String,
        me: String,
        list: String,
        hint: String,
    },
}

/// The sessions whose sockets answer in `dir`, by id; a socket nobody answers on (its gonogo
/// was killed) is removed.
pub fn running(dir: &Path) -> Result<Vec<Running>, PickError> {
    let read = std::fs::read_dir(dir).map_err(|error| PickError::ReadDir {
        dir: dir.display().to_string(),
        error,
    })?;
    let mut live = Vec::new();
    for entry in read.flatten() {
        let path = entry.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".sock"))
            .map(str::to_string)
        else {
            continue;
        };
        match std::os::unix::net::UnixStream::connect(&path) {
            Ok(stream) => live.push(Running {
                id,
                hello: hello_from(stream),
                path,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
    live.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(live)
}

/// The hello a session sends as it accepts (a gonogo older than that sends it only after a
/// join: then nothing within two seconds, and the session is listed without a name).
fn hello_from(stream: std::os::unix::net::UnixStream) -> Option<Hello> {
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .take(64 * 1024)
        .read_line(&mut line)
        .ok()?;
    serde_json::from_str(&line).ok()
}

/// The session to follow among `live`: the one `named` (an id or its start), or, with none
/// named, the only one running when it is `me`'s.
pub fn choose(
    mut live: Vec<Running>,
    named: Option<&str>,
    me: &str,
    dir: &Path,
) -> Result<Running, PickError> {
    let dir = dir.display().to_string();
    let hint = if std::env::var_os("SSH_CONNECTION").is_some() {
        "\n  over SSH, through a key that runs gonogo follow: ssh -t HOST SESSION".to_string()
    } else {
        String::new()
    };
    let list = |live: &[Running]| {
        live.iter()
            .map(|r| r.line(me))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if let Some(wanted) = named {
        live.retain(|r| r.id.starts_with(wanted));
        return match live.len() {
            0 => Err(PickError::NoneNamed {
                session: printable(wanted).into_owned(),
                dir,
            }),
            1 => Ok(live.remove(0)),
            _ => Err(PickError::Several {
                list: list(&live),
                hint,
            }),
        };
    }
    match live.len() {
        0 => Err(PickError::NoneRunning { dir }),
        1 if !me.is_empty() && live[0].login() == me => Ok(live.remove(0)),
        1 => Err(PickError::Another {
            whose: match live[0].login() {
                "" => "someone else".to_string(),
                login => printable(login).into_owned(),
            },
            me: printable(me).into_owned(),
            list: list(&live),
            hint,
        }),
        _ => Err(PickError::Several {
            list: list(&live),
            hint,
        }),
    }
}

/// The socket of the session to follow: the one named, or the only one running, this login's.
pub fn pick(named: Option<&str>) -> Result<Running, PickError> {
    let dir = socket::dir().map_err(PickError::Dir)?;
    let named = named.map(str::to_string).or_else(named_over_ssh);
    choose(
        running(&dir)?,
        named.as_deref(),
        &crate::login::login(),
        &dir,
    )
}

/// A session named in the command an SSH client asked for, when a key's `command="gonogo
/// follow …"` ran instead (`ssh -t HOST 20261123T1612`): a word that starts like a session id.
fn named_over_ssh() -> Option<String> {
    let asked = std::env::var("SSH_ORIGINAL_COMMAND").ok()?;
    session_word(&asked)
}

fn session_word(asked: &str) -> Option<String> {
    asked
        .split_whitespace()
        .find(|w| {
            w.len() >= 4
                && w.starts_with(|c: char| c.is_ascii_digit())
                && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
}

/// The first line a follower sees: whose session this is.
pub fn whose(hello: &Hello, me: &str) -> String {
    let login = if hello.login.is_empty() {
        "someone (not said)".to_string()
    } else {
        printable(&hello.login).into_owned()
    };
    let other = if hello.login == me {
        ""
    } else {
        " (not yours)"
    };
    format!(
        "following {login}'s session{other}: {} to {}, started {}",
        printable(&hello.release),
        printable(&hello.environment),
        crate::login::local_time(&hello.started)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, login: &str) -> Running {
        Running {
            id: id.into(),
            path: PathBuf::from(format!("/run/{id}.sock")),
            hello: Some(Hello {
                follow: socket::PROTOCOL,
                session: id.into(),
                journal: PathBuf::from("/j"),
                release: "shop".into(),
                environment: "production".into(),
                operator: "deploy".into(),
                login: login.into(),
                started: "2026-11-23T12:00:00.000Z".into(),
            }),
        }
    }

    /// The session followed, if one is.
    fn chosen(live: Vec<Running>, named: Option<&str>, me: &str) -> Option<String> {
        choose(live, named, me, Path::new("/run/gonogo"))
            .ok()
            .map(|r| r.id)
    }

    /// Why none is followed, as the person reads it.
    fn refused(live: Vec<Running>, named: Option<&str>, me: &str) -> String {
        match choose(live, named, me, Path::new("/run/gonogo")) {
            Ok(r) => panic!("followed {}", r.id),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn one_session_of_ones_own_login_is_followed_another_persons_only_when_named() {
        assert_eq!(
            chosen(vec![session("s1", "ana")], None, "ana"),
            Some("s1".into())
        );
        let theirs = refused(vec![session("s1", "bo")], None, "ana");
        assert!(theirs.contains("is bo's, not yours (ana)"), "{theirs}");
        assert!(
            theirs.contains("  s1  shop to production, by bo, started"),
            "{theirs}"
        );
        assert_eq!(
            chosen(vec![session("s1", "bo")], Some("s"), "ana"),
            Some("s1".into())
        );
        // A session that did not say whose is nobody's own.
        let unsaid = refused(vec![session("s1", "")], None, "ana");
        assert!(unsaid.contains("someone else's"), "{unsaid}");
    }

    #[test]
    fn several_sessions_are_listed_and_none_is_followed_unless_named() {
        let live = || vec![session("s1", "ana"), session("s2", "bo")];
        let several = refused(live(), None, "ana");
        assert!(
            several.contains("name one: gonogo follow SESSION"),
            "{several}"
        );
        assert!(
            several.contains("  s1  shop to production, by ana (yours)"),
            "{several}"
        );
        assert!(
            several.contains("  s2  shop to production, by bo, started"),
            "{several}"
        );
        assert_eq!(chosen(live(), Some("s2"), "ana"), Some("s2".into()));
        assert!(chosen(live(), Some("x"), "ana").is_none());
        assert!(chosen(Vec::new(), None, "ana").is_none());
    }

    #[test]
    fn a_session_is_named_in_the_command_an_ssh_client_asked_for() {
        assert_eq!(
            session_word("20261123T1612").as_deref(),
            Some("20261123T1612")
        );
        assert_eq!(
            session_word("gonogo follow 20261123T161249Z-6beb").as_deref(),
            Some("20261123T161249Z-6beb")
        );
        assert_eq!(session_word("echo anything else"), None);
        assert_eq!(session_word("12; rm -rf /"), None);
    }
}
