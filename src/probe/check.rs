//! Built-in checks at run time. `http` and `tls_days_left` are gonogo's own probes through the
//! target's SSH connection (a direct-tcpip channel, as `ssh -L` would): nothing is run on the
//! host, and a cancel has nothing to stop there. `dns` and `disk_free` are short scripts run like
//! any check, with the host's `getent` and `df`, every value quoted.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::drive::host_port;
use super::health::{HealthProbe, probe_via};
use super::tls::Tls;
use crate::engine::{EventKind, RunId, Stream};
use crate::profile::builtin::{BuiltinCheck, FreeSpace, tls_address};
use crate::profile::{Quoting, VarValues};
use crate::shell::shell_word;
use crate::transport::Link;
use crate::transport::lines::{Redactor, clean};

/// What the drivers do for a step on a target.
#[derive(Debug, Clone)]
pub enum Work {
    /// A shell command (secrets included), run detached on the host.
    Command(String),
    /// One of gonogo's own probes, through the target's connection.
    Probe(ProbeCheck),
}

#[derive(Debug, Clone)]
pub enum ProbeCheck {
    Http(HealthProbe),
    TlsDaysLeft { host: String, port: u16, min: u32 },
}

/// The longest a built-in probe waits for its answer, whatever the step's timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// A built-in check with the release's values in, as the drivers run it.
pub fn work(check: &BuiltinCheck, vars: &VarValues, step_timeout: Duration) -> Work {
    let plain = |t: &crate::profile::Template| t.expand(vars, Quoting::Plain);
    let timeout = step_timeout.min(PROBE_TIMEOUT);
    match check {
        BuiltinCheck::Http { url, expect, body } => {
            let mut probe = HealthProbe::new(plain(url), *expect, timeout);
            if let Some(re) = body.as_deref().and_then(|b| regex::Regex::new(b).ok()) {
                probe = probe.with_body(re);
            }
            Work::Probe(ProbeCheck::Http(probe))
        }
        BuiltinCheck::TlsDaysLeft { address, min } => {
            let address = plain(address);
            match tls_address(&address) {
                Ok((host, port)) => Work::Probe(ProbeCheck::TlsDaysLeft {
                    host,
                    port,
                    min: *min,
                }),
                Err(why) => refused(&format!("{address}: {why}")),
            }
        }
        BuiltinCheck::Dns { name, expect } => {
            let name = plain(name);
            let mut addresses = Vec::new();
            for value in expect.iter().map(plain) {
                match value.trim().parse::<IpAddr>() {
                    Ok(ip) => addresses.push(ip),
                    Err(_) => {
                        return refused(&format!("{name}: expect {value:?} is not an IP address"));
                    }
                }
            }
            Work::Command(dns_script(&name, &addresses))
        }
        BuiltinCheck::DiskFree { path, min } => Work::Command(disk_free_script(&plain(path), *min)),
    }
}

/// A variable's value that makes no sense for the check: said on the step's output, and failed,
/// with nothing else run.
fn refused(why: &str) -> Work {
    Work::Command(format!("echo {} >&2; exit 2", shell_word(why)))
}

/// `name` resolved on the host (`getent`, so `/etc/hosts` and the host's resolver count, as
/// for the app itself); with `expect`, the addresses must be exactly those (of the families
/// expected): a stale address left in the record fails it.
pub fn dns_script(name: &str, expect: &[IpAddr]) -> String {
    let family = match (
        expect.iter().any(IpAddr::is_ipv4),
        expect.iter().any(IpAddr::is_ipv6),
    ) {
        (true, false) => "ahostsv4",
        (false, true) => "ahostsv6",
        _ => "ahosts",
    };
    let want: Vec<String> = expect.iter().map(ToString::to_string).collect();
    format!(
        r#"n={name}
want={want}
out=$(getent {family} -- "$n" 2>&1); rc=$?
if [ $rc -eq 2 ]; then echo "$n does not resolve on this host" >&2; exit 1; fi
if [ $rc -ne 0 ]; then printf '%s\n' "$out" >&2; echo "getent {family} failed (exit $rc)" >&2; exit 2; fi
got=$(printf '%s\n' "$out" | awk '{{print $1}}' | LC_ALL=C sort -u | tr '\n' ' ')
got=${{got% }}
echo "$n resolves to $got"
[ -z "$want" ] && exit 0
missing= extra=
for a in $want; do case " $got " in *" $a "*) ;; *) missing="$missing $a";; esac; done
for a in $got; do case " $want " in *" $a "*) ;; *) extra="$extra $a";; esac; done
[ -z "$missing$extra" ] && exit 0
echo "expected: $want" >&2
[ -n "$missing" ] && echo "missing:$missing" >&2
[ -n "$extra" ] && echo "not expected (a stale record?):$extra" >&2
exit 1"#,
        name = shell_word(name),
        want = shell_word(&want.join(" ")),
    )
}

