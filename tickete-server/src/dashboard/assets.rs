//! The stylesheet and script, compiled into the binary.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::layout::problem;

/// Where the stylesheet is served.
pub const CSS_PATH: &str = "/admin/assets/dashboard.css";
/// Where the script is served.
pub const JS_PATH: &str = "/admin/assets/dashboard.js";

const CSS: &str = include_str!("../../assets/dashboard/dashboard.css");
const JS: &str = include_str!("../../assets/dashboard/dashboard.js");

/// `GET /admin/assets/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "dashboard.css" => (CSS, "text/css; charset=utf-8"),
        "dashboard.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return problem(StatusCode::NOT_FOUND, "no such dashboard asset"),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}
