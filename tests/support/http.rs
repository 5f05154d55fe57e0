//! A real HTTP service on 127.0.0.1: an axum app served from a thread of its own, so a test
//! that drives gonogo synchronously can post to it or probe it.

/// Serves `app` on 127.0.0.1 at a free port, from its own thread and runtime; returns the port
/// once it listens.
pub fn serve(app: axum::Router) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr").port())
                .expect("port");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv().expect("the service started")
}
