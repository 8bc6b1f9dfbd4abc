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

/// Serves `app` on `listener` until `shutdown` completes (connections still open then are left to
/// the runtime, which the caller drops).
pub async fn serve(listener: tokio::net::TcpListener, app: axum::Router, shutdown: impl Future<Output = ()>) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors, or a connection reset before it was accepted: wait a
                // moment instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
            // A connection's own failure (a reset, a timeout) concerns only that client.
            let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).with_upgrades().await;
        });
    }
}
