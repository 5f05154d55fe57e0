//! Host-key trust for one connection: which key types to ask for, and the check of the key the
//! host shows against known_hosts.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::ssh_key::{Algorithm, HashAlg};

use super::{ConnectError, SshOptions};
use crate::transport::known_hosts::{self, Verdict};

/// Checks the server's key against known_hosts; the verdict is kept to explain a refusal.
pub(super) struct HostKeyCheck {
    pub(super) host: String,
    pub(super) port: u16,
    /// Where the host's key is looked up; the first is where a new one is added.
    pub(super) files: Vec<PathBuf>,
    pub(super) opts: Arc<SshOptions>,
    pub(super) problem: Arc<Mutex<Option<ConnectError>>>,
    /// The fingerprint of the key trusted, for the journal.
    pub(super) trusted: Arc<Mutex<Option<String>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            *self.problem.lock().expect("not poisoned") = Some(ConnectError::Protocol(
                "the host offered a certificate; gonogo checks plain host keys only".into(),
            ));
            return Ok(false);
        };
        let verdict = known_hosts::verify(&self.files, &self.host, self.port, key);
        let trust = || {
            *self.trusted.lock().expect("not poisoned") = Some(known_hosts::fingerprint(key));
            Ok(true)
        };
        let problem = match verdict {
            Verdict::Trusted { .. } => return trust(),
            Verdict::Unknown if self.opts.accept_new => {
                let file = self.files.first().cloned().unwrap_or_default();
                return match known_hosts::append_hashed(&file, &self.host, self.port, key) {
                    Ok(()) => trust(),
                    Err(e) => {
                        *self.problem.lock().expect("not poisoned") = Some(ConnectError::Network(
                            format!("cannot add the host key to {}: {e}", file.display()),
                        ));
                        Ok(false)
                    }
                };
            }
            Verdict::Unknown => ConnectError::UnknownHostKey {
                fingerprint: known_hosts::fingerprint(key),
                known_hosts: self.files.first().cloned().unwrap_or_default(),
            },
            Verdict::Changed { file, line } => ConnectError::ChangedHostKey {
                fingerprint: known_hosts::fingerprint(key),
                file,
                line,
            },
            Verdict::Revoked { file, line } => ConnectError::RevokedHostKey { file, line },
        };
        *self.problem.lock().expect("not poisoned") = Some(problem);
        Ok(false)
    }
}

/// The host key algorithms to ask for, OpenSSH's way: those of the keys the host is known by
/// first (else a host known by its ECDSA key would show its Ed25519 one and look changed), then
/// the rest of russh's list so an unknown host still connects. Types russh cannot check are left
/// out; an RSA key is asked for with SHA-2 signatures.
pub(super) fn host_key_preference(known: &[Algorithm]) -> Vec<Algorithm> {
    let supported = &russh::Preferred::DEFAULT.key;
    let mut out: Vec<Algorithm> = Vec::new();
    let wanted = known.iter().flat_map(|a| match a {
        Algorithm::Rsa { .. } => vec![
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ],
        other => vec![other.clone()],
    });
    for algorithm in wanted.chain(supported.iter().cloned()) {
        if supported.contains(&algorithm) && !out.contains(&algorithm) {
            out.push(algorithm);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::ssh_key::EcdsaCurve;

    #[test]
    fn host_key_algorithms_of_known_keys_come_first_and_the_rest_follow() {
        let p256 = Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        };
        let rsa = |hash| Algorithm::Rsa { hash };
        let ecdsa_first = host_key_preference(std::slice::from_ref(&p256));
        assert_eq!(ecdsa_first[..2], [p256.clone(), Algorithm::Ed25519]);
        assert_eq!(ecdsa_first.len(), russh::Preferred::DEFAULT.key.len());

        let rsa_first = host_key_preference(&[rsa(None), Algorithm::Ed25519]);
        assert_eq!(
            rsa_first[..3],
            [
                rsa(Some(HashAlg::Sha512)),
                rsa(Some(HashAlg::Sha256)),
                Algorithm::Ed25519
            ]
        );
        assert_eq!(host_key_preference(&[]), russh::Preferred::DEFAULT.key[..]);
    }
}
