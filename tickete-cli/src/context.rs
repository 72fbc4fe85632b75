//! What commands share: resolved settings, output mode, and the application over the store.

use chrono::{NaiveDate, Utc};
use tickete_app::partner::Partner;
use tickete_app::{Actions, App, Settings};
use tickete_core::Engine;
use tokio::sync::OnceCell;

use crate::error::CliError;

/// Settings and output mode of one invocation.
pub struct Ctx {
    /// Resolved settings (flags > env > file > defaults).
    pub settings: Settings,
    /// `--json`.
    pub json: bool,
    /// The application, its store opened (and migrated) once on first use.
    app: OnceCell<App>,
}

impl Ctx {
    /// Settings and output mode of one invocation.
    pub fn new(settings: Settings, json: bool) -> Self {
        Self {
            settings,
            json,
            app: OnceCell::new(),
        }
    }

    /// The application, its store opened (and migrated) on first use.
    pub async fn app(&self) -> Result<&App, CliError> {
        self.app
            .get_or_try_init(|| async {
                App::open(self.settings.clone()).await.map_err(|e| {
                    CliError::failure(format!(
                        "cannot open the store {}: {e}",
                        self.settings.store.database_url
                    ))
                })
            })
            .await
    }

    /// The application after seeding what the server seeds at start: the default jobs, and
    /// `TICKETE_PRODUCTS` into an empty catalogue.
    pub async fn seeded_app(&self) -> Result<&App, CliError> {
        let app = self.app().await?;
        app.seed().await?;
        Ok(app)
    }

    /// The admin actions over an engine that never calls the partner.
    pub async fn actions(&self) -> Result<Actions, CliError> {
        let app = self.app().await?;
        Ok(app.actions(app.planning_engine().await?))
    }

    /// The configured partner (for the simulator, one started on 127.0.0.1) and an engine for
    /// one run over it.
    pub async fn one_off_engine(&self) -> Result<(Engine, Partner), CliError> {
        let app = self.seeded_app().await?;
        let partner = Partner::start(&app.settings().partner).await?;
        let engine = app.one_off_engine(partner.source.clone()).await?;
        Ok((engine, partner))
    }

    /// Today in the service time zone.
    pub fn today(&self) -> NaiveDate {
        Utc::now()
            .with_timezone(&self.settings.sync.timezone)
            .date_naive()
    }
}
