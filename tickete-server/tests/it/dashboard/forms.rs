//! The dashboard's sign-in, cookie and cross-site rules over plain HTTP, for the requests a
//! browser would never send on its own (forged origins, missing tokens).

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::support::{Options, TestServer, TOKEN};

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in; returns the `Cookie` header value and the CSRF token of the session.
pub(super) async fn sign_in(server: &TestServer) -> (String, String) {
    let http = client();
    let response = http
        .post(server.url("/admin/login"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(set.contains(attribute), "{attribute} missing in {set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();
    let page = server.text("/admin", &[("cookie", &cookie)]).await;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field on the overview")
        .to_owned();
    (cookie, csrf)
}

async fn paused(server: &TestServer) -> bool {
    let (_, status) = server
        .admin(reqwest::Method::GET, "/api/v1/sync/status", None)
        .await;
    status["paused"].as_bool().unwrap()
}

#[tokio::test]
async fn pages_need_a_session_and_a_wrong_token_is_refused() {
    let server = TestServer::start(Options::default()).await;
    let http = client();
    let response = http.get(server.url("/admin/jobs")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/admin/login");
    let refused = http
        .post(server.url("/admin/login"))
        .form(&[("token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get(SET_COOKIE).is_none());
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("the admin token is wrong"));
    // A cookie signed under another token (or forged) opens nothing.
    let forged = http
        .get(server.url("/admin"))
        .header("cookie", "tickete_admin=99999999999.abc.def")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 303);
    server.stop().await;
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_client() {
    let server = TestServer::start(Options::default()).await;
    let http = client();
    let attempt = |token: &'static str| {
        http.post(server.url("/admin/login"))
            .form(&[("token", token)])
            .send()
    };
    for _ in 0..10 {
        assert_eq!(attempt("wrong").await.unwrap().status(), 401);
    }
    // Past the limit even the right token is not looked at, so guessing gains nothing.
    let throttled = attempt(TOKEN).await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().get(SET_COOKIE).is_none());
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry_after), "{retry_after}");
    assert!(throttled
        .text()
        .await
        .unwrap()
        .contains("too many sign-in attempts"));
    // The API with the token is not affected.
    assert!(!paused(&server).await);
    server.stop().await;
}

#[tokio::test]
async fn every_dashboard_page_forbids_other_hosts() {
    let server = TestServer::start(Options::default()).await;
    let (cookie, _) = sign_in(&server).await;
    for path in [
        "/admin",
        "/admin/freshness",
        "/admin/jobs",
        "/admin/runs",
        "/admin/products",
        "/admin/runs/1",
    ] {
        let response = server.get_with(path, &[("cookie", &cookie)]).await;
        assert!(
            response.status().is_success() || path == "/admin/runs/1",
            "{path}"
        );
        let csp = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        let body = response.text().await.unwrap();
        for needle in ["http://", "https://", "//cdn", "fonts."] {
            assert!(
                !body.contains(needle),
                "{path} names another host: {needle}"
            );
        }
    }
    let login = client()
        .get(server.url("/admin/login"))
        .send()
        .await
        .unwrap();
    let csp = login.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "login: {csp}");
    server.stop().await;
}

#[tokio::test]
async fn actions_need_this_origin_and_the_session_csrf_token() {
    let server = TestServer::start(Options::default()).await;
    let (cookie, csrf) = sign_in(&server).await;
    let http = client();
    let pause = || {
        http.post(server.url("/admin/sync/pause"))
            .header("cookie", &cookie)
    };

    let forged_origin = pause()
        .header("origin", "http://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged_origin.status(), 403);
    let cross_site = pause()
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let no_token = pause().form(&[("other", "x")]).send().await.unwrap();
    assert_eq!(no_token.status(), 403);
    assert!(no_token.text().await.unwrap().contains("CSRF token"));
    let (other_cookie, other_csrf) = sign_in(&server).await;
    assert_ne!(other_cookie, cookie);
    let other_session_token = pause()
        .form(&[("csrf", other_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(other_session_token.status(), 403);
    assert!(!paused(&server).await, "a refused post paused the sync");

    let own = pause()
        .header("origin", &server.base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 303);
    assert!(paused(&server).await);
    server.stop().await;
}

#[tokio::test]
async fn bad_form_input_is_named_not_a_500() {
    let server = TestServer::start(Options::default()).await;
    let (cookie, csrf) = sign_in(&server).await;
    let http = client();
    let post = |path: &str, fields: Vec<(&str, &str)>| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        http.post(server.url(path))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };
    for (path, fields, expected) in [
        (
            "/admin/sync/days",
            vec![("days", "99")],
            "days `99` is not an integer from 1 to 62",
        ),
        (
            "/admin/jobs/sync-today/edit",
            vec![("schedule", "every day"), ("window_days", "1")],
            "schedule",
        ),
        (
            "/admin/jobs/no-such-job/toggle",
            vec![("enabled", "true")],
            "no-such-job",
        ),
        ("/admin/products", vec![("id", "abc")], "product id `abc`"),
    ] {
        let response = post(path, fields).await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        let flash = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .find_map(|value| value.to_str().unwrap().strip_prefix("tickete_flash="))
            .unwrap_or_else(|| panic!("{path}: no message"))
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let page = server
            .text(
                "/admin/jobs",
                &[("cookie", &format!("{cookie}; tickete_flash={flash}"))],
            )
            .await;
        assert!(page.contains("flash failed"), "{path}: {page}");
        assert!(page.contains(expected), "{path}: expected `{expected}`");
    }
    let bad_query = server
        .get_with("/admin/freshness?days=0", &[("cookie", &cookie)])
        .await;
    assert_eq!(bad_query.status(), 400);
    let bad_cell = server
        .get_with(
            "/admin/freshness/cell?product=14&date=tomorrow",
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(bad_cell.status(), 400);
    assert!(bad_cell.text().await.unwrap().contains("YYYY-MM-DD"));
    server.stop().await;
}

#[tokio::test]
async fn the_overview_shows_demand_against_budget_and_each_jobs_freshness() {
    let server = TestServer::start(Options {
        jobs_enabled: true,
        ..Options::default()
    })
    .await;
    let (cookie, _) = sign_in(&server).await;
    let (_, status) = server
        .admin(reqwest::Method::GET, "/api/v1/sync/status", None)
        .await;
    let page = server.text("/admin", &[("cookie", &cookie)]).await;
    assert!(page.contains("Demand against budget"), "{page}");
    // The figure moves as the engine learns; the card and its unit are what must be there.
    assert!(page.contains(" calls/min needed"), "{page}");
    let jobs = status["freshness"].as_array().unwrap();
    assert!(!jobs.is_empty(), "{status}");
    for job in jobs {
        let name = job["job"].as_str().unwrap();
        assert!(page.contains(&format!("<td>{name}</td>")), "{name} missing");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_bad_page_number_is_named_on_every_paginated_page() {
    let server = TestServer::start(Options::default()).await;
    let (cookie, _) = sign_in(&server).await;
    for path in ["/admin/runs", "/admin/products", "/admin/webhooks/wh_x"] {
        for page in ["0", "abc", "1000001"] {
            let response = server
                .get_with(&format!("{path}?page={page}"), &[("cookie", &cookie)])
                .await;
            assert_eq!(response.status(), 400, "{path}?page={page}");
            let body = response.text().await.unwrap();
            assert!(body.contains("`page` must be an integer"), "{path}: {body}");
        }
    }
    server.stop().await;
}
