//! The server binary sets glibc's allocator up for a long run (arenas capped, the mapping
//! threshold fixed) by executing itself again with `GLIBC_TUNABLES`, and keeps an operator's
//! own. What glibc reads is the environment the serving process started with.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use crate::support::{server_binary, wait_ready};

/// The environment the server process serving on a fresh port started with.
async fn environment_of_server(tunables: Option<&str>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/tickete.db", dir.path().display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut command = server_binary(&database_url, port);
    command
        .env_remove("GLIBC_TUNABLES")
        .env_remove("TICKETE_ALLOCATOR_RESTARTED");
    if let Some(tunables) = tunables {
        command.env("GLIBC_TUNABLES", tunables);
    }
    let mut child = command.spawn().unwrap();
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    // The process answering is the one spawned: executing again keeps its id.
    let environment = std::fs::read(format!("/proc/{}/environ", child.id().unwrap())).unwrap();
    child.kill().await.unwrap();
    environment
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn the_server_runs_with_arenas_capped_and_the_mapping_threshold_fixed() {
    let environment = environment_of_server(None).await;
    // glibc 2.36 splits the variable at its colons where it lies: look for each part.
    assert!(contains(
        &environment,
        "GLIBC_TUNABLES=glibc.malloc.arena_max="
    ));
    assert!(contains(&environment, "glibc.malloc.mmap_threshold=131072"));
    assert!(contains(&environment, "TICKETE_ALLOCATOR_RESTARTED=1"));
}

#[tokio::test]
async fn an_operators_own_tunables_are_kept() {
    let environment = environment_of_server(Some("glibc.malloc.arena_max=3")).await;
    assert!(contains(
        &environment,
        "GLIBC_TUNABLES=glibc.malloc.arena_max=3\0"
    ));
    assert!(!contains(&environment, "mmap_threshold"));
    assert!(!contains(&environment, "TICKETE_ALLOCATOR_RESTARTED"));
}
