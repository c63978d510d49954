//! The accept loop: hyper's connection builder instead of `axum::serve`,
//! for what that does not offer — a deadline on reading a request's headers
//! (a client that trickles them in, or opens a connection and sends nothing,
//! is cut off) — and graceful shutdown of every connection.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The deadlines of a connection's life.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Headers must arrive within this, from connecting or the last response.
    pub header_timeout: Duration,
    /// After `shutdown`, requests in flight may take this long; then they are cut off.
    pub shutdown_grace: Duration,
}

/// Serves `router` on `listener` until `shutdown`, then takes no new
/// connection and lets requests in flight finish within the grace.
pub async fn serve(listener: TcpListener, router: Router, timing: Timing, shutdown: impl Future<Output = ()>) {
    let header_timeout = timing.header_timeout;
    // HTTP/1.1 only (as behind the proxy): guessing the version first would
    // wait for bytes without a deadline.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "server.accept_failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // hyper's deadline runs from the first byte; this one covers a
            // connection that sends nothing at all.
            if tokio::time::timeout(header_timeout, stream.peek(&mut [0; 1]))
                .await
                .is_err()
            {
                return;
            }
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
            let conn = watcher.watch(conn.into_owned());
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "server.connection_ended");
            }
        });
    }
    drop(listener);
    tracing::info!(grace_s = timing.shutdown_grace.as_secs(), "server.draining");
    if tokio::time::timeout(timing.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = timing.shutdown_grace.as_secs(),
            "server.shutdown_grace_exceeded"
        );
    }
    tracing::info!("server.stopped");
}