/// Free space on the filesystem holding `path`, from POSIX `df -Pk`, read from its capacity
/// column back so a mount point or device name with spaces is read right.
pub fn disk_free_script(path: &str, min: FreeSpace) -> String {
    let (min_kib, min_pct) = match min {
        FreeSpace::Bytes(b) => (b.div_ceil(1024), 0),
        FreeSpace::Percent(p) => (0, u64::from(p)),
    };
    format!(
        r#"p={path}
out=$(LC_ALL=C df -Pk -- "$p" 2>&1) || {{ printf '%s\n' "$out" >&2; exit 2; }}
cols='{{for (i = NF; i > 3; i--) if ($i ~ /^[0-9]+%$/) {{ print $(i-3), $(i-1); exit }}}}'
set -- $(printf '%s\n' "$out" | tail -n 1 | awk "$cols")
[ $# -eq 2 ] || {{ echo "could not read df's answer for $p:" >&2; printf '%s\n' "$out" >&2; exit 2; }}
P=$p awk -v size="$1" -v avail="$2" -v minkib={min_kib} -v minpct={min_pct} -v want={want} '
function h(k, i, u) {{ split("K M G T P", u, " "); i = 1; while (k >= 1024 && i < 5) {{ k /= 1024; i++ }}
  return (k == int(k)) ? sprintf("%d%s", k, u[i]) : sprintf("%.1f%s", k, u[i]) }}
BEGIN {{
  pct = size > 0 ? int(100 * avail / size) : 0
  line = sprintf("%s free on %s (%d%% of %s)", h(avail), ENVIRON["P"], pct, h(size))
  if ((minkib > 0 && avail < minkib) || (minpct > 0 && pct < minpct)) {{
    print line ", below the minimum " want > "/dev/stderr"; exit 1 }}
  print line ", minimum " want
}}'"#,
        path = shell_word(path),
        want = shell_word(&min.to_string()),
    )
}

fn platform_tls() -> Result<&'static Tls, super::tls::TlsError> {
    static PLATFORM: OnceLock<Result<Tls, super::tls::TlsError>> = OnceLock::new();
    PLATFORM
        .get_or_init(Tls::platform)
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs one probe check from the target's side and reports it as a step's run would: its
/// lines, then `Exited` 0 (passed) or 1 (failed).
pub async fn drive(
    link: Arc<Link>,
    run: RunId,
    check: ProbeCheck,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
) {
    let (passed, line) = match platform_tls() {
        Ok(tls) => match &check {
            ProbeCheck::Http(probe) => http(&link, probe, tls).await,
            ProbeCheck::TlsDaysLeft { host, port, min } => {
                certificate(&link, host, *port, *min, tls).await
            }
        },
        Err(why) => (false, why.to_string()),
    };
    let stream = if passed {
        Stream::Stdout
    } else {
        Stream::Stderr
    };
    let line = redactor.mask(clean(line.as_bytes()));
    let said = EventKind::Output {
        run: run.clone(),
        stream,
        lines: vec![line],
    };
    let _ = events.send(said).await;
    let status = if passed { 0 } else { 1 };
    let _ = events.send(EventKind::Exited { run, status }).await;
}

async fn http(link: &Link, probe: &HealthProbe, tls: &Tls) -> (bool, String) {
    let url = &probe.url;
    let Some((host, port)) = host_port(url) else {
        return (false, format!("{url}: not a URL gonogo can check"));
    };
    let stream = match tokio::time::timeout(probe.timeout, link.tunnel(&host, port)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(why)) => return (false, format!("GET {url}: {why}")),
        Err(_) => {
            return (
                false,
                format!("GET {url}: no connection within {}", secs(probe.timeout)),
            );
        }
    };
    let sample = probe_via(stream, probe, tls).await;
    let took = format!("{} ms", sample.latency.as_millis());
    let cert = sample
        .cert_days_left
        .map_or(String::new(), |d| format!("; certificate: {d} days left"));
    match sample.error() {
        None => {
            let status = sample.status.unwrap_or_default();
            (true, format!("GET {url}: {status} in {took}{cert}"))
        }
        Some(why) => (false, format!("GET {url}: {why} ({took}){cert}")),
    }
}

async fn certificate(link: &Link, host: &str, port: u16, min: u32, tls: &Tls) -> (bool, String) {
    let started = Instant::now();
    let at = format!("{host}:{port}");
    let handshake = async {
        let stream = link.tunnel(host, port).await.map_err(|e| e.to_string())?;
        let (_, days) = tls.connect(stream, host).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(days)
    };
    let days = match tokio::time::timeout(PROBE_TIMEOUT, handshake).await {
        Ok(Ok(days)) => days,
        Ok(Err(why)) => return (false, format!("TLS {at}: {why}")),
        Err(_) => {
            let waited = secs(started.elapsed());
            return (false, format!("TLS {at}: no handshake within {waited}"));
        }
    };
    if days < i64::from(min) {
        let why = format!(
            "TLS {at}: the certificate has {days} days left, fewer than the {min} required: renew it"
        );
        return (false, why);
    }
    (
        true,
        format!("TLS {at}: the certificate has {days} days left ({min} required)"),
    )
}

fn secs(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs().max(1))).to_string()
}
