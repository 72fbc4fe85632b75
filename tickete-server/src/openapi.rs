//! The OpenAPI document, generated from the handler annotations.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::routes::{admin, events, ops, public, webhooks};

/// tickete's API.
#[derive(OpenApi)]
#[openapi(
    info(title = "tickete", description = "Availability of bookable experiences, synced from the partner."),
    paths(
        public::experience_slots, public::experience_dates, public::products, public::product,
        public::product_dates, public::product_slots,
        admin::pause, admin::resume, admin::status, admin::clear_hold, admin::list_jobs, admin::toggle_job,
        admin::update_job, admin::trigger_job, admin::sync_days, admin::list_runs, admin::get_run,
        admin::list_processes,
        admin::put_product, admin::delete_product,
        ops::healthz, ops::readyz, ops::metrics,
        webhooks::list_webhooks, webhooks::create_webhook, webhooks::get_webhook,
        webhooks::update_webhook, webhooks::delete_webhook, webhooks::rotate_secret,
        webhooks::list_deliveries, webhooks::retry_delivery, events::events,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &CommonResponses),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The error answers the middleware gives on any route, documented where they can occur:
/// 401 on bearer-secured routes (`require_admin`), 429 on public routes (`public_rate_limit`),
/// 413 and 415 where a body is read (`http_limits`, `JsonBody`), 503 wherever the store is used or a request may
/// time out (`request_timeout`; every route but `/healthz`, which does no I/O).
struct CommonResponses;

const UNAUTHORIZED: &str = "Unauthorized";
const TOO_MANY_REQUESTS: &str = "TooManyRequests";
const PAYLOAD_TOO_LARGE: &str = "PayloadTooLarge";
const UNSUPPORTED_MEDIA_TYPE: &str = "UnsupportedMediaType";
const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let error = |description: &str| {
            ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
        };
        let responses = [
            (
                UNAUTHORIZED,
                error("The admin token is missing or wrong.")
                    .header(
                        "WWW-Authenticate",
                        HeaderBuilder::new()
                            .schema(ObjectBuilder::new().schema_type(Type::String))
                            .description(Some("`Bearer`"))
                            .build(),
                    )
                    .build(),
            ),
            (
                TOO_MANY_REQUESTS,
                error("Over the public rate limit for this client address.")
                    .header(
                        "Retry-After",
                        HeaderBuilder::new()
                            .schema(
                                ObjectBuilder::new()
                                    .schema_type(Type::Integer)
                                    .minimum(Some(1)),
                            )
                            .description(Some("Seconds to wait before retrying"))
                            .build(),
                    )
                    .build(),
            ),
            (
                PAYLOAD_TOO_LARGE,
                error("The request body is over 64 KiB.").build(),
            ),
            (
                UNSUPPORTED_MEDIA_TYPE,
                error("The body's Content-Type is not application/json.").build(),
            ),
            (
                SERVICE_UNAVAILABLE,
                error("The store is unreachable or the request took too long.").build(),
            ),
        ];
        for (name, response) in responses {
            components
                .responses
                .insert(name.to_owned(), response.into());
        }

        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add_response(operation, "401", UNAUTHORIZED);
                }
                if operation
                    .tags
                    .as_ref()
                    .is_some_and(|tags| tags.iter().any(|tag| tag == "public"))
                {
                    add_response(operation, "429", TOO_MANY_REQUESTS);
                }
                if operation.request_body.is_some() {
                    add_response(operation, "413", PAYLOAD_TOO_LARGE);
                    add_response(operation, "415", UNSUPPORTED_MEDIA_TYPE);
                }
                if path != "/healthz" {
                    add_response(operation, "503", SERVICE_UNAVAILABLE);
                }
            }
        }
    }
}

/// Documents `status` as the shared response `name` (a hand-written one is replaced: the
/// middleware's answer is the same on every route).
fn add_response(operation: &mut Operation, status: &str, name: &str) {
    operation.responses.responses.insert(
        status.to_owned(),
        RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))),
    );
}
