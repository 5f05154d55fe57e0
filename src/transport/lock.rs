//! The deploy lock: one directory per release name on each host, made atomically. It names who
//! holds it, from where, since when, for which session (the session id is the owner token that
//! every step start checks), and why it was taken over if it was.

use super::Link;
use super::script::{MEMBERS_FN, OWNER_FN, STOP_FN};
use super::ssh::ExecEnd;
use crate::shell::shell_word;

/// Where deploy locks live on a host unless the profile says (`[release] lock_dir`).
pub const DEFAULT_LOCK_DIR: &str = "~/.gonogo/locks";

/// Who is deploying: written into the lock, shown to anyone refused by it.
#[derive(Debug, Clone)]
pub struct Holder {
    pub session: String,
    pub operator: String,
    pub from: String,
    pub since: String,
    pub release: String,
    /// The holding gonogo's process id on `from`: a refusal can tell whether it still runs.
    pub pid: u32,
    /// Where locks live on the hosts: `~/…` or an absolute path (shared by several accounts).
    pub place: String,
}

impl Holder {
    fn info(&self, broke: Option<&str>) -> String {
        let mut info = format!(
            "session={}\noperator={}\nfrom={}\nsince={}\nrelease={}\npid={}\n",
            one_line(&self.session),
            one_line(&self.operator),
            one_line(&self.from),
            one_line(&self.since),
            one_line(&self.release),
            self.pid
        );
        if let Some(reason) = broke {
            info.push_str(&format!("broke_reason={}\n", one_line(reason)));
        }
        info
    }

    /// The lock directory, as a shell word (the home part expanded by the host's shell).
    pub fn lock_dir(&self) -> String {
        format!(
            "{}/{}",
            place_dir(&self.place),
            shell_word(&lock_name(&self.release))
        )
    }

    /// Where this session's runs live on a host.
    pub fn session_dir(&self) -> String {
        format!("\"$HOME\"/.gonogo/runs/{}", shell_word(&self.session))
    }

    /// The command an operator runs to remove this lock by hand.
    pub fn remove_command(&self, target: &str) -> String {
        let dir = match self.place.strip_prefix("~/") {
            Some(rest) => format!("~/{}", rest.trim_end_matches('/')),
            None => self.place.trim_end_matches('/').to_string(),
        };
        format!(
            "ssh {target} rm -rf {dir}/{}",
            shell_word(&lock_name(&self.release))
        )
    }
}

/// A value written into the lock's `key=value` lines cannot start a line of its own.
fn one_line(value: &str) -> String {
    value.replace(['\n', '\r'], " ")
}

/// `~/x` → `"$HOME"/'x'`; `/x` → `'/x'`.
fn place_dir(place: &str) -> String {
    let place = place.trim_end_matches('/');
    match place.strip_prefix("~/").or((place == "~").then_some("")) {
        Some("") => "\"$HOME\"".into(),
        Some(rest) => format!("\"$HOME\"/{}", shell_word(rest)),
        None => shell_word(place),
    }
}

/// The lock's file name: every release name gets its own (letters, digits, `-` and `.` are
/// kept; any other byte is written `_XX` in hex, `_` included, so no two names meet).
pub fn lock_name(release: &str) -> String {
    let mut name = String::new();
    for b in release.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || (b == b'.' && !name.is_empty()) {
            name.push(b as char);
        } else {
            name.push_str(&format!("_{b:02X}"));
        }
    }
    format!("{name}.lock")
}

/// What taking the lock on one target came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    Taken,
    /// Another session holds it: its holder, in words.
    Held(String),
    /// `--break-lock`: taken over from this holder. `leftovers` says what the previous session
    /// left on the host (its runs, ended or stopped).
    Broken {
        holder: String,
        leftovers: Vec<String>,
    },
    /// `--break-lock` refused: the previous session's steps still run on the host.
    StillRunning {
        holder: String,
        running: Vec<String>,
    },
}

