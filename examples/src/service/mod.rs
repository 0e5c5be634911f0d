//! The reference service: Fleet inside a Rust service, as a platform team would run it.
//!
//! It embeds Fleet through its [`Runtime`]: the engine and the failover controller on the
//! embedded SQLite store, the desired state read from a repository directory and reloaded when
//! its files change ([`reload`]), the **simulated** clouds by default (at service speed, see
//! [`crate::service_clouds`]) or real providers by feature and configuration ([`Providers`]);
//! and it serves an HTTP API ([`api`]) with teams' bearer tokens ([`tokens`]) and Prometheus
//! metrics. `cargo run -p fleet-examples --example service -- --help` lists its options.

pub mod api;
pub mod config;
pub mod environments;
pub mod problem;
pub mod reload;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use fleet::engine::EngineEvent;
use fleet::repository::Repository;
use fleet::runtime::Runtime;
use fleet::sim::SimCloud;
use fleet::store::SqliteStore;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{Providers, ServiceConfig};

/// Any error starting or running the service.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A started service; [`RunningService::stop`] stops it.
pub struct RunningService {
    addr: SocketAddr,
    runtime: Runtime,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningService").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl RunningService {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The runtime it serves.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Stops it: no new connection is taken, requests being answered finish, the engine's
    /// pass in progress ends within its grace (every call it made was journalled first, so a
    /// restart on the same state file settles it) and the store is closed.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            // A task that panicked has nothing left to stop.
            let _ = task.await;
        }
    }
}

/// Starts the service `config` describes, recording metrics into `metrics` when given.
///
/// # Errors
/// The tokens file, the repository (each error with its file and line), the state file, or the
/// listening address.
pub async fn start(config: ServiceConfig, metrics: Option<PrometheusHandle>) -> Result<RunningService, Failure> {
    let tokens = Arc::new(tokens::Tokens::load(&config.tokens)?);
    let infos = config.providers.infos();
    let fleet = Repository::load_dir(&config.repository)?.desired(&infos)?.fleet.name;
    if let Some(parent) = config.state.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let store = SqliteStore::open(&config.state, &fleet).await?;
    let mut builder =
        Runtime::builder(&config.repository).store(Arc::new(store)).engine_options(config.engine_options());
    builder = match config.providers {
        Providers::Simulated(clouds) => clouds.into_iter().fold(builder, fleet::runtime::RuntimeBuilder::simulated),
        Providers::Given(providers) => providers.into_iter().fold(builder, fleet::runtime::RuntimeBuilder::provider),
    };
    let runtime = builder.build()?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let ready = Arc::new(AtomicBool::new(false));
    let reloads = Arc::new(Mutex::new(reload::ReloadState::default()));
    let router = api::router(api::Api {
        runtime: runtime.clone(),
        tokens,
        metrics,
        ready: Arc::clone(&ready),
        reloads: Arc::clone(&reloads),
    });
    let mut events = runtime.events();
    let tasks = vec![
        tokio::spawn({
            let (runtime, shutdown) = (runtime.clone(), shutdown.clone());
            async move { runtime.run(shutdown).await }
        }),
        tokio::spawn(reload::watch(
            runtime.clone(),
            config.repository.clone(),
            config.reload_every,
            reloads,
            shutdown.clone(),
        )),
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        event = events.recv() => match event {
                            Ok(EngineEvent::PassCompleted { .. }) => ready.store(true, Ordering::Release),
                            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                        },
                    }
                }
                ready.store(false, Ordering::Release);
            }
        }),
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                let serving = axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned());
                if let Err(err) = serving.await {
                    tracing::error!(%err, "the HTTP server stopped");
                }
            }
        }),
    ];
    Ok(RunningService { addr, runtime, shutdown, tasks })
}

/// The histograms' buckets, in seconds: from a millisecond (a call, a wait for API budget) to an
/// hour (a failover's recovery).
const SECONDS_BUCKETS: [f64; 16] =
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// The Prometheus recorder of this process, installed on first use, with Fleet's metrics
/// described ([`fleet::telemetry::describe`]); `None` when another recorder was installed
/// first.
pub fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new().set_buckets(&SECONDS_BUCKETS).ok()?.install_recorder().ok()?;
            fleet::telemetry::describe();
            metrics::describe_counter!(
                "fleet_service_repository_reloads_total",
                "Changes of the repository directory taken or refused, by outcome."
            );
            Some(handle)
        })
        .clone()
}

/// Waits for SIGTERM or SIGINT (Ctrl-C).
pub async fn termination() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "SIGTERM cannot be caught; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// The service's `main`: reads the options from `args`, starts, serves until SIGTERM or
/// Ctrl-C, and stops cleanly.
///
/// # Errors
/// Bad options, or what [`start`] returns.
pub async fn main(args: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    let Some(config) = ServiceConfig::from_args(args).await? else {
        println!("{}", config::USAGE);
        return Ok(());
    };
    tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).with_target(false).init();
    let metrics = prometheus();
    let service = start(config, metrics).await?;
    println!("fleet service listening on http://{}", service.addr());
    termination().await;
    println!("stopping: the engine ends its pass, everything in flight is journalled");
    service.stop().await;
    println!("stopped");
    Ok(())
}

/// The simulated clouds of the repository in `dir` at service speed, for [`Providers::Simulated`].
///
/// # Errors
/// The repository's errors.
pub fn simulated(dir: &std::path::Path, seed: u64) -> Result<Vec<SimCloud>, Failure> {
    Ok(crate::service_clouds(&Repository::load_dir(dir)?, seed))
}
