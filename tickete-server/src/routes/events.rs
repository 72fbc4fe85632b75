//! `GET /api/v1/events`: the change feed as server-sent events (SPEC §6; admin token).
//!
//! Each event is `id: <sequence>`, `event: <type>`, `data: <event body>`; `Last-Event-ID`
//! resumes after that sequence from the kept events, so a client that reconnects misses
//! nothing. Any replica serves it: events are read from the store.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use tickete_core::feed::{parse_types, Subscription};

use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::state::AppState;

/// Comment keep-alives this often, so proxies keep an idle stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The change feed as a stream.
#[utoipa::path(get, path = "/api/v1/events", tag = "webhooks", security(("bearer" = [])),
    params(("types" = Option<String>, Query, description = "Comma-separated event types (default: all)"),
           ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence")),
    responses((status = 200, content_type = "text/event-stream", description = "`id: <sequence>`, `event: <type>`, `data: <event body>`"),
              (status = 400, body = crate::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: QueryParams,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let types = match query.optional_text("types")? {
        Some(text) => {
            parse_types(text).map_err(|e| ApiError::bad_request(format!("types: {e}")))?
        }
        None => Vec::new(),
    };
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request("Last-Event-ID must be an event sequence (an integer)")
                })?,
        ),
        None => None,
    };
    let store = state.engine().store().clone();
    let subscription = match resume {
        Some(after) => Subscription::new(store, after, types),
        None => Subscription::from_now(store, types).await?,
    }
    .woken_by(state.engine());
    let stop = state.streams_stop().clone();
    let stream = futures::stream::unfold(
        (subscription, stop),
        |(mut subscription, stop)| async move {
            let next = tokio::select! {
                () = stop.cancelled() => return None,
                next = subscription.next() => next,
            };
            let event = match next {
                Ok(event) => SseEvent::default()
                    .id(event.seq.to_string())
                    .event(event.kind.as_str())
                    .data(event.body),
                Err(error) => {
                    // The store is down: end the stream; the client reconnects with its
                    // Last-Event-ID and misses nothing.
                    tracing::warn!(%error, "event stream ended: store unavailable");
                    return None;
                }
            };
            Some((Ok(event), (subscription, stop)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}
