//! The partner budget's use over the last hour: calls per minute as bars against the ceiling,
//! an inline SVG drawn here (no script from anywhere else); the page's script moves the bars
//! with the live figures.

use maud::{html, Markup};
use tickete_app::views::BudgetUseBody;

/// Drawing size in SVG units (the chart scales to the card's width).
const WIDTH: u32 = 600;
const HEIGHT: u32 = 120;
/// Space above the ceiling line, so a minute over it would show.
const HEADROOM: f64 = 1.25;

/// The chart's vertical scale: calls a full-height bar stands for.
pub fn scale(budget: &BudgetUseBody) -> f64 {
    let busiest = budget.minutes.iter().map(|m| m.calls).max().unwrap_or(0);
    (f64::from(budget.rate_per_minute) * HEADROOM).max(f64::from(busiest))
}

/// Height in SVG units of a bar of `calls` at `scale`.
fn bar_height(calls: u32, scale: f64) -> f64 {
    if scale <= 0.0 {
        return 0.0;
    }
    (f64::from(calls) / scale * f64::from(HEIGHT)).min(f64::from(HEIGHT))
}

/// The chart, with the last minute's calls and the hour's total beside it.
pub fn chart(budget: &BudgetUseBody) -> Markup {
    let scale = scale(budget);
    let slot = f64::from(WIDTH) / budget.minutes.len().max(1) as f64;
    let ceiling_y = f64::from(HEIGHT) - bar_height(budget.rate_per_minute, scale);
    let total: u32 = budget.minutes.iter().map(|m| m.calls).sum();
    let label = format!(
        "Partner calls per minute over the last hour: {total} in all, against a ceiling of {} a minute",
        budget.rate_per_minute
    );
    html! {
        figure.budget-chart {
            svg #budget-chart viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) preserveAspectRatio="none"
                role="img" aria-label=(label) data-scale=(scale) data-height=(HEIGHT) {
                @for (index, minute) in budget.minutes.iter().enumerate() {
                    @let height = bar_height(minute.calls, scale);
                    rect.bar data-minute=(index) x=(format!("{:.1}", index as f64 * slot + 1.0))
                        y=(format!("{:.1}", f64::from(HEIGHT) - height))
                        width=(format!("{:.1}", (slot - 2.0).max(1.0))) height=(format!("{height:.1}")) {
                        title { (minute.at.format("%H:%M UTC")) ": " (minute.calls) " calls" }
                    }
                }
                line.ceiling x1="0" x2=(WIDTH) y1=(format!("{ceiling_y:.1}")) y2=(format!("{ceiling_y:.1}")) {}
            }
            figcaption.muted {
                "Calls per minute, last hour (ceiling " (budget.rate_per_minute) "/min, dashed): "
                span data-live="callsHour" { (total) } " in all"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use tickete_app::views::MinuteCalls;

    #[test]
    fn bars_stand_for_calls_against_the_ceiling() {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let minutes = (0..60)
            .map(|i| MinuteCalls {
                at: start + Duration::minutes(i),
                calls: if i == 59 { 30 } else { 0 },
            })
            .collect();
        let budget = BudgetUseBody {
            rate_per_minute: 30,
            minutes,
        };
        let svg = chart(&budget).into_string();
        assert_eq!(svg.matches("<rect").count(), 60);
        // A full minute reaches the ceiling line: 30 of a 37.5-call scale is 96 of 120.
        assert!(svg.contains(r#"y="24.0""#), "{svg}");
        assert!(svg.contains("10:59 UTC: 30 calls"));
        assert!(svg.contains(r#"<span data-live="callsHour">30</span>"#));
    }
}
