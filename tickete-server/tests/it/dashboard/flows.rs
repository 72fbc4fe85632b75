//! The dashboard in a real browser against the real server and the partner simulator.

use fantoccini::Locator;

use super::browser::Browser;
use crate::support::{today, Options, TestServer, TOKEN};

/// Signs in through the form.
pub async fn sign_in(browser: &Browser, server: &TestServer, token: &str) {
    browser.open(&server.url("/admin/login")).await;
    let field = browser.client.find(Locator::Id("token")).await.unwrap();
    field.send_keys(token).await.unwrap();
    browser.click("#sign-in").await;
}

/// Every URL the current page loaded is on the server's own origin.
async fn assert_only_own_origin(browser: &Browser, server: &TestServer, page: &str) {
    let urls = browser.loaded_urls().await;
    assert!(!urls.is_empty(), "{page}: no performance entries");
    for url in urls {
        assert!(
            url.starts_with(&server.base) || url.starts_with("data:"),
            "{page} loaded {url} from another host"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_runs_the_service_from_the_dashboard() {
    let Some(browser) = Browser::start("dashboard walkthrough").await else {
        return;
    };
    let server = TestServer::start(Options::default()).await;

    // A wrong token is refused with a clear message; the dashboard stays closed.
    sign_in(&browser, &server, "not-the-token").await;
    browser
        .wait_text("#login-error", "the admin token is wrong")
        .await;
    browser.screenshot("login-refused").await;
    browser.open(&server.url("/admin")).await;
    assert!(browser.client.current_url().await.unwrap().path() == "/admin/login");

    // Signed in: the overview with its live figures.
    sign_in(&browser, &server, TOKEN).await;
    browser.wait_text("[data-live=state]", "Running").await;
    browser.wait_text("h2", "Partner budget").await;
    assert_only_own_origin(&browser, &server, "overview").await;

    // Jobs: all three listed; enable then disable one.
    browser.click("a[href='/admin/jobs']").await;
    for job in ["sync-today", "sync-next-7-days", "sync-next-30-days"] {
        browser.wait_text(&format!("#job-{job} h2"), job).await;
    }
    browser
        .wait_text("#job-sync-today [data-job-state]", "disabled")
        .await;
    browser.click("#job-sync-today button.toggle").await;
    browser
        .wait_text(".flash.done", "Job sync-today enabled")
        .await;
    browser
        .wait_text("#job-sync-today [data-job-state]", "enabled")
        .await;
    let (_, jobs) = server
        .admin(reqwest::Method::GET, "/api/v1/admin/cron", None)
        .await;
    let enabled = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["name"] == "sync-today")
        .unwrap()["enabled"]
        .clone();
    assert_eq!(enabled, true, "the API sees what the dashboard did");
    assert_only_own_origin(&browser, &server, "jobs").await;
    browser.screenshot("jobs").await;
    browser.click("#job-sync-today button.toggle").await;
    browser
        .wait_text(".flash.done", "Job sync-today disabled")
        .await;
    browser
        .wait_text("#job-sync-today [data-job-state]", "disabled")
        .await;

    // Trigger: the run appears on the runs page and finishes there without a reload.
    browser.click("#job-sync-today button.trigger").await;
    browser
        .wait_text(".flash.done", "of sync-today started")
        .await;
    let flash = browser
        .client
        .find(Locator::Css(".flash.done"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let run_id: i64 = flash
        .split_whitespace()
        .nth(1)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("run id in `{flash}`"));
    let row = format!("#run-{run_id}");
    browser.wait_text(&row, "sync-today").await;
    browser.wait_text(&row, "succeeded").await;
    // Whose run it is and what it covers.
    browser.wait_text(&row, "server@").await;
    browser.wait_text(&row, "all×1d").await;
    assert_only_own_origin(&browser, &server, "runs").await;
    browser.screenshot("runs").await;
    browser.click(&format!("{row} a")).await;
    browser.wait_text("h1", &format!("Run #{run_id}")).await;
    browser.wait_text("[data-live=status]", "succeeded").await;
    browser.wait_text("h2", "Errors (0)").await;
    browser.screenshot("run-detail").await;

    // Pause and resume.
    browser.click("a[href='/admin']").await;
    browser
        .click("form[action='/admin/sync/pause'] button")
        .await;
    browser.wait_text(".flash.done", "Sync paused").await;
    browser.wait_text("[data-live=state]", "Paused").await;
    // Only the action that applies is offered.
    assert!(
        !browser
            .displayed("form[action='/admin/sync/pause'] button")
            .await
    );
    assert!(
        browser
            .displayed("form[action='/admin/sync/resume'] button")
            .await
    );
    let (_, status) = server
        .admin(reqwest::Method::GET, "/api/v1/sync/status", None)
        .await;
    assert_eq!(status["paused"], true);
    browser
        .click("form[action='/admin/sync/resume'] button")
        .await;
    browser.wait_text("[data-live=state]", "Running").await;
    assert!(
        browser
            .displayed("form[action='/admin/sync/pause'] button")
            .await
    );
    assert!(
        !browser
            .displayed("form[action='/admin/sync/resume'] button")
            .await
    );
    let (_, status) = server
        .admin(reqwest::Method::GET, "/api/v1/sync/status", None)
        .await;
    assert_eq!(status["paused"], false);
    browser.wait_text(&row, "succeeded").await;
    browser.screenshot("overview").await;

    // Freshness: today's cell of product 14 was just fetched, and with sync-today enabled its
    // target is 15 minutes; its detail says so.
    let (code, _) = server
        .admin(
            reqwest::Method::PUT,
            "/api/v1/admin/cron/toggle",
            Some(serde_json::json!({"name": "sync-today", "status": true})),
        )
        .await;
    assert_eq!(code, 200);
    browser.click("a[href='/admin/freshness']").await;
    browser.wait_text("p.muted", "2 products × 62 dates").await;
    browser
        .click("#heatmap tr[data-p='14'] td:nth-of-type(1)")
        .await;
    browser
        .wait_text("#cell-detail h2", &format!("Product 14 · {}", today()))
        .await;
    browser.wait_text("#cell-detail", "within target").await;
    browser.wait_text("#cell-detail", "15 min").await;
    assert_only_own_origin(&browser, &server, "freshness").await;
    browser.screenshot("freshness").await;

    // Products: add one; it is listed.
    browser.click("a[href='/admin/products']").await;
    browser
        .client
        .find(Locator::Id("new-id"))
        .await
        .unwrap()
        .send_keys("99")
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Id("new-name"))
        .await
        .unwrap()
        .send_keys("Night safari")
        .await
        .unwrap();
    browser.click("#add-product button").await;
    browser
        .wait_text(".flash.done", "Product 99 (Night safari) added")
        .await;
    browser.wait_text("#product-99 td", "99").await;
    // Not fetched yet: the partner is not known to refuse it.
    browser.wait_text("#product-99 td.partner", "ok").await;
    browser.screenshot("products").await;

    // A product's page: each date of its month and how old it is (today was just synced).
    browser.click("#product-14 a").await;
    browser.wait_text("h1", "Product 14").await;
    let today_row = format!("#day-{}", crate::support::today());
    // Fetched (its time is shown, not `never fetched`), with an age.
    browser.wait_text(&today_row, "UTC").await;
    let age = browser
        .client
        .find(Locator::Css(&format!("{today_row} td[data-age]")))
        .await
        .unwrap()
        .attr("data-age")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(age.parse::<i64>().is_ok_and(|s| s >= 0), "age `{age}`");
    browser.screenshot("product-days").await;

    // Phone width: every page fits (wide tables scroll inside their own box).
    browser.client.set_window_size(390, 844).await.unwrap();
    for (path, name) in [
        ("/admin", "overview"),
        ("/admin/freshness", "freshness"),
        ("/admin/jobs", "jobs"),
        ("/admin/runs", "runs"),
        ("/admin/products", "products"),
    ] {
        browser.open(&server.url(path)).await;
        browser.wait_text("h1", "").await;
        let overflow = browser
            .client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{path} scrolls sideways at phone width by {overflow} px"
        );
        browser.screenshot(&format!("{name}-phone")).await;
    }
    browser.client.set_window_size(1280, 900).await.unwrap();

    // The API docs page works offline too.
    browser.open(&server.url("/api/docs")).await;
    browser.wait_text("body", "slots").await;
    assert_only_own_origin(&browser, &server, "api docs").await;
    browser.screenshot("api-docs").await;

    // Sign out: the dashboard is closed again.
    browser.open(&server.url("/admin")).await;
    browser.click("#sign-out").await;
    browser.wait_text("h1", "Sign in").await;
    browser.open(&server.url("/admin/jobs")).await;
    assert_eq!(
        browser.client.current_url().await.unwrap().path(),
        "/admin/login"
    );

    browser.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_from_another_site_is_refused() {
    let Some(browser) = Browser::start("cross-site post").await else {
        return;
    };
    let server = TestServer::start(Options::default()).await;
    sign_in(&browser, &server, TOKEN).await;
    browser.wait_text("[data-live=state]", "Running").await;

    // Another origin on the same machine (same site, so the cookie would be sent) posts a form
    // to the pause action.
    let attacker = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attacker_url = format!("http://{}", attacker.local_addr().unwrap());
    let target = server.url("/admin/sync/pause");
    let page = format!(
        "<!doctype html><form id=f method=post action='{target}'><input name=csrf value=guess></form>\
         <script>document.getElementById('f').submit()</script>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    tokio::spawn(async move { axum::serve(attacker, app).await });
    browser.open(&attacker_url).await;
    browser.wait_text("body", "refused").await;
    browser.screenshot("cross-site-refused").await;
    let (_, status) = server
        .admin(reqwest::Method::GET, "/api/v1/sync/status", None)
        .await;
    assert_eq!(
        status["paused"], false,
        "the cross-site post paused the sync"
    );

    browser.close().await;
    server.stop().await;
}
