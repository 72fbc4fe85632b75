//! Bodies of the freshness heatmap (dashboard): products × dates, each cell the age of its
//! data against the target of its date.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// How a cell's age compares with its date's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellGrade {
    /// Never fetched.
    Never,
    /// No enabled job covers the date.
    NoTarget,
    /// Age within the target.
    Fresh,
    /// Age within twice the target.
    Late,
    /// Older than twice the target.
    Stale,
}

impl CellGrade {
    /// Grades an age (seconds, `None` = never fetched) against a target (seconds).
    pub fn of(age: Option<i64>, target: Option<i64>) -> Self {
        match (age, target) {
            (None, _) => Self::Never,
            (Some(_), None) => Self::NoTarget,
            (Some(age), Some(target)) if age <= target => Self::Fresh,
            (Some(age), Some(target)) if age <= 2 * target => Self::Late,
            (Some(_), Some(_)) => Self::Stale,
        }
    }

    /// Short name, used as a CSS class and in the legend.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::NoTarget => "no-target",
            Self::Fresh => "fresh",
            Self::Late => "late",
            Self::Stale => "stale",
        }
    }
}

/// One product's row of the heatmap.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapRow {
    /// Product id.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Whether the product is synced.
    pub enabled: bool,
    /// Age in seconds of each date's data (`None`: never fetched), in the order of `dates`.
    pub ages: Vec<Option<i64>>,
    /// Grade of each cell, in the order of `dates`.
    pub grades: Vec<CellGrade>,
    /// Dates whose last fetch failed (their data, if any, is older than the failure).
    pub failing: u32,
}

/// The whole heatmap, read in one request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapBody {
    /// When the ages were measured.
    pub generated_at: DateTime<Utc>,
    /// First date (today in the service time zone).
    pub today: NaiveDate,
    /// The columns.
    pub dates: Vec<NaiveDate>,
    /// Target of each date in seconds (`None`: no enabled job covers it).
    pub targets: Vec<Option<i64>>,
    /// One row per product, by id.
    pub products: Vec<HeatmapRow>,
    /// Cells per grade over the whole map: never, no-target, fresh, late, stale.
    pub totals: [u32; 5],
}

/// Detail of one (product, date) cell.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapCellBody {
    /// Product id.
    pub product: u32,
    /// Product name.
    pub name: String,
    /// The date.
    pub date: NaiveDate,
    /// Last successful fetch.
    pub synced_at: Option<DateTime<Utc>>,
    /// Age in seconds of the data.
    pub age_seconds: Option<i64>,
    /// Target of the date in seconds.
    pub target_seconds: Option<i64>,
    /// Grade of the cell.
    pub grade: CellGrade,
    /// Last fetch error, cleared by a successful fetch.
    pub last_error: Option<String>,
    /// Slots stored for the date.
    pub slots: usize,
    /// Of which with `remaining > 0`.
    pub open_slots: usize,
}

#[cfg(test)]
mod tests {
    use super::CellGrade;

    #[test]
    fn grades_compare_the_age_with_the_target() {
        assert_eq!(CellGrade::of(None, Some(60)), CellGrade::Never);
        assert_eq!(CellGrade::of(Some(10), None), CellGrade::NoTarget);
        assert_eq!(CellGrade::of(Some(60), Some(60)), CellGrade::Fresh);
        assert_eq!(CellGrade::of(Some(61), Some(60)), CellGrade::Late);
        assert_eq!(CellGrade::of(Some(120), Some(60)), CellGrade::Late);
        assert_eq!(CellGrade::of(Some(121), Some(60)), CellGrade::Stale);
    }
}
