//! Slowloris: requests whose headers never finish get a 408 after the header
//! timeout, and connections over the cap wait until one closes instead of starving the server.

use std::io::ErrorKind;
use std::time::Duration;

use axum::routing::get;
use tickete_server::serve::{serve, ServeLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::hardening::{assert_spec_error, read_response};

/// A router with one route, served with `limits`, on a paused clock.
async fn small_server(limits: ServeLimits) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let app = axum::Router::new().route("/healthz", get(|| async { "ok" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    (address, stop)
}

/// Connections that sent part of a request stayed open forever.
/// After the header timeout they get a 408 with the SPEC body and are closed.
#[tokio::test(start_paused = true)]
async fn half_open_requests_get_408_after_the_header_timeout() {
    let limits = ServeLimits {
        max_connections: 64,
        header_read_timeout: Duration::from_secs(10),
    };
    let (address, _stop) = small_server(limits).await;
    // An idle keep-alive connection (no request begun).
    let idle = TcpStream::connect(&address).await.unwrap();
    let mut half_open = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        half_open.push(stream);
    }
    let started = tokio::time::Instant::now();
    for stream in &mut half_open {
        let (status, body) = read_response(stream).await;
        assert_spec_error(status, &body, 408, "did not arrive in time");
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "{waited:?}"
    );
    // The idle connection is closed without a 408. Its header timeout has run out by now on
    // the paused clock, but the close reaches this end in real time: a process that another
    // test spawns in that moment holds a copy of the server's socket until it executes. A
    // paused-clock timeout jumped past that at once (CI failed on it), so the wait for the
    // close is on the real clock.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = idle.into_std().unwrap();
    idle.set_nonblocking(false).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buffer = Vec::new();
    let closed = std::io::Read::read_to_end(&mut &idle, &mut buffer);
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "the idle connection was not closed: {closed:?}"
    );
    assert!(buffer.is_empty(), "{:?}", String::from_utf8_lossy(&buffer));
}

/// 19,980 half-open connections exhausted the file descriptors. Connections
/// beyond the cap wait in the backlog until one closes, and are then served.
#[tokio::test(start_paused = true)]
async fn connections_over_the_cap_wait_until_one_closes() {
    let limits = ServeLimits {
        max_connections: 3,
        header_read_timeout: Duration::from_secs(600),
    };
    let (address, _stop) = small_server(limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(b"GET /heal").await.unwrap();
        held.push(stream);
    }
    let mut waiting = TcpStream::connect(&address).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_secs(60), waiting.read(&mut first)).await;
    assert!(
        early.is_err(),
        "a fourth connection is not served while three are open"
    );
    drop(held.pop());
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), waiting.read_to_end(&mut response))
        .await
        .expect("served once a slot freed")
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("ok"), "{text}");
}