/// The lock appears whole or not at all: its info is written in a scratch directory that is
/// then renamed into place (rename fails if the lock exists). Two targets that are one machine
/// in one session find their own session in it and share it. Breaking a lock first looks at
/// what the previous session left: its steps still running stop the break, unless `stop` says
/// to stop them.
fn take_script(holder: &Holder, break_reason: Option<&str>, stop: bool) -> String {
    let breaking = match break_reason {
        None => "prev=\n".to_string(),
        Some(_) => format!(
            r#"prev=
ps=$(sed -n 's/^session=//p' "$l/info" 2>/dev/null)
if [ -d "$l" ] && [ "$ps" != "$s" ]; then
  prev=$(cat "$l/info" 2>/dev/null)
  {MEMBERS_FN}
  {STOP_FN}
  running=
  for d in "$HOME"/.gonogo/runs/"$ps"/*/; do
    [ -n "$ps" ] && [ -d "$d" ] || continue
    d=${{d%/}}; n=${{d##*/}}
    if [ -f "$d/status" ]; then echo "left $n ended (exit $(cat "$d/status")): removed" >> "$t.leftovers"; rm -rf "$d"; continue; fi
    pid=$(cat "$d/pid" 2>/dev/null)
    if [ -n "$pid" ] && [ -n "$(members)" ]; then
      if [ {stop} = yes ]; then
        if stop 50; then
          echo "left $n was running (pid $pid): stopped, removed" >> "$t.leftovers"; rm -rf "$d"
        else
          running="$running $n(pid $pid, would not stop)"
        fi
      else
        running="$running $n(pid $pid)"
      fi
    else
      echo "left $n ended (no exit status): removed" >> "$t.leftovers"; rm -rf "$d"
    fi
  done
  rmdir "$HOME"/.gonogo/runs/"$ps" 2>/dev/null
  if [ -n "$running" ]; then rm -f "$t.leftovers"; echo busy; echo "$running"; printf '%s\n' "$prev"; exit 0; fi
  rm -rf "$l"
  # Who broke it, for the broken session should it come back (gonogo resume).
  case "$ps" in *[!A-Za-z0-9-]*|'') ;; *) mkdir -p "$HOME/.gonogo/broken" && printf '%s' "$info" > "$HOME/.gonogo/broken/$ps" ;; esac
fi
"#,
            stop = if stop { "yes" } else { "no" }
        ),
    };
    format!(
        r#"umask {umask}
l={dir}
s={session}
info={info}
t="$l.new.$$"
{OWNER_FN}
[ -d {place} ] || mkdir -p {place} || exit 111
[ -e "$t.leftovers" ] && rm -f "$t.leftovers"
{breaking}[ -e "$t" ] && rm -rf "$t"
mkdir "$t" && printf '%s' "$info" > "$t/info" || exit 111
if mv -T "$t" "$l" 2>/dev/null; then
  if [ -n "$prev" ]; then echo broken; cat "$t.leftovers" 2>/dev/null; printf '%s\n' "$prev"; else echo taken; fi
else
  rm -rf "$t"
  owner
  if [ "$o" = "$s" ]; then echo taken
  else echo held; cat "$l/info" 2>/dev/null; fi
fi
[ -e "$t.leftovers" ] && rm -f "$t.leftovers"
:"#,
        dir = holder.lock_dir(),
        // A shared lock_dir is read by the other accounts (who holds it, since when, why); the
        // default one is private, like everything else gonogo writes on a host.
        umask = if holder.place == DEFAULT_LOCK_DIR {
            "077"
        } else {
            "022"
        },
        place = place_dir(&holder.place),
        session = shell_word(&holder.session),
        info = shell_word(&holder.info(break_reason)),
    )
}

/// Why the lock could not be taken, confirmed or released (not that another session holds it:
/// that is a [`LockOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Link(#[from] super::LinkError),
    #[error("the lock script failed ({end:?}){}", detail(.stderr))]
    Failed { end: ExecEnd, stderr: String },
    #[error("unexpected answer from the lock script: {answer:?}{}", detail(.stderr))]
    Unexpected { answer: String, stderr: String },
}

/// Whether the lock is still this session's, for a resume: `taken` (it is), `broken` + who
/// broke it, `held` + whose it is now, or `gone`.
fn confirm_script(holder: &Holder) -> String {
    format!(
        r#"l={dir}
s={session}
if [ "$(sed -n 's/^session=//p' "$l/info" 2>/dev/null)" = "$s" ]; then
  {{ sed -e '/^pid=/d' -e '/^from=/d' "$l/info"; printf 'from=%s\npid=%s\n' {from} {pid}; }} > "$l/info.new" && mv "$l/info.new" "$l/info"
  echo taken
elif [ -f "$HOME/.gonogo/broken/$s" ]; then echo broken; cat "$HOME/.gonogo/broken/$s"
elif [ -d "$l" ]; then echo held; cat "$l/info" 2>/dev/null
else echo gone; fi"#,
        dir = holder.lock_dir(),
        session = shell_word(&holder.session),
        from = shell_word(&one_line(&holder.from)),
        pid = holder.pid,
    )
}

