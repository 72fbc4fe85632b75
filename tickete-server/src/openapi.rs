//! The OpenAPI document, generated from the handler annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{admin, ops, public};

/// tickete's API.
#[derive(OpenApi)]
#[openapi(
    info(title = "tickete", description = "Availability of bookable experiences, synced from the partner."),
    paths(
        public::experience_slots, public::experience_dates, public::products, public::product,
        public::product_dates, public::product_slots,
        admin::pause, admin::resume, admin::status, admin::list_jobs, admin::toggle_job,
        admin::update_job, admin::trigger_job, admin::sync_days, admin::list_runs, admin::get_run,
        admin::put_product, admin::delete_product,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    modifiers(&BearerAuth),
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
