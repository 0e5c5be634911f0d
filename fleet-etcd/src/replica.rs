//! [`Replica`]: one of a fleet's replicas. It keeps a lease alive, registers itself under the
//! fleet's members, and takes and gives back shards so that each shard is held by the replica
//! rendezvous hashing prefers among the live ones. Shard keys carry the holder's lease: when a
//! replica dies, etcd deletes them once its lease expires, and the others take them over.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, EventType, GetOptions, PutOptions, Txn, TxnOp, WatchOptions};
use fleet_core::engine::{Engine, Ownership};
use fleet_core::{Error, FleetName, Result};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::connect::{connect, etcd_error};
use crate::held::{Held, ShardOwnership};
use crate::keys::Keys;
use crate::shards::preferred_owner;
use crate::store::EtcdStore;

/// How replicas share a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplicaOptions {
    /// The number of shards (the same for every replica of a fleet; default 32).
    pub shards: u32,
    /// The lease time-to-live: how long a dead replica keeps its shards (default 10 s; etcd
    /// may raise very short ones to its minimum).
    pub lease_ttl: Duration,
}

impl Default for ReplicaOptions {
    fn default() -> Self {
        Self { shards: 32, lease_ttl: Duration::from_secs(10) }
    }
}

impl ReplicaOptions {
    /// Sets [`ReplicaOptions::shards`].
    pub fn with_shards(mut self, shards: u32) -> Self {
        self.shards = shards;
        self
    }

    /// Sets [`ReplicaOptions::lease_ttl`].
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }
}

struct Inner {
    id: String,
    client: Client,
    keys: Keys,
    options: ReplicaOptions,
    lease: AtomicI64,
    held: Arc<Held>,
    changes: watch::Sender<Vec<u32>>,
    paused: AtomicBool,
    rebalance_now: Notify,
}

/// One replica of a fleet; see the module documentation. Dropping it stops its tasks without
/// giving its lease back (as a crash would); [`Replica::leave`] hands its shards over at once.
pub struct Replica {
    inner: Arc<Inner>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica").field("id", &self.inner.id).field("shards", &self.inner.held.shards_held()).finish()
    }
}

impl Replica {
    /// Joins `fleet`'s replicas as `id` (unique among them), through etcd at `endpoints`.
    pub async fn join<E: AsRef<str>>(
        endpoints: &[E],
        fleet: &FleetName,
        id: impl Into<String>,
        options: ReplicaOptions,
    ) -> Result<Replica> {
        let id = id.into();
        if id.is_empty() || id.contains('/') || id.chars().any(char::is_control) {
            return Err(Error::InvalidSpec {
                path: "replica id".into(),
                reason: format!("`{id}` must be non-empty, without `/` or control characters"),
            });
        }
        if options.shards == 0 || options.lease_ttl < Duration::from_secs(1) {
            return Err(Error::InvalidSpec {
                path: "ReplicaOptions".into(),
                reason: "at least one shard and a lease of at least one second".into(),
            });
        }
        let client = connect(endpoints).await?;
        let (changes, _) = watch::channel(Vec::new());
        let inner = Arc::new(Inner {
            id,
            client,
            keys: Keys::new(fleet),
            held: Arc::new(Held::new(options.shards)),
            options,
            lease: AtomicI64::new(0),
            changes,
            paused: AtomicBool::new(false),
            rebalance_now: Notify::new(),
        });
        inner.register().await?;
        inner.rebalance().await?;
        let replica = Replica { inner: Arc::clone(&inner), tasks: Mutex::new(Vec::new()) };
        replica.spawn(Arc::clone(&inner).keep_alive());
        replica.spawn(inner.follow_membership());
        Ok(replica)
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(tokio::spawn(task));
    }

    /// This replica's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The shards this replica holds now.
    pub fn held_shards(&self) -> Vec<u32> {
        self.inner.held.shards_held()
    }

    /// The held shards, each time they change.
    pub fn subscribe(&self) -> watch::Receiver<Vec<u32>> {
        self.inner.changes.subscribe()
    }

    /// The store for this replica's engine: fenced by the shards it holds.
    pub fn store(&self) -> Arc<EtcdStore> {
        Arc::new(EtcdStore::new(self.inner.client.clone(), self.inner.keys.clone(), Some(Arc::clone(&self.inner.held))))
    }

    /// What this replica's engine may act on: the clusters of the shards it holds, while its
    /// lease is alive.
    pub fn ownership(&self) -> Arc<dyn Ownership> {
        Arc::new(ShardOwnership(Arc::clone(&self.inner.held)))
    }

