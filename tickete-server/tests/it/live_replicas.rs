//! Live reads across real replicas on Postgres: readers of one pair on two replicas cause one
//! partner call between them, and the cluster stays within the partner's budget.

use std::time::Duration;

use tickete_partner_sim::{SimConfig, Simulator};

use crate::replicas::{seed_with_jobs_disabled, serve, start_replica_at, PRODUCTS};
use crate::support::{today, Database};

#[tokio::test]
async fn readers_of_one_pair_on_two_replicas_cause_one_partner_call() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: TICKETE_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = Database::create(&base).await;
    seed_with_jobs_disabled(
        &database.url,
        &["sync-today", "sync-next-7-days", "sync-next-30-days"],
    )
    .await;
    let sim = Simulator::new(SimConfig {
        rate_limit: 60,
        change_rate: 0.0,
        ..SimConfig::default()
    })
    .unwrap();
    let sim_url = serve(&sim).await;
    // One call a second for the cluster.
    let replicas = [
        start_replica_at(&database.url, &sim_url, 60).await,
        start_replica_at(&database.url, &sim_url, 60).await,
    ];

    let date = today() + chrono::Days::new(3);
    let http = reqwest::Client::new();
    let readers: Vec<_> = (0..10)
        .map(|n| {
            let url = format!(
                "{}/api/v1/experience/2/slots?date={date}",
                replicas[n % 2].base
            );
            let http = http.clone();
            tokio::spawn(async move {
                http.get(url)
                    .header("cache-control", "max-age=0")
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for reader in readers {
        let response = reader.await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers().get("tickete-freshness").is_none(),
            "{:?}",
            response.headers()
        );
        // Fetched since the request came in: by this replica (`Age: 0`), or by the other one
        // a pacing turn earlier.
        let age: u64 = response.headers()["age"].to_str().unwrap().parse().unwrap();
        assert!(age <= 2, "age {age}");
        bodies.push(response.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    let calls = sim
        .stats()
        .days
        .iter()
        .filter(|day| day.product_id == 2 && day.date == date)
        .map(|day| day.fetches)
        .sum::<u64>();
    assert_eq!(calls, 1, "one partner call for the two replicas' readers");

    // Readers of many pairs on both replicas: the cluster keeps to the partner's limit.
    for n in 0..24u64 {
        let replica = &replicas[(n % 2) as usize];
        let date = today() + chrono::Days::new(4 + n % 12);
        let product = 1 + n % 6;
        let response = http
            .get(format!(
                "{}/api/v1/experience/{product}/slots?date={date}",
                replica.base
            ))
            .header("cache-control", "max-age=0")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = sim.stats();
    assert_eq!(stats.rate_limited, 0);
    assert!(
        stats.max_requests_in_60s <= 60,
        "{}",
        stats.max_requests_in_60s
    );
    database.drop().await;
}

/// The live share is the deployment's: two replicas together start no more live fetches a
/// minute than `TICKETE_LIVE_SHARE` of the rate; the rest answer `budget`.
#[tokio::test]
async fn the_live_share_holds_for_the_replicas_together() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: TICKETE_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = Database::create(&base).await;
    let sim = Simulator::new(SimConfig {
        rate_limit: 0,
        change_rate: 0.0,
        ..SimConfig::default()
    })
    .unwrap();
    let sim_url = serve(&sim).await;
    // 600 calls a minute, a share of 0.01: six live fetches a minute for the cluster.
    let start = |url: String, sim_url: String| async move {
        let port = crate::replicas::free_port().await;
        let child = crate::support::server_binary(&url, port)
            .env("TICKETE_PARTNER_URL", &sim_url)
            .env("TICKETE_PARTNER_RATE_PER_MINUTE", "600")
            .env("TICKETE_PRODUCTS", PRODUCTS)
            .env("TICKETE_PUBLIC_RATE_PER_MINUTE", "0")
            .env("TICKETE_LIVE_SHARE", "0.01")
            .env("TICKETE_LIVE_PER_CLIENT_PER_MINUTE", "100")
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        crate::support::wait_ready(&base).await;
        (base, child)
    };
    let one = start(database.url.clone(), sim_url.clone()).await;
    let two = start(database.url.clone(), sim_url.clone()).await;
    let http = reqwest::Client::new();
    let mut freshness = Vec::new();
    for n in 0..12u64 {
        let base = if n % 2 == 0 { &one.0 } else { &two.0 };
        let date = today() + chrono::Days::new(20 + n);
        let response = http
            .get(format!("{base}/api/v1/experience/3/slots?date={date}"))
            .header("cache-control", "max-age=0")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        freshness.push(
            response
                .headers()
                .get("tickete-freshness")
                .map(|value| value.to_str().unwrap().to_owned()),
        );
    }
    let fetched = freshness.iter().filter(|f| f.is_none()).count();
    let refused = freshness
        .iter()
        .filter(|f| f.as_deref() == Some("budget"))
        .count();
    assert_eq!((fetched, refused), (6, 6), "{freshness:?}");
    drop((one, two));
    database.drop().await;
}
