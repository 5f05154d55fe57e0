//! Who runs gonogo, as a person, when several share one Unix account (a `deploy` account people
//! reach with `ssh` or `sudo -iu`): the login is `$SUDO_USER` when set (the person behind the
//! sudo), else `$LOGNAME`, else `$USER`, else the name of the process's uid. Sessions record it
//! (the journal's header, the follow socket's hello), so `follow` and `resume` without a name
//! only ever pick one's own.

use std::path::Path;

use crate::journal::Header;

/// This person's login (see the module's comment).
pub fn login() -> String {
    from_env(|key| std::env::var(key).ok()).unwrap_or_else(uid_name)
}

/// The first of `$SUDO_USER`, `$LOGNAME`, `$USER` set and not empty.
fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    ["SUDO_USER", "LOGNAME", "USER"]
        .iter()
        .filter_map(|key| var(key))
        .map(|value| value.trim().to_string())
        .find(|value| !value.is_empty())
}

/// The name `/etc/passwd` gives this process's uid, else the uid itself.
fn uid_name() -> String {
    let uid = crate::share::socket::own_uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd_name(&passwd, uid).unwrap_or_else(|| uid.to_string())
}

fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// This machine's host name.
pub fn host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// Whose session a journal's header says it is: its login (for a journal written before
/// logins were recorded, the user part of `operator`) and the host it ran on.
pub fn of_header(header: &Header) -> (String, String) {
    let (user, host) = header
        .operator
        .rsplit_once('@')
        .unwrap_or((header.operator.as_str(), ""));
    let login = if header.login.is_empty() {
        user
    } else {
        header.login.as_str()
    };
    (login.to_string(), host.to_string())
}

/// An RFC 3339 time as this machine's local time, to the minute.
pub fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| "at an unknown time".to_string(),
        |at| {
            at.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}

/// A journal's header alone (its first line): who, where, what, without reading the records.
pub fn header_of(path: &Path) -> Option<Header> {
    use std::io::{BufRead as _, Read as _};
    let file = std::fs::File::open(path).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(file)
        .take(1 << 20)
        .read_line(&mut first)
        .ok()?;
    serde_json::from_str(&first).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_person_behind_sudo_comes_first_then_logname_then_user() {
        fn env<'a>(pairs: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
            move |key| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            }
        }
        let all = [("SUDO_USER", "ana"), ("LOGNAME", "deploy"), ("USER", "x")];
        assert_eq!(from_env(env(&all)).as_deref(), Some("ana"));
        let empty_sudo = [("SUDO_USER", ""), ("LOGNAME", "deploy"), ("USER", "x")];
        assert_eq!(from_env(env(&empty_sudo)).as_deref(), Some("deploy"));
        assert_eq!(from_env(env(&[("USER", "bo")])).as_deref(), Some("bo"));
        assert_eq!(from_env(env(&[])), None);
    }

    #[test]
    fn a_uid_is_named_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\ndeploy:x:1001:1001::/home/deploy:/bin/sh\n";
        assert_eq!(passwd_name(passwd, 1001).as_deref(), Some("deploy"));
        assert_eq!(passwd_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(passwd_name(passwd, 7), None);
    }

    #[test]
    fn an_old_header_without_a_login_is_the_user_of_its_operator() {
        let mut header: Header = serde_json::from_str(
            r#"{"format":"gonogo-journal","version":1,"gonogo":"0.1.0","session":"s",
            "profile":"p","profile_sha256":"","release":"r","environment":"e",
            "operator":"deploy@web-ops","terminal":null,"started":"2026-01-01T00:00:00Z",
            "targets":[]}"#,
        )
        .expect("an old header still reads");
        assert_eq!(of_header(&header), ("deploy".into(), "web-ops".into()));
        header.login = "ana".into();
        assert_eq!(of_header(&header), ("ana".into(), "web-ops".into()));
    }
}
