//! A TCP proxy that delays each direction by a fixed time, and counts round trips: the delay
//! proxy of `benches/round_trips.sh` (an example, so it is never part of the shipped binary).
//!
//! ```text
//! delay_proxy --to HOST:PORT --delay-ms N [--listen ADDR]... [--log FILE]
//! ```
//!
//! Every `--listen` address (port 0: any free port; 127.0.0.1:0 when none is given) forwards
//! each connection it accepts to `--to`. A chunk read from one side at time t is written to the
//! other side at t + N ms, in the order read and as read: no batching, TCP_NODELAY on both
//! sockets. Two directions of 25 ms each make a 50 ms round trip. Once a listener is bound it
//! prints `listening ADDR` on stdout. On SIGTERM or SIGINT it writes its log (to `--log`, else to
//! stderr) and exits.
//!
//! The kernel completes the client's TCP handshake at once, so a link's first round trip would be
//! lost; unless `--no-handshake`, the proxy stands in for it: it connects to the server 3 N ms
//! after it accepted (SYN, SYN-ACK, ACK have crossed), so the server's first byte reaches the
//! client 4 N after its `connect` as on a real link, and what the client sent meanwhile reaches
//! the server then (its bytes are read and timed as they come).
//!
//! The log, per connection, in the order read:
//! - `burst conn=C t_ms=T end_ms=E dir=c>s|s>c bytes=B reads=R`: a burst is a run of reads in
//!   one direction not interrupted by a read in the other; T and E are when its first and last
//!   reads came, in milliseconds since the proxy started (the first line gives that start as
//!   Unix time);
//! - `conn conn=C listen=ADDR ...` its totals, and at the end `total ...` for all connections.
//!
//! Round trips, counted two ways on each connection:
//! - `round_trips`: the longest chain of reads in which each one could be a reaction to the one
//!   before it, counted in client→server links. A read can react to a read in the other
//!   direction only if it came at least N ms after it (the time that one took to cross the
//!   proxy; 1 ms of timer slack allowed when N > 0; at N = 0, any earlier read). A client→server
//!   read's depth is one more than that of the latest server→client read it can react to (0 if
//!   none); a server→client read's depth is that of the latest client→server read it can answer.
//!   The connection's round trips are its deepest client→server read: the number of times the
//!   client can have waited a whole round trip for the server. Messages that only cross on the
//!   wire (a keepalive, a second request sent before the first answer arrived) do not lengthen
//!   it; at 0 ms nothing can be told apart, so every alternation counts (an upper bound). One is
//!   added for the TCP handshake (a real one or the proxy's stand-in): a connection costs a
//!   round trip before its first byte.
//! - `turns`: the client→server bursts that follow a server→client burst (a request after a
//!   reply), the delay not considered. At 0 ms it equals `round_trips` up to how reads group.
//!
//! Either count for a whole run includes the connection's set-up and end; `round_trips.sh`
//! subtracts a one-step run of the same release to get a step's share.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, sleep_until};

/// Timer slack allowed when judging whether a read can react to another (see `round_trips`).
const SLACK: Duration = Duration::from_millis(1);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    ClientToServer,
    ServerToClient,
}

impl Dir {
    fn label(self) -> &'static str {
        match self {
            Dir::ClientToServer => "c>s",
            Dir::ServerToClient => "s>c",
        }
    }
}

#[derive(Clone, Copy)]
struct Read {
    at: Duration,
    dir: Dir,
    bytes: usize,
}

struct Conn {
    id: usize,
    listen: SocketAddr,
    accepted: Duration,
    ended: Option<Duration>,
    reads: Vec<Read>,
}

struct Burst {
    at: Duration,
    end: Duration,
    dir: Dir,
    bytes: usize,
    reads: usize,
}

#[derive(Default)]
struct Counts {
    round_trips: usize,
    turns: usize,
    c2s_bytes: usize,
    s2c_bytes: usize,
    c2s_bursts: usize,
    s2c_bursts: usize,
}

struct Options {
    to: SocketAddr,
    delay: Duration,
    listen: Vec<SocketAddr>,
    log: Option<String>,
    handshake: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: delay_proxy --to HOST:PORT --delay-ms N [--listen ADDR]... [--log FILE] [--no-handshake]"
    );
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut to = None;
    let mut delay = None;
    let mut listen = Vec::new();
    let mut log = None;
    let mut handshake = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--no-handshake" {
            handshake = false;
            continue;
        }
        let value = args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--to" => to = Some(value.parse().unwrap_or_else(|_| usage())),
            "--delay-ms" => {
                let ms: f64 = value.parse().unwrap_or_else(|_| usage());
                delay = Some(Duration::from_secs_f64(ms / 1000.0));
            }
            "--listen" => listen.push(value.parse().unwrap_or_else(|_| usage())),
            "--log" => log = Some(value),
            _ => usage(),
        }
    }
    if listen.is_empty() {
        listen.push(SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    Options {
        to: to.unwrap_or_else(|| usage()),
        delay: delay.unwrap_or_else(|| usage()),
        listen,
        log,
        handshake,
    }
}

fn main() -> std::io::Result<()> {
    let options = parse_args();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(options))
}

