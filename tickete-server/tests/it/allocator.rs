//! The server binary sets glibc's allocator up in process (arenas capped, the mapping
//! threshold fixed) and says so in its log; it serves from the process it was started as, with
//! the environment it was given; an operator's own `GLIBC_TUNABLES` are left to glibc.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::Stdio;

use tokio::io::AsyncReadExt;

use crate::support::{server_binary, wait_ready};

/// Starts the server with `GLIBC_TUNABLES` as given (or unset); returns the environment it was
/// given, the one its serving process started with, and its log.
async fn run_server(
    tunables: Option<&str>,
) -> (
    BTreeMap<OsString, OsString>,
    BTreeMap<OsString, OsString>,
    String,
) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/tickete.db", dir.path().display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut command = server_binary(&database_url, port);
    command
        .env_remove("GLIBC_TUNABLES")
        .env("RUST_LOG", "tickete_server::allocator=info")
        .env("TICKETE_LOG_FORMAT", "text")
        .stdout(Stdio::piped());
    if let Some(tunables) = tunables {
        command.env("GLIBC_TUNABLES", tunables);
    }
    let mut given: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    for (name, value) in command.as_std().get_envs() {
        match value {
            Some(value) => given.insert(name.to_owned(), value.to_owned()),
            None => given.remove(name),
        };
    }
    let mut child = command.spawn().unwrap();
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    // Executing itself again (as the server once did, to hand glibc its tunables) would show
    // here: the kernel keeps the environment the process image started with.
    let environment = std::fs::read(format!("/proc/{}/environ", child.id().unwrap())).unwrap();
    let serving = environment
        .split(|&byte| byte == 0)
        .filter(|variable| !variable.is_empty())
        .map(|variable| {
            let at = variable.iter().position(|&byte| byte == b'=').unwrap();
            (
                OsString::from_vec(variable[..at].to_vec()),
                OsString::from_vec(variable[at + 1..].to_vec()),
            )
        })
        .collect();
    child.kill().await.unwrap();
    let mut log = String::new();
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_to_string(&mut log).await.unwrap();
    (given, serving, log)
}

#[tokio::test]
async fn the_server_caps_arenas_and_fixes_the_mapping_threshold_in_process() {
    let (given, serving, log) = run_server(None).await;
    assert_eq!(serving, given);
    let cores = std::thread::available_parallelism().unwrap();
    assert!(
        log.contains(&format!(
            "allocator tuned arena_max={cores} mmap_threshold=131072"
        )),
        "{log}"
    );
}

#[tokio::test]
async fn an_operators_own_tunables_are_kept() {
    let (given, serving, log) = run_server(Some("glibc.malloc.arena_max=3")).await;
    assert_eq!(serving, given);
    assert!(
        log.contains("the operator's GLIBC_TUNABLES kept tunables=glibc.malloc.arena_max=3"),
        "{log}"
    );
    assert!(!log.contains("allocator tuned"), "{log}");
}
