//! The accept loop of wxpub's own HTTP servers (the preview and the sandbox): an axum router
//! served over HTTP/1.1 with a deadline for request headers.
//!
//! `axum::serve` sets no header timeout, so a client that opens a connection and never finishes
//! its headers holds a connection and a task for ever; enough of them and the server stops
//! answering. Here such a connection is closed after [`HEADER_READ_TIMEOUT`].
use std::future::Future;
use std::time::Duration;

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A server running on its own thread; dropping it stops the server and waits for the thread.
pub struct ServerThread {
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Runs `server` (given the future that completes at shutdown) on `runtime` in a thread.
    pub fn spawn<F>(
        base_url: String,
        runtime: tokio::runtime::Runtime,
        server: impl FnOnce(tokio::sync::oneshot::Receiver<()>) -> F + Send + 'static,
    ) -> ServerThread
    where
        F: Future<Output = ()>,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || runtime.block_on(server(rx)));
        ServerThread { base_url, shutdown: Some(tx), thread: Some(thread) }
    }

    /// Blocks until the server stops (Ctrl-C ends the process).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes (connections still open then are left to
/// the runtime, which the caller drops).
pub async fn serve(listener: tokio::net::TcpListener, app: axum::Router, shutdown: impl Future<Output = ()>) {
    accept(listener, shutdown, |stream| {
        tokio::spawn(serve_connection(stream, app.clone()));
    })
    .await;
}

/// [`serve`] over TLS: each connection's handshake runs in its own task (bounded by
/// [`HEADER_READ_TIMEOUT`]), so a slow or failed handshake concerns only that client.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: axum::Router,
    shutdown: impl Future<Output = ()>,
) {
    accept(listener, shutdown, |stream| {
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            if let Ok(Ok(tls)) = tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await {
                serve_connection(tls, app).await;
            }
        });
    })
    .await;
}

/// Hands each accepted connection to `on_connection` until `shutdown` completes.
async fn accept(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
    mut on_connection: impl FnMut(tokio::net::TcpStream),
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => on_connection(stream),
                // Out of file descriptors, or a connection reset before it was accepted: wait a
                // moment instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            () = &mut shutdown => return,
        }
    }
}

/// One connection, HTTP/1.1, with the header deadline.
async fn serve_connection<S>(stream: S, app: axum::Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper_util::service::TowerToHyperService::new(app);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    // A connection's own failure (a reset, a timeout) concerns only that client.
    let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).with_upgrades().await;
}