async fn run(options: Options) -> std::io::Result<()> {
    let start = Instant::now();
    let unix_start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let conns: Arc<Mutex<Vec<Arc<Mutex<Conn>>>>> = Arc::default();
    for addr in &options.listen {
        let listener = TcpListener::bind(addr).await?;
        println!("listening {}", listener.local_addr()?);
        let conns = Arc::clone(&conns);
        let (to, delay, handshake) = (options.to, options.delay, options.handshake);
        tokio::spawn(accept_loop(listener, to, delay, handshake, start, conns));
    }
    use std::io::Write as _;
    std::io::stdout().flush()?;

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let mut out = String::new();
    write_log(
        &mut out,
        &options,
        unix_start,
        start,
        &conns.lock().unwrap(),
    );
    match &options.log {
        Some(path) => std::fs::write(path, out)?,
        None => eprint!("{out}"),
    }
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    to: SocketAddr,
    delay: Duration,
    handshake: bool,
    start: Instant,
    conns: Arc<Mutex<Vec<Arc<Mutex<Conn>>>>>,
) {
    let listen = listener
        .local_addr()
        .expect("bound listener has an address");
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let conn = {
            let mut conns = conns.lock().unwrap();
            let conn = Arc::new(Mutex::new(Conn {
                id: conns.len() + 1,
                listen,
                accepted: start.elapsed(),
                ended: None,
                reads: Vec::new(),
            }));
            conns.push(Arc::clone(&conn));
            conn
        };
        tokio::spawn(async move {
            let _ = client.set_nodelay(true);
            let (client_rd, client_wr) = client.into_split();
            let (server_wr_tx, server_wr_rx) = oneshot::channel();
            // The client's bytes are read (and timed) from the start; they wait for the server.
            let upstream = async {
                if handshake && !delay.is_zero() {
                    sleep(delay * 3).await;
                }
                let server = TcpStream::connect(to).await.ok()?;
                let _ = server.set_nodelay(true);
                let (server_rd, server_wr) = server.into_split();
                server_wr_tx.send(server_wr).ok()?;
                Some(server_rd)
            };
            let c2s = pump(
                client_rd,
                async { server_wr_rx.await.ok() },
                Dir::ClientToServer,
                delay,
                start,
                &conn,
            );
            let s2c = async {
                if let Some(server_rd) = upstream.await {
                    let client_wr = async { Some(client_wr) };
                    pump(
                        server_rd,
                        client_wr,
                        Dir::ServerToClient,
                        delay,
                        start,
                        &conn,
                    )
                    .await;
                }
                // Else the client's write half is dropped here, which ends the connection.
            };
            tokio::join!(c2s, s2c);
            conn.lock().unwrap().ended = Some(start.elapsed());
        });
    }
}

