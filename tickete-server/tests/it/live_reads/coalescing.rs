//! Concurrent live reads of one (product, date) share a single partner call.

use std::time::{Duration, Instant};

use tickete_core::testing::assert_served_slots;
use tickete_partner_sim::SimConfig;

use super::{fetches_of, id, open_day, read, slots_path, MAX_AGE_0};
use crate::support::{Options, Partner, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_readers_of_one_pair_cause_one_partner_call() {
    let started = Instant::now();
    let server = TestServer::start(Options {
        partner: Partner::Sim(SimConfig {
            rate_limit: 0,
            change_rate: 0.0,
            // Long enough that every reader arrives while the one call is in flight.
            latency: Duration::from_millis(500),
            ..SimConfig::default()
        }),
        ..Options::default()
    })
    .await;
    let sim = server.sim.clone().unwrap();
    let date = open_day(&sim, 14, 4);
    let path = slots_path(14, date);
    let readers = (0..30).map(|_| read(&server, &path, &[MAX_AGE_0]));
    let answers = futures::future::join_all(readers).await;
    for (reader, answer) in answers.iter().enumerate() {
        assert_eq!(answer.status, 200, "reader {reader}: {}", answer.body);
        assert_eq!(answer.freshness, None, "reader {reader}: {answer:?}");
        assert_eq!(answer.age, Some(0), "reader {reader}");
        assert_eq!(
            answer.body, answers[0].body,
            "reader {reader}: the same body"
        );
    }
    assert_served_slots(
        &answers[0].slots(),
        &sim.day(id(14), date).unwrap(),
        "shared read",
    );
    let stats = sim.stats();
    assert_eq!(fetches_of(&sim, 14, date), 1, "one call for the pair");
    assert_eq!(stats.requests, 1, "one partner call in all: {stats:?}");
    server.stop().await;
    eprintln!("ten_concurrent_readers: {:?}", started.elapsed());
}
