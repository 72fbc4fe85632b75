//! What an operator trusts the dashboard with, in a real browser: the budget's use over the
//! last hour and the demand moving live, a copied cookie dead after sign-out, a webhook
//! edited from its page.

use fantoccini::Locator;
use serde_json::json;

use super::browser::Browser;
use super::flows::sign_in;
use crate::support::{Options, TestServer, TOKEN};

/// The text of the first element matching `css`.
async fn text_of(browser: &Browser, css: &str) -> String {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The browser's cookies for the page it is on, as a `Cookie` header value.
async fn captured_cookie(browser: &Browser) -> String {
    let cookies = browser.client.get_all_cookies().await.unwrap();
    let pairs: Vec<String> = cookies
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect();
    pairs.join("; ")
}

/// The status of `GET {base}/admin` sent with `cookie` by another client (redirects not
/// followed): 200 signed in, 303 to the sign-in page.
async fn overview_status(base: &str, cookie: &str) -> u16 {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}/admin"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_chart_and_the_demand_follow_the_partner_calls_live() {
    let Some(browser) = Browser::start("dashboard budget chart").await else {
        return;
    };
    let server = TestServer::start(Options::default()).await;
    sign_in(&browser, &server, TOKEN).await;
    browser
        .wait_text("#budget-use figcaption", "0 in all")
        .await;
    assert_eq!(text_of(&browser, "[data-live=demandCalls]").await, "0");
    let bars = browser
        .client
        .find_all(Locator::Css("#budget-chart rect.bar"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 60, "a bar a minute for the last hour");

    // With the page open (no reload), a sync spends calls and a job sets a target: the
    // chart's last bar rises and the demand card moves by the live figures alone.
    let run = server.sync_days(2).await;
    server.wait_run(run["id"].as_i64().unwrap()).await;
    let (status, _) = server
        .admin(
            reqwest::Method::PUT,
            "/api/v1/admin/cron/toggle",
            Some(json!({"name": "sync-today", "status": true})),
        )
        .await;
    assert_eq!(status, 200);
    // At least the run's 4 calls (2 products × 2 days); early refreshes may add more.
    let mut calls = 0;
    for _ in 0..100 {
        calls = text_of(&browser, "[data-live=callsHour]")
            .await
            .parse()
            .unwrap();
        if calls >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(calls >= 4, "the chart counted {calls} calls");
    let last = browser
        .client
        .find(Locator::Css("#budget-chart rect[data-minute='59']"))
        .await
        .unwrap();
    let height: f64 = last.attr("height").await.unwrap().unwrap().parse().unwrap();
    assert!(height > 0.0, "the current minute's bar shows its calls");
    let mut demand = String::new();
    for _ in 0..100 {
        demand = text_of(&browser, "[data-live=demandCalls]").await;
        if demand != "0" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_ne!(
        demand, "0",
        "the demand card did not follow the enabled job"
    );
    // Only the server's own origin was reached: the chart is drawn, not fetched.
    for url in browser.loaded_urls().await {
        assert!(url.starts_with(&server.base), "loaded {url}");
    }
    browser.screenshot("budget-chart").await;
    browser.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_captured_before_sign_out_is_refused_after_it() {
    let Some(browser) = Browser::start("dashboard sign-out").await else {
        return;
    };
    let server = TestServer::start(Options::default()).await;
    sign_in(&browser, &server, TOKEN).await;
    browser.wait_text("h1", "Overview").await;
    let captured = captured_cookie(&browser).await;
    assert_eq!(
        overview_status(&server.base, &captured).await,
        200,
        "the copy works while signed in"
    );
    browser.click("#sign-out").await;
    browser.wait_text("h1", "Sign in").await;
    assert_eq!(
        overview_status(&server.base, &captured).await,
        303,
        "a copy of the cookie is refused once its session is signed out"
    );
    browser.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_edited_from_its_page() {
    let Some(browser) = Browser::start("dashboard webhook edit").await else {
        return;
    };
    let server = TestServer::start(Options::default()).await;
    let (status, created) = server
        .admin(
            reqwest::Method::POST,
            "/api/v1/admin/webhooks",
            Some(json!({"url": "https://93.184.216.34/hook", "description": "old"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    sign_in(&browser, &server, TOKEN).await;
    browser
        .open(&server.url(&format!("/admin/webhooks/{id}")))
        .await;
    let form = browser
        .client
        .find(Locator::Id("edit-webhook"))
        .await
        .unwrap();
    for (name, value) in [
        ("url", "https://93.184.216.35/new"),
        ("events", "sync.run.finished"),
        ("description", "pricing team"),
    ] {
        let field = form
            .find(Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }
    browser.click("#edit-webhook button").await;
    browser.wait_text(".flash.done", "saved").await;
    browser.screenshot("webhook-edited").await;
    let stored = server.webhook(&id).await;
    assert_eq!(stored["url"], "https://93.184.216.35/new");
    assert_eq!(stored["events"], json!(["sync.run.finished"]));
    assert_eq!(stored["description"], "pricing team");
    browser.close().await;
    server.stop().await;
}

/// Two replicas on Postgres share the sessions: a browser signs in on one and out on it, and
/// a copy of its cookie is refused by the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_signed_out_on_one_replica_is_refused_by_another() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: TICKETE_TEST_POSTGRES_URL is not set");
        return;
    };
    let Some(browser) = Browser::start("dashboard sign-out on replicas").await else {
        return;
    };
    let database = crate::support::Database::create(&base).await;
    let partner = "http://127.0.0.1:9";
    let one = crate::replicas::start_replica_at(&database.url, partner, 30).await;
    let two = crate::replicas::start_replica_at(&database.url, partner, 30).await;
    browser.open(&format!("{}/admin/login", one.base)).await;
    let field = browser.client.find(Locator::Id("token")).await.unwrap();
    field.send_keys(TOKEN).await.unwrap();
    browser.click("#sign-in").await;
    browser.wait_text("h1", "Overview").await;
    let captured = captured_cookie(&browser).await;
    assert_eq!(overview_status(&two.base, &captured).await, 200);
    browser.click("#sign-out").await;
    browser.wait_text("h1", "Sign in").await;
    assert_eq!(
        overview_status(&two.base, &captured).await,
        303,
        "the other replica refuses the signed-out session"
    );
    browser.close().await;
    drop((one, two));
    database.drop().await;
}
