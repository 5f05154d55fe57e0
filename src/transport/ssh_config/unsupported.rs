//! The ssh config keys that apply to a host and that gonogo does not honour, so they can be
//! named at start instead of silently ignored.

use ssh2_config::HostParams;

/// Keys gonogo reads itself (ssh2-config keeps them as "unsupported").
const HONOURED: &[&str] = &[
    "identityagent",
    "identitiesonly",
    "userknownhostsfile",
    "globalknownhostsfile",
    "serveralivecountmax",
];

/// Keys whose absence changes nothing about which host is reached, as whom, or what is trusted.
const HARMLESS: &[&str] = &[
    "addkeystoagent",
    "usekeychain",
    "ignoreunknown",
    "loglevel",
    "logverbose",
    "hashknownhosts",
    "visualhostkey",
    "compression",
    "tcpkeepalive",
    "batchmode",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "kbdinteractivedevices",
    "preferredauthentications",
    "numberofpasswordprompts",
    "checkhostip",
    "fingerprinthash",
    "escapechar",
    "syslogfacility",
    "host",
];

/// OpenSSH's spelling of the keys ssh2-config stores in lower case.
const SPELLING: &[&str] = &[
    "AddressFamily",
    "BatchMode",
    "CanonicalDomains",
    "CanonicalizeFallbackLocal",
    "CanonicalizeHostname",
    "CanonicalizeMaxDots",
    "CanonicalizePermittedCNAMEs",
    "CheckHostIP",
    "ClearAllForwardings",
    "ControlMaster",
    "ControlPath",
    "ControlPersist",
    "DynamicForward",
    "EnableSSHKeysign",
    "ExitOnForwardFailure",
    "ForkAfterAuthentication",
    "ForwardX11",
    "ForwardX11Timeout",
    "ForwardX11Trusted",
    "GatewayPorts",
    "GSSAPIAuthentication",
    "GSSAPIDelegateCredentials",
    "HostbasedAcceptedAlgorithms",
    "HostbasedAuthentication",
    "HostKeyAlias",
    "HostbasedKeyTypes",
    "IPQoS",
    "KnownHostsCommand",
    "LocalCommand",
    "LocalForward",
    "NoHostAuthenticationForLocalhost",
    "PermitLocalCommand",
    "PermitRemoteOpen",
    "PKCS11Provider",
    "ProxyCommand",
    "ProxyUseFdpass",
    "PubkeyAcceptedKeyTypes",
    "RekeyLimit",
    "RequestTTY",
    "RevokedHostKeys",
    "SecurityKeyProvider",
    "SendEnv",
    "SessionType",
    "SetEnv",
    "StdinNull",
    "StreamLocalBindMask",
    "StrictHostKeyChecking",
    "UpdateHostKeys",
    "VerifyHostKeyDNS",
    "XAuthLocation",
];

/// What to do instead, for the keys people rely on most.
fn hint(key: &str) -> &'static str {
    match key.to_ascii_lowercase().as_str() {
        "proxycommand" => "; use ProxyJump",
        "stricthostkeychecking" => {
            "; gonogo always checks host keys (--accept-new-host-keys trusts new ones)"
        }
        "controlmaster" | "controlpath" | "controlpersist" => {
            "; gonogo keeps one connection per target itself"
        }
        "match" => "; write a Host block instead",
        "certificatefile" => "; gonogo authenticates with plain keys",
        _ => "",
    }
}

/// A config key that applies and that gonogo does not honour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhonoured {
    /// `Key value`, as the config says it (the value shortened).
    pub key: String,
    /// What to do instead, as `; …`, or empty.
    pub hint: &'static str,
}

/// Every key in `params` (what the config says for one host) that gonogo does not honour.
pub fn unhonoured(params: &HostParams) -> Vec<Unhonoured> {
    let mut found: Vec<(String, String)> = Vec::new();
    let extra = params
        .unsupported_fields
        .iter()
        .chain(&params.ignored_fields);
    for (key, args) in extra {
        let lower = key.to_ascii_lowercase();
        let value = args.join(" ").trim_matches('"').to_string();
        let value_lower = value.to_ascii_lowercase();
        let agrees = match lower.as_str() {
            "stricthostkeychecking" => matches!(value_lower.as_str(), "yes" | "ask"),
            // Turning off what gonogo does not do anyway.
            _ => matches!(value_lower.as_str(), "no" | "none" | "false"),
        };
        if HONOURED.contains(&lower.as_str()) || HARMLESS.contains(&lower.as_str()) || agrees {
            continue;
        }
        let spelled = SPELLING
            .iter()
            .find(|s| s.eq_ignore_ascii_case(key))
            .map_or(key.clone(), |s| s.to_string());
        found.push((spelled, value));
    }
    let parsed = [
        ("CertificateFile", params.certificate_file.is_some()),
        ("BindAddress", params.bind_address.is_some()),
        ("BindInterface", params.bind_interface.is_some()),
        ("ForwardAgent yes", params.forward_agent == Some(true)),
        ("RemoteForward", !params.remote_forward.is_empty()),
        (
            "PubkeyAuthentication no",
            params.pubkey_authentication == Some(false),
        ),
        (
            "ConnectionAttempts",
            params.connection_attempts.is_some_and(|n| n > 1),
        ),
        ("Ciphers", !params.ciphers.is_default()),
        (
            "HostKeyAlgorithms",
            !params.host_key_algorithms.is_default(),
        ),
        ("KexAlgorithms", !params.kex_algorithms.is_default()),
        ("MACs", !params.mac.is_default()),
        (
            "PubkeyAcceptedAlgorithms",
            !params.pubkey_accepted_algorithms.is_default(),
        ),
        (
            "CASignatureAlgorithms",
            !params.ca_signature_algorithms.is_default(),
        ),
    ];
    for (key, set) in parsed {
        if set {
            found.push((key.to_string(), String::new()));
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|(key, value)| {
            let hint = hint(key.split(' ').next().unwrap_or(&key));
            let shown: String = value.chars().take(40).collect();
            let key = match shown.is_empty() || key.contains(' ') {
                true => key,
                false => format!("{key} {shown}"),
            };
            Unhonoured { key, hint }
        })
        .collect()
}
