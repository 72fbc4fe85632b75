//! Webhooks from the dashboard, in a real browser: add one (its secret shown once), see its
//! deliveries, retry one, disable it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fantoccini::Locator;

use super::browser::Browser;
use super::flows::sign_in;
use crate::support::{Options, TestServer, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_managed_from_the_dashboard() {
    let Some(browser) = Browser::start("dashboard webhooks").await else {
        return;
    };
    let server = TestServer::start(Options {
        webhook_allow_private: true,
        ..Options::default()
    })
    .await;
    // A receiver that refuses everything, so deliveries stay to be retried.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", receiver.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { axum::http::StatusCode::SERVICE_UNAVAILABLE }
        }),
    );
    tokio::spawn(async move { axum::serve(receiver, app).await });

    sign_in(&browser, &server, TOKEN).await;
    browser.click("a[href='/admin/webhooks']").await;
    browser.wait_text("p.muted", "No webhooks yet").await;
    let form = browser
        .client
        .find(Locator::Id("add-webhook"))
        .await
        .unwrap();
    form.find(Locator::Css("input[name=url]"))
        .await
        .unwrap()
        .send_keys(&hook_url)
        .await
        .unwrap();
    form.find(Locator::Css("input[name=description]"))
        .await
        .unwrap()
        .send_keys("test receiver")
        .await
        .unwrap();
    browser.click("#add-webhook button").await;
    browser.wait_text("#webhook-secret code", "whsec_").await;
    browser.screenshot("webhook-created").await;
    // The secret is on that answer only: the list shows no secret when opened again.
    browser.open(&server.url("/admin/webhooks")).await;
    assert!(!browser.text().await.contains("whsec_"));

    // A sync produces availability changes; their deliveries are listed and can be retried.
    server.sync_days(1).await;
    let link = browser
        .client
        .find(Locator::Css("table.webhooks td a"))
        .await
        .unwrap();
    link.click().await.unwrap();
    browser.wait_text("h1", "Webhook wh_").await;
    let mut listed = false;
    for _ in 0..100 {
        browser.client.refresh().await.unwrap();
        if browser.text().await.contains("availability.changed") {
            listed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listed, "no delivery listed:\n{}", browser.text().await);
    browser.screenshot("webhook-deliveries").await;
    browser.click("table.deliveries button").await;
    browser
        .wait_text(".flash.done", "will be attempted again now")
        .await;

    // Disable it from the list.
    browser.click("a[href='/admin/webhooks']").await;
    browser.click("table.webhooks button.toggle").await;
    browser.wait_text(".flash.done", "disabled").await;
    let (_, hooks) = server
        .admin(reqwest::Method::GET, "/api/v1/admin/webhooks", None)
        .await;
    assert_eq!(hooks["data"][0]["enabled"], false, "{hooks}");
    assert_eq!(hooks["data"][0]["description"], "test receiver");
    browser.screenshot("webhooks").await;

    browser.close().await;
    server.stop().await;
}