/// A resumed session's lock: `Taken` if it is still this session's, else who has it or broke
/// it. Never takes a lock anew: the session's steps may have been stopped meanwhile.
pub async fn confirm(link: &Link, holder: &Holder) -> Result<LockOutcome, LockError> {
    let (end, out, err) = link.answer(&confirm_script(holder)).await?;
    if end != ExecEnd::Exited(0) {
        return Err(LockError::Failed { end, stderr: err });
    }
    let (verdict, rest) = out.split_once('\n').unwrap_or((out.trim(), ""));
    match verdict.trim() {
        "taken" => Ok(LockOutcome::Taken),
        "broken" => Ok(LockOutcome::Held(describe(rest))),
        "held" => Ok(LockOutcome::Held(describe(rest))),
        "gone" => Ok(LockOutcome::Held(
            "nobody now: the lock was removed while gonogo was down (by hand, or the host was reset)".into(),
        )),
        other => Err(LockError::Unexpected {
            answer: other.to_string(),
            stderr: err.clone(),
        }),
    }
}

/// What releasing the lock on one target came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    Released,
    /// Kept, and why.
    Kept(String),
}

/// Removes the session's run directories whose steps have ended, then the lock if this session
/// holds it and none of its steps still runs there (such a run directory, and the lock, stay).
fn release_script(holder: &Holder) -> String {
    format!(
        r#"l={dir}
r={runs}
{MEMBERS_FN}
{OWNER_FN}
kept=
set --
for d in "$r"/*/; do
  [ -d "$d" ] || continue
  d=${{d%/}}
  if [ ! -s "$d/status" ] && [ -f "$d/pid" ]; then
    pid=; {{ read -r pid < "$d/pid"; }} 2>/dev/null
    if [ -n "$pid" ] && [ -n "$(members)" ]; then kept="$kept ${{d##*/}}(pid $pid)"; continue; fi
  fi
  set -- "$@" "$d"
done
owner
if [ -z "$kept" ] && [ "$o" = {session} ]; then
  # Every run directory is in "$@": one `rm` for them, the session's directory and the lock.
  rm -rf "$r" "$l" && echo released; exit 0
fi
[ $# -eq 0 ] || rm -rf "$@"
rmdir "$r" 2>/dev/null
if [ -n "$kept" ]; then echo "running$kept"; exit 0; fi
if [ -d "$l" ]; then echo "taken-over"; cat "$l/info" 2>/dev/null
else echo released; fi"#,
        dir = holder.lock_dir(),
        runs = holder.session_dir(),
        session = shell_word(&holder.session),
    )
}

