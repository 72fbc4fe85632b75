//! The HTTP listener: hyper's HTTP/1 server with a header-read timeout (which also closes idle
//! keep-alive connections), a cap on open connections, and the SPEC error body on what hyper
//! itself refuses (400 for a malformed request line, 414, 431) or gives up on (408).
//!
//! `axum::serve` has neither a header timeout nor a connection cap: a client that opens
//! connections and never finishes a request (slowloris) kept each one open until the process
//! ran out of file descriptors.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::error::ErrorBody;

/// Longest a client may take to send a request's line and headers, and longest a keep-alive
/// connection may sit idle between requests.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request head (request line and headers) hyper buffers; what is larger is refused
/// with 431 before it is parsed. The router's own limits ([`crate::router::MAX_URI_BYTES`],
/// [`crate::router::MAX_HEADER_BYTES`]) are lower and answer first.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Limits of the HTTP listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Connections open at once; further clients wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            header_read_timeout: HEADER_READ_TIMEOUT,
        }
    }
}

/// Three quarters of the process's open-file limit (the rest stays free for the store, the
/// partner client and logs), between 64 and 8192; 1024 when the limit cannot be read.
pub fn default_max_connections() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| open_files_limit(&limits))
        .map_or(1024, |limit| (limit / 4 * 3).clamp(64, 8192))
}

