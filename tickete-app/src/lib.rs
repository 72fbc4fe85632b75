//! # tickete-app
//!
//! The application both front-ends share, between the core and adapters below and
//! `tickete-server` / `tickete` above: settings ([`settings`]), store choice by URL
//! ([`App::open`]), the partner or its simulator ([`partner`]), engine assembly with replica
//! coordination ([`App::service_engine`], [`App::one_off_engine`]), engine upkeep
//! ([`runtime`]), and every admin action with the view it answers ([`actions`], [`views`]).
//! Neither front-end assembles the engine or repeats an action: both call this crate.

pub mod actions;
mod app;
pub mod error;
pub mod feed;
pub mod heatmap;
pub mod logging;
pub mod partner;
pub mod runtime;
pub mod settings;
pub mod views;
pub mod webhook_views;

pub use actions::Actions;
pub use app::App;
pub use error::{ActionError, AppError};
pub use settings::{Settings, SettingsError};
