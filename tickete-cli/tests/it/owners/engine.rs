//! The server's engine (worker, scheduler and upkeep) assembled in this process as
//! tickete-server assembles it, without its HTTP side, so a test can stop and restart it.

use std::time::{Duration, Instant};

use tickete_app::partner::Partner;
use tickete_app::runtime::Running;
use tickete_app::settings::{CommonArgs, PartnerArgs, StoreArgs, SyncArgs};
use tickete_app::{App, Settings};
use tokio::runtime::Runtime;

use super::{kinds, Deployment, CATALOGUE};

/// The server's engine (worker, scheduler and upkeep) on a runtime of the test's.
pub(super) struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    join: tokio::task::JoinHandle<()>,
    database_url: String,
    partner_url: String,
    rate: String,
}

pub(super) fn engine_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

impl Server {
    /// Assembles the engine as tickete-server does and returns once it is running.
    pub(super) fn start(runtime: &Runtime, deployment: &Deployment, rate: &str) -> Self {
        Self::launch(
            runtime,
            deployment.database_url.clone(),
            deployment.partner_url.clone(),
            rate.to_owned(),
        )
    }

    fn launch(runtime: &Runtime, database_url: String, partner_url: String, rate: String) -> Self {
        let settings = Settings::resolve(&CommonArgs {
            store: StoreArgs {
                database_url: Some(database_url.clone()),
            },
            partner: PartnerArgs {
                partner_url: Some(partner_url.clone()),
                partner_rate_per_minute: Some(rate.parse().unwrap()),
                ..PartnerArgs::default()
            },
            sync: SyncArgs {
                products: Some(CATALOGUE.into()),
                ..SyncArgs::default()
            },
            ..CommonArgs::default()
        })
        .unwrap();
        let (ready, started) = tokio::sync::oneshot::channel::<()>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let join = runtime.spawn(async move {
            let app = App::open(settings).await.unwrap();
            app.seed().await.unwrap();
            let partner = Partner::start(&app.settings().partner).await.unwrap();
            let (engine, scheduler) = app.service_engine(partner.source.clone()).await.unwrap();
            let running = Running::start(engine, scheduler, partner, None)
                .await
                .unwrap();
            let _ = ready.send(());
            let _ = stopped.await;
            running.shutdown().await;
        });
        if runtime.block_on(started).is_err() {
            // The task panicked before it was running: show why.
            runtime.block_on(join).unwrap();
            unreachable!("the server task ended without starting");
        }
        let server = Self {
            stop,
            join,
            database_url,
            partner_url,
            rate,
        };
        server.wait_until_registered();
        server
    }

    /// The scheduler registers the process and looks after orphaned runs as it starts; wait
    /// until it is listed, so a restart is complete when `start` returns.
    fn wait_until_registered(&self) {
        let deployment = Deployment {
            database_url: self.database_url.clone(),
            partner_url: self.partner_url.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let processes = deployment.json(&["processes"]);
            if kinds(&processes).iter().any(|kind| kind == "server") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not register within 10 s: {processes}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it as a SIGTERM would: the in-flight call finishes, its own runs are handed over.
    pub(super) fn stop(self, runtime: &Runtime) {
        let _ = self.stop.send(());
        runtime.block_on(self.join).unwrap();
    }

    /// Stops it and starts a new one on the same store.
    pub(super) fn restart(self, runtime: &Runtime) -> Self {
        let (database_url, partner_url, rate) = (
            self.database_url.clone(),
            self.partner_url.clone(),
            self.rate.clone(),
        );
        self.stop(runtime);
        Self::launch(runtime, database_url, partner_url, rate)
    }
}