/// The soft "Max open files" of a `/proc/<pid>/limits` text (`unlimited` counts as large).
fn open_files_limit(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    match line["Max open files".len()..].split_whitespace().next()? {
        "unlimited" => Some(usize::MAX),
        soft => soft.parse().ok(),
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets requests in
/// progress finish and closes every connection.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a handshake aborted: back off rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let stream = Arc::new(stream);
        let state = Arc::new(ConnectionState::default());
        let io = GuardedIo {
            stream: Arc::clone(&stream),
            state: Arc::clone(&state),
            replacement: None,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        metrics::gauge!("tickete_http_connections_open").increment(1.0);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection closed on an error");
                let refused = if error.is_timeout() {
                    state.request_started().then(|| {
                        refuse(
                            &stream,
                            StatusCode::REQUEST_TIMEOUT,
                            "the request headers did not arrive in time; send the whole request at once",
                        );
                    })
                } else {
                    Some(())
                };
                if refused.is_some() {
                    linger(&stream).await;
                }
            }
            metrics::gauge!("tickete_http_connections_open").decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// What the listener knows about one connection.
#[derive(Debug, Default)]
struct ConnectionState {
    /// Bytes came in since the last bytes went out: a request has begun and is unanswered.
    unanswered: AtomicBool,
}

impl ConnectionState {
    fn request_started(&self) -> bool {
        self.unanswered.load(Ordering::Relaxed)
    }
}

/// Most bytes one read takes off the socket: a request head usually fits (hyper reads again
/// for the rest of one that does not).
const READ_CHUNK_BYTES: usize = 2048;

/// The socket as hyper sees it, shared with the connection's task so that task can still
/// answer 408 after hyper gave up on the request; rewrites hyper's own body-less refusals.
struct GuardedIo {
    stream: Arc<TcpStream>,
    state: Arc<ConnectionState>,
    /// A SPEC-shaped refusal being written in place of hyper's, and the length of hyper's.
    replacement: Option<(Vec<u8>, usize, usize)>,
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            // Only a chunk of hyper's buffer is zeroed (safe code must initialise what it
            // hands to `read`): hyper offers its whole spare capacity, a fresh 8 KiB buffer
            // for each request, and zeroing all of it on every read was CPU for nothing.
            let chunk = buf.remaining().min(READ_CHUNK_BYTES);
            match self.stream.try_read(buf.initialize_unfilled_to(chunk)) {
                Ok(read) => {
                    if read > 0 {
                        self.state.unanswered.store(true, Ordering::Relaxed);
                    }
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacement.is_none() {
            if let Some((status, bytes)) = replace_hyper_refusal(buf) {
                metrics::counter!("tickete_http_refused_total", "status" => status.as_str().to_owned())
                    .increment(1);
                this.replacement = Some((bytes, 0, buf.len()));
            }
        }
        if let Some((bytes, written, reported)) = &mut this.replacement {
            while *written < bytes.len() {
                ready!(this.stream.poll_write_ready(cx))?;
                match this.stream.try_write(&bytes[*written..]) {
                    Ok(n) => *written += n,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(error) => return Poll::Ready(Err(error)),
                }
            }
            let reported = *reported;
            this.replacement = None;
            this.state.unanswered.store(false, Ordering::Relaxed);
            return Poll::Ready(Ok(reported));
        }
        loop {
            ready!(this.stream.poll_write_ready(cx))?;
            match this.stream.try_write(buf) {
                Ok(written) => {
                    if written > 0 {
                        this.state.unanswered.store(false, Ordering::Relaxed);
                    }
                    return Poll::Ready(Ok(written));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let socket = socket2::SockRef::from(self.stream.as_ref());
        match socket.shutdown(std::net::Shutdown::Write) {
            Err(error) if error.kind() != io::ErrorKind::NotConnected => Poll::Ready(Err(error)),
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// hyper answers a request it cannot parse itself, with an empty body: 400 (malformed request
/// line or header, e.g. bytes that are not ASCII), 414 (URI over 64 KiB) or 431 (head over
/// [`MAX_HEAD_BYTES`] or over 100 headers). The router's error responses always have a body,
/// so a body-less 400/414/431 head is hyper's, and is replaced by the SPEC error.
fn replace_hyper_refusal(buf: &[u8]) -> Option<(StatusCode, Vec<u8>)> {
    let (status, message) = if buf.starts_with(b"HTTP/1.1 400 ") {
        (
            StatusCode::BAD_REQUEST,
            "the request could not be parsed: expected `METHOD /path HTTP/1.1` in ASCII, then `Name: value` headers",
        )
    } else if buf.starts_with(b"HTTP/1.1 414 ") {
        (
            StatusCode::URI_TOO_LONG,
            "the request URI is too long (limit 8 KiB)",
        )
    } else if buf.starts_with(b"HTTP/1.1 431 ") {
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "the request line and headers are too large (limit 100 headers, 32 KiB of headers, 8 KiB of URI)",
        )
    } else {
        return None;
    };
    let head = std::str::from_utf8(buf).ok()?.to_ascii_lowercase();
    let bodyless = head.ends_with("\r\n\r\n")
        && head.matches("\r\n\r\n").count() == 1
        && head.contains("\r\ncontent-length: 0\r\n");
    bodyless.then(|| (status, error_response(status, message)))
}

/// A complete `Connection: close` response with the SPEC error body.
pub(crate) fn error_response(status: StatusCode, message: &str) -> Vec<u8> {
    let body = serde_json::to_vec(&ErrorBody {
        status_code: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error").to_owned(),
        message: message.to_owned(),
    })
    .expect("the error body serialises");
    let mut response = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    response
}

/// How long a refused connection is drained before it is closed.
const LINGER: Duration = Duration::from_secs(2);

/// Most bytes drained from a refused connection.
const LINGER_BYTES: usize = 256 * 1024;

/// Closes our side for writing, then reads and drops what the client is still sending, for a
/// short while, before the socket is closed. Closing with unread bytes would send a reset,
/// which can make the client lose the refusal it has not read yet.
async fn linger(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write);
    let mut scratch = [0u8; 4096];
    let mut left = LINGER_BYTES;
    let _ = tokio::time::timeout(LINGER, async {
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            match stream.try_read(&mut scratch) {
                Ok(0) => return,
                Ok(read) => left = left.saturating_sub(read),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(_) => return,
            }
            if left == 0 {
                return;
            }
        }
    })
    .await;
}

/// Best effort: the connection is closing and nothing else is being written to it.
fn refuse(stream: &TcpStream, status: StatusCode, message: &str) {
    metrics::counter!("tickete_http_refused_total", "status" => status.as_str().to_owned())
        .increment(1);
    let _ = stream.try_write(&error_response(status, message));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_files_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max cpu time              unlimited            unlimited            seconds\n\
                      Max open files            20000                20000                files\n";
        assert_eq!(open_files_limit(limits), Some(20_000));
        assert_eq!(
            open_files_limit("Max open files unlimited unlimited files"),
            Some(usize::MAX)
        );
        assert_eq!(open_files_limit("nothing"), None);
        assert!((64..=8192).contains(&default_max_connections()));
    }

    #[test]
    fn only_bodyless_refusals_are_replaced() {
        let hyper_414 = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Sat, 21 Nov 2026 21:00:00 GMT\r\n\r\n";
        let (status, replaced) = replace_hyper_refusal(hyper_414).unwrap();
        assert_eq!(status, StatusCode::URI_TOO_LONG);
        let replaced = String::from_utf8(replaced).unwrap();
        assert!(
            replaced.starts_with("HTTP/1.1 414 URI Too Long\r\n"),
            "{replaced}"
        );
        assert!(replaced.ends_with(r#""statusCode":414,"error":"URI Too Long","message":"the request URI is too long (limit 8 KiB)"}"#), "{replaced}");
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 70\r\n\r\n{}";
        assert_eq!(replace_hyper_refusal(ours), None);
        assert_eq!(
            replace_hyper_refusal(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            None
        );
    }
}
