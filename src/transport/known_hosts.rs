//! Host-key verification against OpenSSH `known_hosts` files.
//!
//! russh's own `check_known_hosts` misses wildcards, negation, `@revoked`, `@cert-authority` and
//! the system-wide file, and reports a change when a host has two keys of one type. So lines are
//! parsed with `ssh_key::known_hosts` and matched here, following OpenSSH's rules.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use russh::keys::PublicKey;
use russh::keys::ssh_encoding::base64::{Base64, Encoding};
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::ssh_key::{Algorithm, HashAlg};
use sha1::Sha1;

/// Where a host's key was found or why it is not trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Trusted {
        file: PathBuf,
        line: usize,
    },
    /// No entry for this host (with a key of any type).  -> refuse unless the operator accepts new keys
    Unknown,
    /// The host is known, but with other keys: never connect. Names the file and line of the first
    /// known entry for this host.
    Changed {
        file: PathBuf,
        line: usize,
    },
    /// The key is marked @revoked.
    Revoked {
        file: PathBuf,
        line: usize,
    },
}

/// Checks `key` as presented by `host`:`port` against `files`, in order. Missing or unreadable
/// files and lines the parser rejects are skipped. Precedence: Revoked (a revoked key is refused
/// for every host, whatever the patterns on its line), then Trusted, then Changed, then Unknown.
pub fn verify(files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> Verdict {
    let name = lookup_name(host, port);
    let mut trusted = None;
    let mut known = None;
    for file in files {
        let Ok(bytes) = fs::read(file) else { continue };
        // Lossy, so one stray non-UTF-8 byte costs one line, not the whole file.
        let text = String::from_utf8_lossy(&bytes);
        for (index, raw) in text.lines().enumerate() {
            let Some(entry) = parse_line(raw) else {
                continue;
            };
            // key_data(): the comment is not part of the key.
            let same_key = entry.public_key().key_data() == key.key_data();
            let here = || (file.clone(), index + 1);
            match entry.marker() {
                Some(Marker::Revoked) if same_key => {
                    let (file, line) = here();
                    return Verdict::Revoked { file, line };
                }
                // Host certificates are not supported: CA lines neither trust nor make a host known.
                Some(Marker::Revoked | Marker::CertAuthority) => {}
                None if host_matches(entry.host_patterns(), &name) => {
                    let slot = if same_key { &mut trusted } else { &mut known };
                    slot.get_or_insert_with(here);
                }
                None => {}
            }
        }
    }
    match (trusted, known) {
        (Some((file, line)), _) => Verdict::Trusted { file, line },
        (None, Some((file, line))) => Verdict::Changed { file, line },
        (None, None) => Verdict::Unknown,
    }
}

/// The key types `host`:`port` is known by in `files`, in the order they are found, each once:
/// what OpenSSH asks the host to present first, so a host known by its ECDSA or RSA key is not
/// checked against the Ed25519 key it also has. Revoked and `@cert-authority` lines do not count.
pub fn known_algorithms(files: &[PathBuf], host: &str, port: u16) -> Vec<Algorithm> {
    let name = lookup_name(host, port);
    let mut found = Vec::new();
    for file in files {
        let Ok(bytes) = fs::read(file) else { continue };
        for raw in String::from_utf8_lossy(&bytes).lines() {
            let Some(entry) = parse_line(raw) else {
                continue;
            };
            let algorithm = entry.public_key().algorithm();
            if entry.marker().is_none()
                && host_matches(entry.host_patterns(), &name)
                && !found.contains(&algorithm)
            {
                found.push(algorithm);
            }
        }
    }
    found
}

/// Appends a hashed entry (`|1|salt|hash keytype base64`, as OpenSSH's HashKnownHosts writes it:
/// HMAC-SHA1 keyed by a random 20-byte salt over `host`, or `[host]:port` when port != 22),
/// creating the file (and its directory, mode 0700) if needed.
pub fn append_hashed(file: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut salt = [0u8; 20];
    getrandom::fill(&mut salt).map_err(io::Error::other)?;
    let hash = host_hash(&salt, &lookup_name(host, port));
    // Written without the key's comment, like ssh does.
    let key_text = PublicKey::from(key.key_data().clone())
        .to_openssh()
        .map_err(io::Error::other)?;
    let mut line = format!(
        "|1|{}|{} {key_text}\n",
        Base64::encode_string(&salt),
        Base64::encode_string(&hash)
    );

    let mut out = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(file)?;
    if !ends_with_newline_or_empty(&mut out)? {
        line.insert(0, '\n');
    }
    // One write, so the line is not torn if another process appends at the same time.
    out.write_all(line.as_bytes())?;
    out.flush()
}

/// "SHA256:…" as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The system-wide file, checked after the user's (OpenSSH's GlobalKnownHostsFile default).
pub const GLOBAL_FILE: &str = "/etc/ssh/ssh_known_hosts";

/// `~/.ssh/known_hosts`, OpenSSH's UserKnownHostsFile default; it may be missing (`verify` skips
/// missing files, `append_hashed` creates it).
pub fn default_user_file() -> Option<PathBuf> {
    std::env::home_dir().map(|home| home.join(".ssh").join("known_hosts"))
}

/// The name a host is filed under: `host` on port 22, `[host]:port` otherwise. Lowercased, as
/// ssh does before looking up or hashing.
fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// Parses one line; `None` for blanks, comments and anything the parser rejects.
fn parse_line(raw: &str) -> Option<Entry> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    // The parser splits fields on single spaces; OpenSSH accepts any run of blanks.
    let normalized = line.split_whitespace().collect::<Vec<_>>().join(" ");
    normalized.parse().ok()
}

