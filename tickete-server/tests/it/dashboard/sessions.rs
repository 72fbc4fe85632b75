//! Sessions end when they are signed out: a cookie copied before sign-out is refused after
//! it, on every replica, and "sign out everywhere" ends them all; webhooks are edited from
//! their page.

use reqwest::header::LOCATION;

use super::forms::{client, sign_in};
use crate::support::{Options, TestServer, TOKEN};

/// The status of `GET {base}/admin` with `cookie`, and where a redirect points.
async fn overview(base: &str, cookie: &str) -> (u16, String) {
    let response = client()
        .get(format!("{base}/admin"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), location)
}

async fn post(base: &str, path: &str, cookie: &str, csrf: &str) -> u16 {
    client()
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_cookie_copied_before_sign_out_is_refused_after_it() {
    let server = TestServer::start(Options::default()).await;
    let (first, first_csrf) = sign_in(&server).await;
    let (second, second_csrf) = sign_in(&server).await;
    assert_eq!(overview(&server.base, &first).await.0, 200);
    let page = server.text("/admin", &[("cookie", &second)]).await;
    assert!(page.contains("Signed-in sessions"), "{page}");
    assert_eq!(page.matches("this browser").count(), 1);

    // The first browser signs out; a copy of its cookie is refused from now on.
    assert_eq!(
        post(&server.base, "/admin/logout", &first, &first_csrf).await,
        303
    );
    assert_eq!(
        overview(&server.base, &first).await,
        (303, "/admin/login".to_owned())
    );
    assert_eq!(
        overview(&server.base, &second).await.0,
        200,
        "others stay in"
    );

    // Sign out everywhere: the second (which asked) is out too, and so is a third.
    let (third, _) = sign_in(&server).await;
    assert_eq!(
        post(
            &server.base,
            "/admin/sessions/end-all",
            &second,
            &second_csrf
        )
        .await,
        303
    );
    for cookie in [&second, &third] {
        assert_eq!(overview(&server.base, cookie).await.0, 303);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_session_signed_out_on_one_replica_is_refused_on_another() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: TICKETE_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = crate::support::Database::create(&base).await;
    let partner = "http://127.0.0.1:9";
    let one = crate::replicas::start_replica_at(&database.url, partner, 30).await;
    let two = crate::replicas::start_replica_at(&database.url, partner, 30).await;
    let signed_in = client()
        .post(format!("{}/admin/login", one.base))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(overview(&two.base, &cookie).await.0, 200, "any replica");
    let page = client()
        .get(format!("{}/admin", two.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!(post(&two.base, "/admin/logout", &cookie, &csrf).await, 303);
    assert_eq!(
        overview(&one.base, &cookie).await,
        (303, "/admin/login".to_owned()),
        "signed out on the other replica"
    );
    database.drop().await;
}

/// The dashboard edits a webhook's URL, event types and description with the API's checks.
#[tokio::test]
async fn a_webhook_is_edited_from_its_page_with_the_apis_checks() {
    let server = TestServer::start(Options::default()).await;
    let (status, created) = server
        .admin(
            reqwest::Method::POST,
            "/api/v1/admin/webhooks",
            Some(serde_json::json!({"url": "https://93.184.216.34/hook"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (cookie, csrf) = sign_in(&server).await;
    let page = server
        .text(&format!("/admin/webhooks/{id}"), &[("cookie", &cookie)])
        .await;
    assert!(page.contains("id=\"edit-webhook\""), "an edit form");
    let save = |url: &'static str| {
        let (cookie, csrf, id) = (cookie.clone(), csrf.clone(), id.clone());
        let base = server.base.clone();
        async move {
            client()
                .post(format!("{base}/admin/webhooks/{id}/edit"))
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("url", url),
                    ("events", "availability.changed"),
                    ("description", "pricing team"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(save("https://93.184.216.35/new").await, 303);
    let stored = server.webhook(&id).await;
    assert_eq!(stored["url"], "https://93.184.216.35/new");
    assert_eq!(
        stored["events"],
        serde_json::json!(["availability.changed"])
    );
    assert_eq!(stored["description"], "pricing team");
    // A private target is refused as the API refuses it; nothing changes.
    assert_eq!(save("http://10.0.0.1/hook").await, 303);
    let after = server.webhook(&id).await;
    assert_eq!(after["url"], "https://93.184.216.35/new");
    server.stop().await;
}