    /// Makes `engine` follow the desired fleet published in etcd and reconcile at once when
    /// this replica's shards change.
    pub fn attach(&self, engine: Engine) {
        self.spawn(Arc::clone(&self.inner).drive(engine));
    }

    /// Stops renewing the lease and reacting to changes, as a stalled process would; its view
    /// of the shards it held stays as it was. For drills and tests.
    pub fn pause(&self) {
        self.inner.paused.store(true, Ordering::SeqCst);
    }

    /// Ends a [`Replica::pause`]: the replica finds out what it lost and rejoins.
    pub fn resume(&self) {
        self.inner.paused.store(false, Ordering::SeqCst);
        self.inner.rebalance_now.notify_one();
    }

    /// Stops every task at once, leaving the lease to expire: what a killed process leaves.
    pub fn crash(&self) {
        for task in self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain(..) {
            task.abort();
        }
    }

    /// Leaves the fleet: stops, and revokes the lease so that the others take its shards now.
    pub async fn leave(self) -> Result<()> {
        self.crash();
        self.inner.held.clear();
        let lease = self.inner.lease.load(Ordering::SeqCst);
        self.inner.client.clone().lease_revoke(lease).await.map_err(etcd_error("revoke the lease"))?;
        Ok(())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.crash();
    }
}

impl Inner {
    fn paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    fn publish(&self) {
        let held = self.held.shards_held();
        self.changes.send_if_modified(|current| {
            let changed = *current != held;
            *current = held;
            changed
        });
    }

    /// Grants a new lease and registers this replica under it.
    async fn register(&self) -> Result<()> {
        let mut client = self.client.clone();
        let ttl = i64::try_from(self.options.lease_ttl.as_secs()).unwrap_or(i64::MAX);
        let lease = client.lease_grant(ttl, None).await.map_err(etcd_error("grant a lease"))?;
        self.lease.store(lease.id(), Ordering::SeqCst);
        self.held.lease_alive_until(Instant::now() + Duration::from_secs(lease.ttl().max(0).unsigned_abs()));
        let put = PutOptions::new().with_lease(lease.id());
        client.put(self.keys.member(&self.id), self.id.clone(), Some(put)).await.map_err(etcd_error("register"))?;
        Ok(())
    }

    /// Takes the shards this replica is preferred for and nobody holds, gives back those
    /// another live replica is preferred for (after a lease time-to-live without new work on
    /// them; the resync every time-to-live comes back to finish), and forgets those it lost.
    async fn rebalance(&self) -> Result<()> {
        let mut client = self.client.clone();
        let prefix = Some(GetOptions::new().with_prefix());
        let members = client.get(self.keys.members(), prefix.clone()).await.map_err(etcd_error("read members"))?;
        let mut live: Vec<String> =
            members.kvs().iter().filter_map(|kv| std::str::from_utf8(kv.value()).ok().map(str::to_owned)).collect();
        live.sort();
        if !live.contains(&self.id) {
            self.held.clear();
            self.publish();
            return Ok(());
        }
        let owners = client.get(self.keys.shards(), prefix).await.map_err(etcd_error("read shard owners"))?;
        let lease = self.lease.load(Ordering::SeqCst);
        for shard in 0..self.options.shards {
            let key = self.keys.shard(shard);
            let preferred = preferred_owner(shard, &live).is_some_and(|owner| *owner == self.id);
            let owner = owners.kvs().iter().find(|kv| self.keys.shard_number(kv.key()) == Some(shard));
            match owner {
                Some(kv) if kv.value() == self.id.as_bytes() => {
                    if preferred {
                        self.held.hold(shard, kv.create_revision());
                    } else if self.held.release(shard).elapsed() >= self.options.lease_ttl {
                        // Given back one lease time-to-live after new work on it stopped, so
                        // that calls under way finish before another replica takes over.
                        self.held.drop_shard(shard);
                        let give_back = Txn::new()
                            .when([Compare::create_revision(key.clone(), CompareOp::Equal, kv.create_revision())])
                            .and_then([TxnOp::delete(key, None)]);
                        client.txn(give_back).await.map_err(etcd_error("give a shard back"))?;
                    }
                }
                Some(_) => self.held.drop_shard(shard),
                None if preferred => {
                    let take = Txn::new()
                        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                        .and_then([TxnOp::put(key, self.id.clone(), Some(PutOptions::new().with_lease(lease)))]);
                    let taken = client.txn(take).await.map_err(etcd_error("take a shard"))?;
                    match taken.header() {
                        Some(header) if taken.succeeded() => self.held.hold(shard, header.revision()),
                        _ => self.held.drop_shard(shard),
                    }
                }
                None => self.held.drop_shard(shard),
            }
        }
        self.publish();
        Ok(())
    }