fn host_matches(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => host_hash(salt, name) == hash[..],
        HostPatterns::Patterns(list) => {
            let mut matched = false;
            for pattern in list {
                let pattern = pattern.to_ascii_lowercase();
                match pattern.strip_prefix('!') {
                    // A negated match vetoes the whole line.
                    Some(negated) if glob_match(negated, name) => return false,
                    Some(_) => {}
                    None => matched |= glob_match(&pattern, name),
                }
            }
            matched
        }
    }
}

/// `*` (any run, also empty) and `?` (one character) wildcards; everything else literal.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Position after the last `*` seen, and the text index it is currently made to swallow up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi + 1, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((after_star, swallowed)) = star {
            // Let the last `*` swallow one more character and retry.
            pi = after_star;
            ti = swallowed + 1;
            star = Some((after_star, ti));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn host_hash(salt: &[u8], name: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(salt).expect("HMAC takes keys of any length");
    mac.update(name.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn ends_with_newline_or_empty(file: &mut fs::File) -> io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::Unknown;
    use std::process::Command;
    use tempfile::TempDir;

    /// A fresh ed25519 key from ssh-keygen: (key, "ssh-ed25519 AAAA…" without comment, .pub path).
    fn keygen(dir: &TempDir, name: &str) -> (PublicKey, String, PathBuf) {
        let private = dir.path().join(name);
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&private)
            .status()
            .expect("run ssh-keygen");
        assert!(status.success());
        let pub_path = private.with_extension("pub");
        let line = fs::read_to_string(&pub_path).unwrap();
        let key = PublicKey::from_openssh(line.trim()).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        (key, fields[..2].join(" "), pub_path)
    }

    fn write(dir: &TempDir, name: &str, lines: &[String]) -> PathBuf {
        let path = dir.path().join(name);
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    }

    fn check(file: &Path, host: &str, port: u16, key: &PublicKey) -> Verdict {
        verify(&[file.to_path_buf()], host, port, key)
    }

    fn trusted(file: &Path, line: usize) -> Verdict {
        let file = file.to_path_buf();
        Verdict::Trusted { file, line }
    }

    #[test]
    fn plain_entries_ports_and_unknown_hosts() {
        let dir = TempDir::new().unwrap();
        let (other, other_bare, _) = keygen(&dir, "other");
        let (key, bare, _) = keygen(&dir, "k");
        let lines = [
            "# comment".into(),
            String::new(),
            format!("db9 {other_bare}"),
        ];
        let more = [
            format!("db1,10.0.0.5 {bare}"),
            format!("[127.0.0.1]:2222 {bare}"),
        ];
        let file = write(&dir, "kh", &[&lines[..], &more[..]].concat());
        let files = [dir.path().join("missing"), file.clone()];
        assert_eq!(verify(&files, "db1", 22, &key), trusted(&file, 4));
        assert_eq!(verify(&files, "DB1", 22, &key), trusted(&file, 4));
        assert_eq!(verify(&files, "10.0.0.5", 22, &key), trusted(&file, 4));
        assert_eq!(verify(&files, "db9", 22, &other), trusted(&file, 3));
        assert_eq!(verify(&files, "db2", 22, &key), Unknown);
        assert_eq!(verify(&files, "db1", 2222, &key), Unknown);
        assert_eq!(verify(&[], "db1", 22, &key), Unknown);
        assert_eq!(verify(&files, "127.0.0.1", 2222, &key), trusted(&file, 5));
        assert_eq!(verify(&files, "127.0.0.1", 22, &key), Unknown);
        assert_eq!(verify(&files, "127.0.0.1", 2223, &key), Unknown);
    }

    #[test]
    fn appended_hashed_entry_is_trusted_and_openssh_finds_it() {
        let dir = TempDir::new().unwrap();
        let (key, _, _) = keygen(&dir, "k");
        let file = dir.path().join("kh");
        fs::write(&file, "# no trailing newline").unwrap();
        append_hashed(&file, "127.0.0.1", 2222, &key).unwrap();
        let text = fs::read_to_string(&file).unwrap();
        assert!(text.lines().nth(1).unwrap().starts_with("|1|") && text.ends_with('\n'));
        assert_eq!(check(&file, "127.0.0.1", 2222, &key), trusted(&file, 2));
        assert_eq!(check(&file, "127.0.0.1", 22, &key), Unknown);

        let found = Command::new("ssh-keygen")
            .args(["-F", "[127.0.0.1]:2222", "-f"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(found.status.success(), "ssh-keygen -F found nothing");
        assert!(String::from_utf8_lossy(&found.stdout).contains("found: line 2"));
    }

    #[test]
    fn append_creates_directory_with_mode_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new().unwrap();
        let (key, _, _) = keygen(&dir, "k");
        let file = dir.path().join("fresh/.ssh/known_hosts");
        append_hashed(&file, "db1", 22, &key).unwrap();
        append_hashed(&file, "db2", 22, &key).unwrap();
        let dir_meta = fs::metadata(file.parent().unwrap()).unwrap();
        assert_eq!(dir_meta.permissions().mode() & 0o777, 0o700);
        assert_eq!(fs::read_to_string(&file).unwrap().lines().count(), 2);
        assert_eq!(check(&file, "db2", 22, &key), trusted(&file, 2));
    }

    #[test]
    fn wildcards_and_negation() {
        let dir = TempDir::new().unwrap();
        let (key, bare, _) = keygen(&dir, "k");
        let file = write(
            &dir,
            "kh",
            &[format!("*.ex.com,!bad.ex.com,web?.ex.org {bare}")],
        );
        assert_eq!(check(&file, "web.ex.com", 22, &key), trusted(&file, 1));
        assert_eq!(check(&file, "bad.ex.com", 22, &key), Unknown);
        assert_eq!(check(&file, "ex.com", 22, &key), Unknown);
        assert_eq!(check(&file, "web1.ex.org", 22, &key), trusted(&file, 1));
        assert_eq!(check(&file, "web12.ex.org", 22, &key), Unknown);
    }

    #[test]
    fn known_host_with_other_key_is_changed() {
        let dir = TempDir::new().unwrap();
        let (old, old_bare, _) = keygen(&dir, "old");
        let (new, _, _) = keygen(&dir, "new");
        let (_, unrelated, _) = keygen(&dir, "unrelated");
        let file = write(
            &dir,
            "kh",
            &[format!("db9 {unrelated}"), format!("db1 {old_bare}")],
        );
        assert_eq!(check(&file, "db1", 22, &old), trusted(&file, 2));
        let changed = Verdict::Changed {
            file: file.clone(),
            line: 2,
        };
        assert_eq!(check(&file, "db1", 22, &new), changed);
    }

    #[test]
    fn revoked_wins_over_trust_and_cert_authority_is_ignored() {
        let dir = TempDir::new().unwrap();
        let (key, bare, _) = keygen(&dir, "k");
        let ca = write(&dir, "ca", &[format!("@cert-authority db1 {bare}")]);
        assert_eq!(check(&ca, "db1", 22, &key), Unknown);
        let trusting = write(&dir, "first", &[format!("db1 {bare}")]);
        let revoking = write(&dir, "second", &["#".into(), format!("@revoked * {bare}")]);
        let revoked = Verdict::Revoked {
            file: revoking.clone(),
            line: 2,
        };
        assert_eq!(verify(&[trusting, revoking], "db1", 22, &key), revoked);
    }

    #[test]
    fn two_keys_of_one_type_and_comments_that_differ() {
        let dir = TempDir::new().unwrap();
        let (_, old_bare, _) = keygen(&dir, "old");
        let (new, new_bare, _) = keygen(&dir, "new");
        assert_eq!(new.comment().as_str_lossy(), "new");
        let file = write(
            &dir,
            "kh",
            &[format!("db1 {old_bare}"), format!("db1 {new_bare} me@pc")],
        );
        assert_eq!(check(&file, "db1", 22, &new), trusted(&file, 2));
    }

    #[test]
    fn garbage_lines_do_not_stop_later_lines() {
        let dir = TempDir::new().unwrap();
        let (key, bare, _) = keygen(&dir, "k");
        let garbage = [
            "db1 ssh-ed25519 not-base64!!",
            "@bogus db1 ssh-ed25519 AAAA",
            "one-field",
        ];
        let mut lines: Vec<String> = garbage.map(String::from).into();
        lines.push(format!("db1\t  {bare}"));
        let file = write(&dir, "kh", &lines);
        assert_eq!(check(&file, "db1", 22, &key), trusted(&file, 4));
    }

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        let dir = TempDir::new().unwrap();
        let (key, _, pub_path) = keygen(&dir, "k");
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&pub_path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let stdout = String::from_utf8(out.stdout).unwrap();
        let expected = stdout.split_whitespace().nth(1).unwrap();
        assert!(expected.starts_with("SHA256:"));
        assert_eq!(fingerprint(&key), expected);
    }

    #[test]
    fn known_algorithms_are_those_of_the_hosts_plain_entries_in_order() {
        let dir = TempDir::new().unwrap();
        let (_, ed25519, _) = keygen(&dir, "k");
        let ecdsa_path = dir.path().join("e");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ecdsa", "-N", "", "-f"])
            .arg(&ecdsa_path)
            .status()
            .expect("run ssh-keygen");
        assert!(made.success());
        let ecdsa_line = fs::read_to_string(ecdsa_path.with_extension("pub")).unwrap();
        let ecdsa = ecdsa_line.split_whitespace().take(2).collect::<Vec<_>>();
        let ecdsa = ecdsa.join(" ");
        let file = write(
            &dir,
            "kh",
            &[
                format!("other {ed25519}"),
                format!("@revoked db1 {ed25519}"),
                format!("@cert-authority db1 {ed25519}"),
                format!("db1 {ecdsa}"),
                format!("db1 {ed25519}"),
                format!("db1 {ecdsa}"),
            ],
        );
        let found = known_algorithms(&[file], "db1", 22);
        let p256 = Algorithm::Ecdsa {
            curve: russh::keys::ssh_key::EcdsaCurve::NistP256,
        };
        assert_eq!(found, [p256, Algorithm::Ed25519]);
        assert!(known_algorithms(&[], "db1", 22).is_empty());
    }

    #[test]
    fn glob_edge_cases() {
        assert!(glob_match("*", "") && glob_match("a*b*c", "axxbyyc") && glob_match("*", "*"));
        assert!(!glob_match("a*b*c", "axxbyy") && !glob_match("?", "") && !glob_match("a", "*"));
        assert!(glob_match("[*.example.net]:999", "[db.example.net]:999"));
    }
}
