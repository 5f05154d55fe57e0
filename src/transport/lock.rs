//! The deploy lock: one directory per release name on each host, made atomically with `mkdir`.
//! It names who holds it, from where, since when, and for which session.

use super::Link;
use super::ssh::ExecEnd;
use crate::profile::template::shell_word;

/// Who is deploying: written into the lock, shown to anyone refused by it.
#[derive(Debug, Clone)]
pub struct Holder {
    pub session: String,
    pub operator: String,
    pub from: String,
    pub since: String,
    pub release: String,
}

impl Holder {
    fn info(&self) -> String {
        format!(
            "session={}\noperator={}\nfrom={}\nsince={}\nrelease={}\n",
            self.session, self.operator, self.from, self.since, self.release
        )
    }
}

/// What taking the lock on one target came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    Taken,
    /// Another session holds it: its holder, in words.
    Held(String),
    /// `--break-lock`: taken over from this holder.
    Broken(String),
}

fn lock_dir(release: &str) -> String {
    // Release names are free text: keep the file name to safe characters.
    let name: String = release
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "\"$HOME\"/.gonogo/locks/{}",
        shell_word(&format!("{name}.lock"))
    )
}

/// The lock appears whole or not at all: its info is written in a scratch directory that is
/// then renamed into place (rename fails if the lock exists). Two targets that are one machine
/// in one session find their own session in it and share it.
fn take_script(holder: &Holder, break_lock: bool) -> String {
    let breaking = if break_lock {
        // Keep what the old holder wrote, to record whose lock was broken.
        r#"prev=
if [ -d "$l" ] && [ "$(sed -n 's/^session=//p' "$l/info" 2>/dev/null)" != "$s" ]; then
  prev=$(cat "$l/info" 2>/dev/null); rm -rf "$l"
fi
"#
    } else {
        "prev=\n"
    };
    format!(
        r#"l={dir}
s={session}
info={info}
mkdir -p "$HOME/.gonogo/locks" || exit 111
{breaking}t="$l.new.$$"
rm -rf "$t"; mkdir "$t" && printf '%s' "$info" > "$t/info" || exit 111
if mv -T "$t" "$l" 2>/dev/null; then
  if [ -n "$prev" ]; then echo broken; printf '%s\n' "$prev"; else echo taken; fi
else
  rm -rf "$t"
  if [ "$(sed -n 's/^session=//p' "$l/info" 2>/dev/null)" = "$s" ]; then echo taken
  else echo held; cat "$l/info" 2>/dev/null; fi
fi"#,
        dir = lock_dir(&holder.release),
        session = shell_word(&holder.session),
        info = shell_word(&holder.info()),
    )
}

/// Removes the lock if this session holds it, and the session's run directories.
fn release_script(holder: &Holder) -> String {
    format!(
        r#"l={dir}
if [ "$(sed -n 's/^session=//p' "$l/info" 2>/dev/null)" = {session} ]; then rm -rf "$l"; fi
rm -rf "$HOME"/.gonogo/runs/{session}"#,
        dir = lock_dir(&holder.release),
        session = shell_word(&holder.session),
    )
}

pub async fn take(link: &Link, holder: &Holder, break_lock: bool) -> Result<LockOutcome, String> {
    let (end, out, err) = link.output(&take_script(holder, break_lock)).await?;
    if end != ExecEnd::Exited(0) {
        return Err(format!(
            "could not take the deploy lock ({end:?}): {}",
            err.trim()
        ));
    }
    let (verdict, info) = out.split_once('\n').unwrap_or((out.trim(), ""));
    match verdict.trim() {
        "taken" => Ok(LockOutcome::Taken),
        "held" => Ok(LockOutcome::Held(describe(info))),
        "broken" => Ok(LockOutcome::Broken(describe(info))),
        other => Err(format!("unexpected answer from the lock script: {other}")),
    }
}

pub async fn release(link: &Link, holder: &Holder) -> Result<(), String> {
    match link.output(&release_script(holder)).await? {
        (ExecEnd::Exited(0), _, _) => Ok(()),
        (end, _, err) => Err(format!(
            "could not release the deploy lock ({end:?}): {}",
            err.trim()
        )),
    }
}

/// "ana@laptop since 2026-11-22T10:02:00Z (session …)" from a lock's info file.
fn describe(info: &str) -> String {
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .unwrap_or("?")
            .to_string()
    };
    if info.trim().is_empty() {
        return "another session (its lock has no details yet)".into();
    }
    format!(
        "{}@{} since {} (session {})",
        field("operator"),
        field("from"),
        field("since"),
        field("session")
    )
}