    /// Renews the lease every third of its time-to-live; a lease found expired (after a pause,
    /// a partition or an etcd restart that outlasted it) means every shard is lost and the
    /// replica registers again.
    async fn keep_alive(self: Arc<Self>) {
        let interval = self.options.lease_ttl / 3;
        loop {
            tokio::time::sleep(interval).await;
            if self.paused() {
                continue;
            }
            let lease = self.lease.load(Ordering::SeqCst);
            let mut client = self.client.clone();
            let renewed = match client.lease_keep_alive(lease).await {
                Ok((mut keeper, mut stream)) => match keeper.keep_alive().await {
                    Ok(()) => stream.message().await.ok().flatten().map(|answer| answer.ttl()),
                    Err(_) => None,
                },
                Err(_) => None,
            };
            // A refused renewal may mean an expired lease: ask how long it has left.
            let alive = match renewed {
                Some(ttl) if ttl > 0 => Some(ttl),
                _ => client.lease_time_to_live(lease, None).await.ok().map(|answer| answer.ttl()),
            };
            match alive {
                Some(ttl) if ttl > 0 => {
                    self.held.lease_alive_until(Instant::now() + Duration::from_secs(ttl.unsigned_abs()));
                }
                Some(_) => {
                    tracing::warn!(target: "fleet::etcd", replica = %self.id, "lease expired: every shard lost");
                    self.held.clear();
                    self.publish();
                    if self.register().await.is_ok() {
                        self.rebalance_now.notify_one();
                    }
                }
                // etcd unreachable: try again; the lease may still be alive.
                None => {}
            }
        }
    }

    /// Rebalances whenever a member or shard key changes (and every lease time-to-live, in
    /// case a watch missed something while etcd restarted).
    async fn follow_membership(self: Arc<Self>) {
        loop {
            if self.paused() {
                tokio::select! {
                    () = self.rebalance_now.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                continue;
            }
            let mut client = self.client.clone();
            let prefix = Some(WatchOptions::new().with_prefix());
            let watches = async {
                let members = client.watch(self.keys.members(), prefix.clone()).await?;
                let shards = client.watch(self.keys.shards(), prefix).await?;
                Ok::<_, etcd_client::Error>((members, shards))
            };
            let Ok((mut members, mut shards)) = watches.await else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            loop {
                if let Err(err) = self.rebalance().await {
                    tracing::warn!(target: "fleet::etcd", replica = %self.id, %err, "rebalance failed");
                }
                let watching = tokio::select! {
                    message = members.message() => matches!(message, Ok(Some(_))),
                    message = shards.message() => matches!(message, Ok(Some(_))),
                    () = self.rebalance_now.notified() => true,
                    () = tokio::time::sleep(self.options.lease_ttl) => true,
                };
                if !watching || self.paused() {
                    break;
                }
            }
        }
    }

    /// Follows the published desired fleet into `engine`, and wakes it when shards change.
    /// The watch starts right after the revision the fleet was read at, so no change falls
    /// between the read and the watch; a broken watch (etcd restarting) starts over.
    async fn drive(self: Arc<Self>, engine: Engine) {
        let mut changes = self.changes.subscribe();
        loop {
            let mut client = self.client.clone();
            let Ok(current) = client.get(self.keys.desired(), None).await else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            if let Some(kv) = current.kvs().first() {
                self.follow(&engine, kv.value());
            }
            let from = current.header().map_or(0, |header| header.revision()) + 1;
            let options = WatchOptions::new().with_start_revision(from);
            let Ok(mut desired) = client.watch(self.keys.desired(), Some(options)).await else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            loop {
                tokio::select! {
                    message = desired.message() => match message {
                        Ok(Some(answer)) if !answer.canceled() => {
                            let latest = answer.events().iter().rev().find(|e| e.event_type() == EventType::Put);
                            if let Some(kv) = latest.and_then(|event| event.kv()) {
                                self.follow(&engine, kv.value());
                            }
                        }
                        _ => break,
                    },
                    changed = changes.changed() => match changed {
                        Ok(()) => engine.wake(),
                        Err(_) => return,
                    },
                }
            }
        }
    }

    fn follow(&self, engine: &Engine, value: &[u8]) {
        match serde_json::from_slice(value) {
            Ok(desired) => {
                if let Err(err) = engine.set_desired(desired) {
                    tracing::warn!(target: "fleet::etcd", replica = %self.id, %err, "desired fleet refused");
                }
            }
            Err(err) => tracing::warn!(target: "fleet::etcd", replica = %self.id, %err, "desired fleet unreadable"),
        }
    }
}
