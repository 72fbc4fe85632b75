//! Conditional reads end to end: `ETag`, `Last-Modified` and `304` on slots and dates, over
//! real HTTP, on SQLite and (with `TICKETE_TEST_POSTGRES_URL`) Postgres.

use chrono::{DateTime, Datelike, Utc};
use reqwest::header::{ETAG, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;

use crate::support::{today, Database, Options, TestServer};

struct Answer {
    status: StatusCode,
    etag: Option<String>,
    last_modified: Option<DateTime<Utc>>,
    body: String,
}

async fn get(server: &TestServer, path: &str, if_none_match: Option<&str>) -> Answer {
    let mut request = server.http.get(server.url(path));
    if let Some(tag) = if_none_match {
        request = request.header(IF_NONE_MATCH, tag);
    }
    let response = request.send().await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value: &reqwest::header::HeaderValue| value.to_str().unwrap().to_owned())
    };
    let etag = header(ETAG);
    let last_modified = header(LAST_MODIFIED).map(|text| {
        DateTime::parse_from_rfc2822(&text)
            .unwrap_or_else(|e| panic!("Last-Modified `{text}` is an HTTP date: {e}"))
            .with_timezone(&Utc)
    });
    Answer {
        status: response.status(),
        etag,
        last_modified,
        body: response.text().await.unwrap(),
    }
}

/// The whole conditional-read behaviour against one running server.
async fn conditional_reads(server: &TestServer) {
    let day = today();
    // The simulator's product 14 has slots every day but Sunday, 15 only on Sundays.
    let product = if day.weekday() == chrono::Weekday::Sun {
        15
    } else {
        14
    };
    let slots = format!("/api/v1/experience/{product}/slots?date={day}");
    let wrapped = format!("/api/v1/products/{product}/slots?date={day}");

    // Before any sync: an empty list with a tag, and no fetch time to report.
    let empty = get(server, &slots, None).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body, r#"{"slots":[]}"#);
    assert_eq!(empty.last_modified, None);
    let empty_tag = empty.etag.expect("an ETag on an unsynced day");
    let again = get(server, &slots, Some(&empty_tag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    let before = Utc::now() - chrono::Duration::seconds(1);
    let run = server.sync_days(2).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let after = Utc::now();

    // The sync changed the day: the old tag no longer matches, the body is served in full.
    let synced = get(server, &slots, Some(&empty_tag)).await;
    assert_eq!(synced.status, StatusCode::OK);
    assert!(synced.body.contains("startTime"), "{}", synced.body);
    let tag = synced.etag.clone().expect("ETag");
    assert_ne!(tag, empty_tag);
    let modified = synced.last_modified.expect("Last-Modified on a synced day");
    assert!(
        modified >= before.with_nanosecond_zero() && modified <= after,
        "Last-Modified {modified} is the fetch time, between {before} and {after}"
    );

    // The current tag answers 304 with no body and the same validators, also as a weak tag
    // or in a list; another tag gets the body.
    for header in [
        tag.clone(),
        format!("W/{tag}"),
        format!("\"other\", {tag}"),
        "*".into(),
    ] {
        let not_modified = get(server, &slots, Some(&header)).await;
        assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED, "{header}");
        assert_eq!(not_modified.body, "");
        assert_eq!(not_modified.etag.as_deref(), Some(tag.as_str()));
        assert_eq!(not_modified.last_modified, Some(modified));
    }
    let other = get(server, &slots, Some("\"something-else\"")).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body, synced.body);

    // The enveloped route is another representation: its own tag, its own 304.
    let enveloped = get(server, &wrapped, None).await;
    assert_eq!(enveloped.status, StatusCode::OK);
    assert_eq!(
        enveloped.body,
        format!(r#"{{"data":{},"statusCode":200}}"#, synced.body)
    );
    let enveloped_tag = enveloped.etag.expect("ETag");
    assert_ne!(enveloped_tag, tag);
    assert_eq!(
        get(server, &wrapped, Some(&tag)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(server, &wrapped, Some(&enveloped_tag)).await.status,
        StatusCode::NOT_MODIFIED
    );

    // Dates: tag, fetch time of the latest synced day, 304.
    for path in [
        format!("/api/v1/experience/{product}/dates"),
        format!("/api/v1/products/{product}/dates"),
    ] {
        let path = path.as_str();
        let dates = get(server, path, None).await;
        assert_eq!(dates.status, StatusCode::OK);
        assert!(dates.body.contains(&day.to_string()), "{}", dates.body);
        let dates_tag = dates.etag.expect("ETag on dates");
        let dates_modified = dates.last_modified.expect("Last-Modified on dates");
        assert!(dates_modified >= modified && dates_modified <= after);
        let not_modified = get(server, path, Some(&dates_tag)).await;
        assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
        assert_eq!(not_modified.body, "");
    }

    // An unknown product is a 404, with no validators.
    let unknown = get(
        server,
        &format!("/api/v1/experience/99/slots?date={day}"),
        Some("*"),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.etag, None);
}

trait NanosecondZero {
    fn with_nanosecond_zero(self) -> Self;
}

impl NanosecondZero for DateTime<Utc> {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}

#[tokio::test]
async fn slots_and_dates_carry_validators_and_answer_304_on_sqlite() {
    let server = TestServer::start(Options::default()).await;
    conditional_reads(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn slots_and_dates_carry_validators_and_answer_304_on_postgres() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("TICKETE_TEST_POSTGRES_URL is not set: Postgres conditional reads skipped");
        return;
    };
    let database = Database::create(&base).await;
    let server = TestServer::start(Options {
        database_url: Some(database.url.clone()),
        ..Options::default()
    })
    .await;
    conditional_reads(&server).await;
    server.stop().await;
    database.drop().await;
}