/// Reads one direction and writes each chunk `delay` after it was read, in order, once `wr`
/// is there (a chunk already due then is written at once); an end of stream (or a read error)
/// is passed on as a shutdown of the write side, delayed the same.
async fn pump(
    mut rd: OwnedReadHalf,
    wr: impl Future<Output = Option<OwnedWriteHalf>>,
    dir: Dir,
    delay: Duration,
    start: Instant,
    conn: &Mutex<Conn>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>(4096);
    let writer = async move {
        let Some(mut wr) = wr.await else { return };
        while let Some((due, chunk)) = rx.recv().await {
            if !delay.is_zero() {
                sleep_until(due).await;
            }
            match chunk {
                Some(chunk) => {
                    if wr.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
                None => {
                    let _ = wr.shutdown().await;
                    break;
                }
            }
        }
    };
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = rd.read(&mut buf).await.unwrap_or(0);
            let now = Instant::now();
            if n == 0 {
                let _ = tx.send((now + delay, None)).await;
                break;
            }
            conn.lock().unwrap().reads.push(Read {
                at: now - start,
                dir,
                bytes: n,
            });
            if tx
                .send((now + delay, Some(buf[..n].to_vec())))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    tokio::join!(reader, writer);
}

fn bursts(reads: &[Read]) -> Vec<Burst> {
    let mut out: Vec<Burst> = Vec::new();
    for read in reads {
        match out.last_mut() {
            Some(last) if last.dir == read.dir => {
                last.end = read.at;
                last.bytes += read.bytes;
                last.reads += 1;
            }
            _ => out.push(Burst {
                at: read.at,
                end: read.at,
                dir: read.dir,
                bytes: read.bytes,
                reads: 1,
            }),
        }
    }
    out
}

fn count(reads: &[Read], bursts: &[Burst], delay: Duration) -> Counts {
    let mut counts = Counts::default();
    let mut seen_reply = false;
    for burst in bursts {
        match burst.dir {
            Dir::ServerToClient => {
                counts.s2c_bursts += 1;
                counts.s2c_bytes += burst.bytes;
                seen_reply = true;
            }
            Dir::ClientToServer => {
                counts.c2s_bursts += 1;
                counts.c2s_bytes += burst.bytes;
                if seen_reply {
                    counts.turns += 1;
                }
                seen_reply = false;
            }
        }
    }
    counts.round_trips = 1 + chain(reads, delay);
    counts
}

/// The depth of the longest chain of possible reactions, in client→server links (see the
/// module's `round_trips`). `reads` is in the order read. Depths only grow with time in each
/// direction, so "the latest read of the other direction old enough to react to" is found with
/// one cursor per direction.
fn chain(reads: &[Read], delay: Duration) -> usize {
    let slack = if delay.is_zero() {
        Duration::ZERO
    } else {
        SLACK
    };
    // (time, depth) of every read so far, per direction, and a cursor to the first one too
    // recent to react to.
    let mut seen: [Vec<(Duration, usize)>; 2] = [Vec::new(), Vec::new()];
    let mut cursor = [0usize; 2];
    let mut deepest = 0;
    for read in reads {
        let (mine, other) = match read.dir {
            Dir::ClientToServer => (0, 1),
            Dir::ServerToClient => (1, 0),
        };
        while cursor[other] < seen[other].len()
            && seen[other][cursor[other]].0 + delay <= read.at + slack
        {
            cursor[other] += 1;
        }
        let reacts_to = cursor[other].checked_sub(1).map(|i| seen[other][i].1);
        let depth = match read.dir {
            Dir::ClientToServer => reacts_to.map_or(0, |d| d + 1),
            Dir::ServerToClient => reacts_to.unwrap_or(0),
        };
        if read.dir == Dir::ClientToServer {
            deepest = deepest.max(depth);
        }
        seen[mine].push((read.at, depth));
    }
    deepest
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn write_log(
    out: &mut String,
    options: &Options,
    unix_start: Duration,
    start: Instant,
    conns: &[Arc<Mutex<Conn>>],
) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "delay_proxy to={} delay_ms={} handshake={} start_unix_ms={} ran_ms={}",
        options.to,
        ms(options.delay),
        options.handshake,
        unix_start.as_millis(),
        ms(start.elapsed())
    );
    let mut total = Counts::default();
    for conn in conns {
        let conn = conn.lock().unwrap();
        // Two directions record their reads under one lock, a hair out of time order at most.
        let mut reads = conn.reads.clone();
        reads.sort_by_key(|r| r.at);
        let bursts = bursts(&reads);
        for b in &bursts {
            let _ = writeln!(
                out,
                "burst conn={} t_ms={} end_ms={} dir={} bytes={} reads={}",
                conn.id,
                ms(b.at),
                ms(b.end),
                b.dir.label(),
                b.bytes,
                b.reads
            );
        }
        let c = count(&reads, &bursts, options.delay);
        let _ = writeln!(
            out,
            "conn conn={} listen={} accepted_ms={} ended_ms={} bursts_c2s={} bursts_s2c={} bytes_c2s={} bytes_s2c={} round_trips={} turns={}",
            conn.id,
            conn.listen,
            ms(conn.accepted),
            conn.ended.map_or_else(|| "open".to_owned(), ms),
            c.c2s_bursts,
            c.s2c_bursts,
            c.c2s_bytes,
            c.s2c_bytes,
            c.round_trips,
            c.turns
        );
        total.round_trips += c.round_trips;
        total.turns += c.turns;
        total.c2s_bytes += c.c2s_bytes;
        total.s2c_bytes += c.s2c_bytes;
        total.c2s_bursts += c.c2s_bursts;
        total.s2c_bursts += c.s2c_bursts;
    }
    let _ = writeln!(
        out,
        "total conns={} bursts_c2s={} bursts_s2c={} bytes_c2s={} bytes_s2c={} round_trips={} turns={}",
        conns.len(),
        total.c2s_bursts,
        total.s2c_bursts,
        total.c2s_bytes,
        total.s2c_bytes,
        total.round_trips,
        total.turns
    );
}
