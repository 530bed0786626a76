//! The emulator's server loop: hyper directly (not `axum::serve`), because two faults need
//! the connection itself, not the response:
//!
//! - a request may end its connection without an answer ([`Hangup`], used by
//!   `Fault::ResetAfterRead` and `Fault::CloseBeforeAnswer`), with a TCP reset or a plain
//!   close;
//! - a restart ([`crate::emulator::EmulatorHandle::restart`]) drops every connection at
//!   once, as a killed process does, and stops listening for a while.
//!
//! Each life of the server has one [`CancellationToken`]; each connection a child of it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// How long a graceful stop lets in-flight requests finish.
const GRACE: Duration = Duration::from_secs(5);

/// One connection's way out: ends it without an answer. Every request carries its
/// connection's in its extensions.
#[derive(Clone, Debug)]
pub(crate) struct Hangup(Arc<Cut>);

#[derive(Debug)]
struct Cut {
    token: CancellationToken,
    /// Close with `SO_LINGER` 0: the peer gets a TCP reset instead of an orderly close.
    reset: AtomicBool,
}

impl Hangup {
    /// Ends the connection now: `reset` sends a TCP RST, otherwise a FIN. Whatever the
    /// request's handler was doing is dropped with it.
    pub(crate) fn cut(&self, reset: bool) {
        self.0.reset.store(reset, Ordering::Relaxed);
        self.0.token.cancel();
    }
}

/// The socket, closed with a reset when its [`Cut`] says so.
struct Socket {
    tcp: TcpStream,
    cut: Arc<Cut>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        if self.cut.reset.load(Ordering::Relaxed) {
            // Best effort: without it the close is an orderly FIN.
            let _ = self.tcp.set_zero_linger();
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `stop` resolves (then in-flight requests get
/// [`GRACE`] to finish) or `life` is cancelled (then every connection is dropped at once).
/// Sockets get `TCP_NODELAY` (small answers, no Nagle delay).
pub(crate) async fn serve(
    router: Router,
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send,
    life: CancellationToken,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).keep_alive(true);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
            () = life.cancelled() => return Ok(()),
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let cut = Arc::new(Cut {
            token: life.child_token(),
            reset: AtomicBool::new(false),
        });
        let hangup = Hangup(cut.clone());
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: http::Request<_>| {
            req.extensions_mut().insert(hangup.clone());
            tower::ServiceExt::oneshot(router.clone(), req)
        });
        let token = cut.token.clone();
        let conn = http.serve_connection(TokioIo::new(Socket { tcp, cut }), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            tokio::select! {
                _ = conn => {}
                // Dropping the connection drops its socket (and any handler in progress).
                () = token.cancelled() => {}
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        life.cancel();
    }
    Ok(())
}
