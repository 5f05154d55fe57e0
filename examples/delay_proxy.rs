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
//! The log, per connection, in the order read:
//! - `burst conn=C t_ms=T dir=c>s|s>c bytes=B reads=R`: a burst is a run of reads in one
//!   direction not interrupted by a read in the other; T is when its first byte was read, in
//!   milliseconds since the proxy started (the first line gives that start as Unix time);
//! - `conn conn=C listen=ADDR ...` its totals, and at the end `total ...` for all connections.
//!
//! Round trips, counted two ways on each connection:
//! - `turns`: the client→server bursts that follow a server→client burst (a request after a
//!   reply). Cheap and exact about what the proxy saw, but at 0 ms it also counts traffic that
//!   merely interleaves without waiting (a message that would have been sent anyway).
//! - `waits`: the turns that could only happen after a full round trip, judged by the delay: a
//!   client→server burst counts when a server→client burst began at least N ms after the
//!   previous client→server burst began (so it can be an answer to it) and this burst began at
//!   least N ms after that server→client burst (so it can be a reaction to the answer), 1 ms of
//!   timer slack allowed on each. At N = 0 it equals `turns`; with a delay it leaves out what
//!   crossed on the wire without waiting.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// Timer slack allowed when judging whether a burst can be an answer (see `waits`).
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
    dir: Dir,
    bytes: usize,
    reads: usize,
}

#[derive(Default)]
struct Counts {
    turns: usize,
    waits: usize,
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
}

fn usage() -> ! {
    eprintln!("usage: delay_proxy --to HOST:PORT --delay-ms N [--listen ADDR]... [--log FILE]");
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut to = None;
    let mut delay = None;
    let mut listen = Vec::new();
    let mut log = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
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
        let (to, delay) = (options.to, options.delay);
        tokio::spawn(accept_loop(listener, to, delay, start, conns));
    }
    use std::io::Write as _;
    std::io::stdout().flush()?;

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let mut out = String::new();
    write_log(&mut out, &options, unix_start, start, &conns.lock().unwrap());
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
    start: Instant,
    conns: Arc<Mutex<Vec<Arc<Mutex<Conn>>>>>,
) {
    let listen = listener.local_addr().expect("bound listener has an address");
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
            let Ok(server) = TcpStream::connect(to).await else {
                conn.lock().unwrap().ended = Some(start.elapsed());
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_rd, client_wr) = client.into_split();
            let (server_rd, server_wr) = server.into_split();
            tokio::join!(
                pump(client_rd, server_wr, Dir::ClientToServer, delay, start, &conn),
                pump(server_rd, client_wr, Dir::ServerToClient, delay, start, &conn),
            );
            conn.lock().unwrap().ended = Some(start.elapsed());
        });
    }
}

/// Reads one direction and writes each chunk `delay` after it was read, in order; an end of
/// stream (or a read error) is passed on as a shutdown of the write side, delayed the same.
async fn pump(
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    dir: Dir,
    delay: Duration,
    start: Instant,
    conn: &Mutex<Conn>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>(4096);
    let writer = async move {
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
            if tx.send((now + delay, Some(buf[..n].to_vec()))).await.is_err() {
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
                last.bytes += read.bytes;
                last.reads += 1;
            }
            _ => out.push(Burst {
                at: read.at,
                dir: read.dir,
                bytes: read.bytes,
                reads: 1,
            }),
        }
    }
    out
}

fn count(bursts: &[Burst], delay: Duration) -> Counts {
    let mut counts = Counts::default();
    // When the previous client→server burst began, and the first server→client burst since
    // that could be an answer to it.
    let mut last_request: Option<Duration> = None;
    let mut answer: Option<Duration> = None;
    let mut seen_reply = false;
    for burst in bursts {
        match burst.dir {
            Dir::ServerToClient => {
                counts.s2c_bursts += 1;
                counts.s2c_bytes += burst.bytes;
                seen_reply = true;
                let can_answer = last_request.is_none_or(|req| burst.at + SLACK >= req + delay);
                if answer.is_none() && can_answer {
                    answer = Some(burst.at);
                }
            }
            Dir::ClientToServer => {
                counts.c2s_bursts += 1;
                counts.c2s_bytes += burst.bytes;
                if seen_reply {
                    counts.turns += 1;
                }
                if answer.is_some_and(|ans| burst.at + SLACK >= ans + delay) {
                    counts.waits += 1;
                }
                last_request = Some(burst.at);
                answer = None;
                seen_reply = false;
            }
        }
    }
    counts
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
        "delay_proxy to={} delay_ms={} start_unix_ms={} ran_ms={}",
        options.to,
        ms(options.delay),
        unix_start.as_millis(),
        ms(start.elapsed())
    );
    let mut total = Counts::default();
    for conn in conns {
        let conn = conn.lock().unwrap();
        let bursts = bursts(&conn.reads);
        for b in &bursts {
            let _ = writeln!(
                out,
                "burst conn={} t_ms={} dir={} bytes={} reads={}",
                conn.id,
                ms(b.at),
                b.dir.label(),
                b.bytes,
                b.reads
            );
        }
        let c = count(&bursts, options.delay);
        let _ = writeln!(
            out,
            "conn conn={} listen={} accepted_ms={} ended_ms={} bursts_c2s={} bursts_s2c={} bytes_c2s={} bytes_s2c={} turns={} waits={}",
            conn.id,
            conn.listen,
            ms(conn.accepted),
            conn.ended.map_or_else(|| "open".to_owned(), ms),
            c.c2s_bursts,
            c.s2c_bursts,
            c.c2s_bytes,
            c.s2c_bytes,
            c.turns,
            c.waits
        );
        total.turns += c.turns;
        total.waits += c.waits;
        total.c2s_bytes += c.c2s_bytes;
        total.s2c_bytes += c.s2c_bytes;
        total.c2s_bursts += c.c2s_bursts;
        total.s2c_bursts += c.s2c_bursts;
    }
    let _ = writeln!(
        out,
        "total conns={} bursts_c2s={} bursts_s2c={} bytes_c2s={} bytes_s2c={} turns={} waits={}",
        conns.len(),
        total.c2s_bursts,
        total.s2c_bursts,
        total.c2s_bytes,
        total.s2c_bytes,
        total.turns,
        total.waits
    );
}