pub async fn take(
    link: &Link,
    holder: &Holder,
    break_reason: Option<&str>,
    stop_previous: bool,
) -> Result<LockOutcome, LockError> {
    let (end, out, err) = link
        .answer(&take_script(holder, break_reason, stop_previous))
        .await?;
    if end != ExecEnd::Exited(0) {
        return Err(LockError::Failed { end, stderr: err });
    }
    let mut lines = out.lines();
    let verdict = lines.next().unwrap_or_default().trim();
    let rest: Vec<&str> = lines.collect();
    match verdict {
        "taken" => Ok(LockOutcome::Taken),
        "held" => Ok(LockOutcome::Held(describe(&rest.join("\n")))),
        "broken" => {
            let (left, info): (Vec<&str>, Vec<&str>) =
                rest.iter().partition(|l| l.starts_with("left "));
            Ok(LockOutcome::Broken {
                holder: describe(&info.join("\n")),
                leftovers: left
                    .iter()
                    .map(|l| l["left ".len()..].to_string())
                    .collect(),
            })
        }
        "busy" => Ok(LockOutcome::StillRunning {
            running: rest
                .first()
                .map(|r| r.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            holder: describe(&rest.get(1..).unwrap_or_default().join("\n")),
        }),
        other => Err(LockError::Unexpected {
            answer: other.to_string(),
            stderr: err.clone(),
        }),
    }
}

pub async fn release(link: &Link, holder: &Holder) -> Result<Released, LockError> {
    let (end, out, err) = link.answer(&release_script(holder)).await?;
    if end != ExecEnd::Exited(0) {
        return Err(LockError::Failed { end, stderr: err });
    }
    let mut lines = out.lines();
    let verdict = lines.next().unwrap_or_default().trim().to_string();
    if verdict == "released" {
        Ok(Released::Released)
    } else if let Some(runs) = verdict.strip_prefix("running") {
        Ok(Released::Kept(format!(
            "steps of this session still run there:{runs}"
        )))
    } else if verdict == "taken-over" {
        let info: Vec<&str> = lines.collect();
        Ok(Released::Kept(format!(
            "another session holds it now: {}",
            describe(&info.join("\n"))
        )))
    } else {
        Err(LockError::Unexpected {
            answer: verdict,
            stderr: String::new(),
        })
    }
}

fn detail(err: &str) -> String {
    let err = err.trim();
    if err.is_empty() {
        String::new()
    } else {
        format!(": {err}")
    }
}

/// "ana@laptop since 2026-11-22T10:02:00Z (session …)" from a lock's info file, with the reason
/// when that session took the lock over from another.
pub fn describe(info: &str) -> String {
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .map(str::to_string)
    };
    if info.trim().is_empty() {
        return "another session (its lock has no details, or you may not read them)".into();
    }
    let get = |key: &str| field(key).unwrap_or_else(|| "?".into());
    let mut said = format!(
        "{}@{} since {} (session {})",
        get("operator"),
        get("from"),
        get("since"),
        get("session")
    );
    if let Some(reason) = field("broke_reason") {
        said.push_str(&format!(", who broke the previous lock: {reason}"));
    }
    let pid = field("pid").and_then(|p| p.parse::<u32>().ok());
    if let (Some(from), Some(pid), Some(session)) = (field("from"), pid, field("session")) {
        said.push_str(&holder_alive_words(&from, pid, &session));
    }
    said
}

/// Whether the holder's gonogo still runs, when that can be told from here: on this machine,
/// its process; elsewhere, where to resume it.
fn holder_alive_words(from: &str, pid: u32, session: &str) -> String {
    let here = gethostname::gethostname().to_string_lossy().into_owned();
    if from != here {
        return format!(
            "; it ran on {from}: if its gonogo died there, continue it there with gonogo resume"
        );
    }
    let alive = std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("gonogo"));
    if alive {
        return format!("; its gonogo still runs here (pid {pid})");
    }
    let journal = local_journal(session)
        .map_or_else(|| "its journal".to_string(), |p| p.display().to_string());
    format!(
        ", whose gonogo is no longer running (pid {pid} is gone): continue it with gonogo resume {journal}"
    )
}

/// The journal of `session` in this machine's sessions directory, if it is there.
fn local_journal(session: &str) -> Option<std::path::PathBuf> {
    use std::io::BufRead as _;
    let dir = crate::journal::sessions_dir();
    std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let path = entry.path();
        let file = std::fs::File::open(&path).ok()?;
        let mut first = String::new();
        std::io::BufReader::new(file).read_line(&mut first).ok()?;
        first
            .contains(&format!("\"session\":\"{session}\""))
            .then_some(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_map_to_distinct_lock_files() {
        let names = ["a/b", "a_b", "a b", "a.b", "a_2Fb", "ünï", ".hidden", "_"];
        let files: std::collections::HashSet<String> = names.iter().map(|n| lock_name(n)).collect();
        assert_eq!(files.len(), names.len(), "{files:?}");
        assert!(
            files
                .iter()
                .all(|f| !f.contains('/') && !f.starts_with('.'))
        );
        assert_eq!(lock_name("acme-web"), "acme-web.lock");
    }

    #[test]
    fn the_lock_place_is_home_relative_or_absolute() {
        assert_eq!(place_dir("~/.gonogo/locks"), "\"$HOME\"/.gonogo/locks");
        assert_eq!(place_dir("/var/lib/gonogo/"), "/var/lib/gonogo");
        assert_eq!(place_dir("/srv/it's"), shell_word("/srv/it's"));
    }

    #[test]
    fn lock_info_values_cannot_add_lines() {
        let h = Holder {
            session: "s".into(),
            operator: "ana\nsession=forged".into(),
            from: "laptop".into(),
            since: "now".into(),
            release: "r".into(),
            pid: 1,
            place: "~/.gonogo/locks".into(),
        };
        let info = h.info(Some("hung\nsession=x"));
        assert_eq!(
            info.lines().filter(|l| l.starts_with("session=")).count(),
            1
        );
    }
}
