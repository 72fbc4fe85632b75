//! Command-line flags of the simulator (`tickete partner-sim` flattens [`SimArgs`]).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::SimConfig;

/// Flags of `tickete partner-sim`; each has a `TICKETE_SIM_*` environment variable.
///
/// `Debug` prints the API key as `***`.
#[derive(Clone, clap::Args)]
pub struct SimArgs {
    /// Products 1..=N exist; other ids answer 404.
    #[arg(long, env = "TICKETE_SIM_PRODUCTS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub products: u32,
    /// Seed of the generated inventory and of the fault stream.
    #[arg(long, env = "TICKETE_SIM_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Requests admitted per window; 0 turns the limit off.
    #[arg(long, env = "TICKETE_SIM_RATE_LIMIT", default_value_t = 30)]
    pub rate_limit: u32,
    /// Rate-limit window in seconds.
    #[arg(long, env = "TICKETE_SIM_WINDOW_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub window_secs: u64,
    /// Require this `x-api-key` (401 otherwise).
    #[arg(long, env = "TICKETE_SIM_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Probability per request of a 5xx answer, 0..=1.
    #[arg(long, env = "TICKETE_SIM_ERROR_RATE", default_value_t = 0.0, value_parser = rate)]
    pub error_rate: f64,
    /// Milliseconds added before every partner-route answer.
    #[arg(long, env = "TICKETE_SIM_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Probability per request of hanging without an answer, 0..=1.
    #[arg(long, env = "TICKETE_SIM_TIMEOUT_RATE", default_value_t = 0.0, value_parser = rate)]
    pub timeout_rate: f64,
    /// Probability per request of a 200 with a malformed body, 0..=1.
    #[arg(long, env = "TICKETE_SIM_MALFORMED_RATE", default_value_t = 0.0, value_parser = rate)]
    pub malformed_rate: f64,
    /// Mean inventory changes per (product, date) per hour; 0 freezes the inventory.
    #[arg(long, env = "TICKETE_SIM_CHANGE_RATE", default_value_t = 4.0, value_parser = non_negative)]
    pub change_rate: f64,
    /// Address to listen on.
    #[arg(long, env = "TICKETE_SIM_BIND", default_value = "127.0.0.1:4010")]
    pub bind: SocketAddr,
}

impl SimArgs {
    /// The simulator configuration these flags describe.
    pub fn config(&self) -> SimConfig {
        SimConfig {
            products: self.products,
            seed: self.seed,
            rate_limit: self.rate_limit,
            window: Duration::from_secs(self.window_secs),
            api_key: self.api_key.clone(),
            error_rate: self.error_rate,
            latency: Duration::from_millis(self.latency_ms),
            timeout_rate: self.timeout_rate,
            malformed_rate: self.malformed_rate,
            change_rate: self.change_rate,
            ..SimConfig::default()
        }
    }
}

impl fmt::Debug for SimArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimArgs")
            .field("config", &self.config())
            .field("bind", &self.bind)
            .finish()
    }
}

fn rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not a probability between 0 and 1"))
    }
}

fn non_negative(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if value >= 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(format!("{value} must be a finite number ≥ 0"))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn flags_map_to_config_and_hide_the_key() {
        let cli = Cli::try_parse_from([
            "sim",
            "--products",
            "500",
            "--rate-limit",
            "5",
            "--window-secs",
            "2",
            "--api-key",
            "hunter2",
            "--error-rate",
            "0.25",
            "--latency-ms",
            "15",
        ])
        .unwrap();
        let config = cli.sim.config();
        assert_eq!(config.products, 500);
        assert_eq!(config.rate_limit, 5);
        assert_eq!(config.window, Duration::from_secs(2));
        assert_eq!(config.error_rate, 0.25);
        assert_eq!(config.latency, Duration::from_millis(15));
        assert!(config.validate().is_ok());
        let shown = format!("{:?}", cli.sim);
        assert!(
            !shown.contains("hunter2") && shown.contains("***"),
            "{shown}"
        );
        assert!(Cli::try_parse_from(["sim", "--error-rate", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["sim", "--products", "0"]).is_err());
    }
}
