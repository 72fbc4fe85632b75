//! The operator dashboard: driven in a real headless Chromium (browser.rs, flows.rs) and
//! over plain HTTP for what a browser would not send (forms.rs).

mod browser;
mod flows;
mod forms;
mod operator_trust;
mod sessions;
mod webhooks;
