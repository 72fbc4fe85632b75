//! One product: how old each date of its month is, as a shopper's read would find it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::{self, problem, time};
use super::Operator;
use crate::state::AppState;

/// Dates shown: the longest default job's window.
const DAYS: u32 = 30;

/// `GET /admin/products/{id}`: each date of the next 30 days with its fetch time and age.
pub async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = crate::extract::parse_product_id(&id) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "the product id in the path must be a positive integer",
        );
    };
    let (product, days) = match (
        state.actions().get_product(id).await,
        state.actions().product_days(id, DAYS).await,
    ) {
        (Ok(product), Ok(days)) => (product, days),
        (Err(error), _) | (_, Err(error)) => {
            let error = crate::error::ApiError::from(error);
            return problem(error.status, &error.message);
        }
    };
    let body = html! {
        dl.facts {
            dt { "Name" } dd { (product.name) }
            dt { "Partner" } dd { span class=(format!("status partner-{}", product.partner_status)) { (product.partner_status) } }
            dt { "Slot type" } dd { (product.time_slot_type) }
        }
        p.muted { "How old each date's availability is: a read with " code { "Cache-Control: max-age" } " younger than the age fetches it live." }
        div.scroll {
            table.days {
                thead { tr { th { "Date" } th { "Fetched" } th { "Age" } th { "Last error" } } }
                tbody {
                    @for day in &days {
                        tr id=(format!("day-{}", day.date)) {
                            td { (day.date) }
                            td { (time(day.synced_at)) }
                            td data-age=[day.age_seconds] { (age_text(day.age_seconds)) }
                            td.small { (day.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    layout::page(&operator, &format!("Product {id}"), "/admin/products", body)
}

/// `42 s`, `7 min`, `3 h 5 min`, `2 d 4 h`; `never fetched` without a fetch.
fn age_text(seconds: Option<i64>) -> String {
    match seconds {
        None => "never fetched".to_owned(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min", s / 60),
        Some(s) if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        Some(s) => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_read_as_an_operator_reads_them() {
        assert_eq!(super::age_text(None), "never fetched");
        assert_eq!(super::age_text(Some(42)), "42 s");
        assert_eq!(super::age_text(Some(7 * 60 + 5)), "7 min");
        assert_eq!(super::age_text(Some(3 * 3600 + 5 * 60)), "3 h 5 min");
        assert_eq!(super::age_text(Some(2 * 86_400 + 4 * 3600)), "2 d 4 h");
    }
}
