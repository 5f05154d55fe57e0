//! The simulated hosts at run time: one thread of their own (they live beside gonogo, as real
//! hosts would), each host's app ticking every 100 ms and answering HTTP on a loopback port
//! that stands for the host's own 127.0.0.1:8000.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use tokio::sync::watch;

use super::Scenario;
use super::app::App;
use crate::transport::local::LocalPlace;

/// The port the app listens on, as the profile sees it on each host.
pub const APP_PORT: u16 = 8000;

/// The running hosts; dropping them stops them.
pub struct Hosts {
    pub places: HashMap<String, Arc<LocalPlace>>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hosts {
    /// Makes each host's home under `root` and starts its app.
    pub fn start(root: &Path, names: &[&str], scenario: Scenario) -> std::io::Result<Hosts> {
        let mut places = HashMap::new();
        let mut apps = Vec::new();
        let now = Instant::now();
        for name in names {
            let home = super::host::make(root, name, scenario)?;
            let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            listener.set_nonblocking(true)?;
            let port = listener.local_addr()?.port();
            places.insert(
                (*name).to_string(),
                Arc::new(LocalPlace {
                    home: home.clone(),
                    ports: vec![(APP_PORT, port)],
                }),
            );
            let app = Arc::new(Mutex::new(App::new(name, home, scenario, now)));
            apps.push((listener, app));
        }
        let (stop, stopped) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("demo-hosts".into())
            .spawn(move || runtime.block_on(live(apps, stopped)))?;
        Ok(Hosts {
            places,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type Shared = Arc<Mutex<App>>;

async fn live(apps: Vec<(std::net::TcpListener, Shared)>, mut stopped: watch::Receiver<bool>) {
    let mut tasks = tokio::task::JoinSet::new();
    for (listener, app) in apps {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            continue;
        };
        tasks.spawn(serve(listener, app.clone()));
        tasks.spawn(async move {
            let mut beat = tokio::time::interval(Duration::from_millis(100));
            loop {
                beat.tick().await;
                if let Ok(mut app) = app.lock() {
                    app.tick(Instant::now());
                }
            }
        });
    }
    let _ = stopped.wait_for(|s| *s).await;
    tasks.abort_all();
}

async fn serve(listener: tokio::net::TcpListener, app: Shared) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                let answer = answer(&app, request.uri().path());
                async move { Ok::<_, Infallible>(answer) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

fn answer(app: &Shared, path: &str) -> hyper::Response<Full<Bytes>> {
    let (status, body, kind) = match app.lock() {
        Err(_) => (500, String::from("the app is gone\n"), "text/plain"),
        Ok(app) => match path {
            "/health" => {
                let (status, body) = app.health();
                (status, body, "application/json")
            }
            "/metrics" => match app.metrics() {
                Some(text) => (200, text, "text/plain; version=0.0.4"),
                None => (503, "restarting\n".into(), "text/plain"),
            },
            _ => (404, "not found\n".into(), "text/plain"),
        },
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    if let Ok(kind) = hyper::header::HeaderValue::from_str(kind) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, kind);
    }
    response
}
