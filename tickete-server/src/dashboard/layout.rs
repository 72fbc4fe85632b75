//! The page chrome (head, navigation, sign-out, messages) and small formatting helpers.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::forms::Flash;
use super::session::{set_cookie, FLASH_COOKIE};
use super::Operator;

/// The pages of the navigation: path and label.
const PAGES: [(&str, &str); 6] = [
    ("/admin", "Overview"),
    ("/admin/freshness", "Freshness"),
    ("/admin/jobs", "Jobs"),
    ("/admin/runs", "Runs"),
    ("/admin/products", "Products"),
    ("/admin/webhooks", "Webhooks"),
];

fn head(title: &str) -> Markup {
    html! {
        (DOCTYPE)
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · tickete" }
        link rel="stylesheet" href=(super::assets::CSS_PATH);
        link rel="icon" href="data:,";
        script src=(super::assets::JS_PATH) defer {}
    }
}

/// A full page for a signed-in operator; clears the flash it shows.
pub fn page(operator: &Operator, title: &str, active: &str, body: Markup) -> Response {
    let markup = html! {
        (head(title))
        body {
            header.top {
                a.brand href="/admin" { "tickete" }
                nav {
                    @for (path, label) in PAGES {
                        a href=(path) aria-current=[(path == active).then_some("page")] { (label) }
                    }
                }
                form.signout method="post" action="/admin/logout" {
                    (csrf_field(operator))
                    button type="submit" id="sign-out" { "Sign out" }
                }
            }
            main {
                @if let Some(flash) = &operator.flash {
                    @match flash {
                        Flash::Done(message) => p.flash.done role="status" { (message) },
                        Flash::Failed(message) => p.flash.failed role="alert" { (message) },
                    }
                }
                h1 { (title) }
                (body)
            }
        }
    };
    let mut response = markup.into_response();
    if operator.flash.is_some() {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(FLASH_COOKIE, "", 0, false));
    }
    response
}

/// A page for someone not signed in (sign-in form, refusals).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (head(title))
        body.bare {
            main {
                h1 { (title) }
                (body)
            }
        }
    };
    (status, markup).into_response()
}

/// A refusal page naming what was wrong.
pub fn problem(status: StatusCode, message: &str) -> Response {
    bare(
        status,
        status.canonical_reason().unwrap_or("Refused"),
        html! {
            p.flash.failed role="alert" { (message) }
            p { a href="/admin" { "Back to the dashboard" } }
        },
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(operator: &Operator) -> Markup {
    html! { input type="hidden" name="csrf" value=(operator.csrf); }
}

/// A form with one button posting to `action`.
pub fn button(operator: &Operator, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(operator))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// A time as `2026-03-10 09:07:00 UTC`, or a dash.
pub fn time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => html! {
            time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) }
        },
        None => PreEscaped("–".to_owned()),
    }
}

/// A duration in seconds, short: `45 s`, `12 min`, `3.5 h`, `2.0 d`.
pub fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{:.1} h", s as f64 / 3_600.0),
        s => format!("{:.1} d", s as f64 / 86_400.0),
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(900), "15 min");
        assert_eq!(duration(4 * 3_600), "4.0 h");
        assert_eq!(duration(3 * 86_400), "3.0 d");
    }
}
