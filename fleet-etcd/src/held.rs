//! [`Held`]: the shards a replica holds, each with the create revision of its owner key in
//! etcd: the fencing token that every write made for the shard compares in its transaction.

use std::collections::BTreeMap;
use std::sync::Mutex;

use fleet_core::ClusterIdentity;
use fleet_core::engine::Ownership;
use tokio::time::Instant;

use crate::shards::shard_of;

/// What one replica holds, shared by its coordinator, its store and its ownership.
#[derive(Debug)]
pub(crate) struct Held {
    pub shards: u32,
    tokens: Mutex<BTreeMap<u32, i64>>,
    /// Shards being given back, with when: no new work starts on them, work under way may
    /// still write, and the owner key goes once the grace has passed.
    releasing: Mutex<BTreeMap<u32, Instant>>,
    /// Until when the replica's lease is known to be alive (from its last keep-alive).
    lease_valid_until: Mutex<Option<Instant>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Held {
    pub fn new(shards: u32) -> Self {
        Self {
            shards,
            tokens: Mutex::new(BTreeMap::new()),
            releasing: Mutex::new(BTreeMap::new()),
            lease_valid_until: Mutex::new(None),
        }
    }

    /// The shard of `identity`.
    pub fn shard_of(&self, identity: &ClusterIdentity) -> u32 {
        shard_of(identity, self.shards)
    }

    /// The fencing token of `shard`, if it is held.
    pub fn token(&self, shard: u32) -> Option<i64> {
        lock(&self.tokens).get(&shard).copied()
    }

    pub fn hold(&self, shard: u32, token: i64) {
        lock(&self.tokens).insert(shard, token);
        lock(&self.releasing).remove(&shard);
    }

    pub fn drop_shard(&self, shard: u32) {
        lock(&self.tokens).remove(&shard);
        lock(&self.releasing).remove(&shard);
    }

    pub fn clear(&self) {
        lock(&self.tokens).clear();
        lock(&self.releasing).clear();
    }

    /// Starts giving `shard` back, if not already; returns since when it is being given back.
    pub fn release(&self, shard: u32) -> Instant {
        *lock(&self.releasing).entry(shard).or_insert_with(Instant::now)
    }

    /// Whether new work may start on `shard`: held, and not being given back.
    pub fn active(&self, shard: u32) -> bool {
        self.token(shard).is_some() && !lock(&self.releasing).contains_key(&shard)
    }

    /// The shards held, in order.
    pub fn shards_held(&self) -> Vec<u32> {
        lock(&self.tokens).keys().copied().collect()
    }

    pub fn lease_alive_until(&self, until: Instant) {
        *lock(&self.lease_valid_until) = Some(until);
    }

    /// Whether the lease is alive as far as this replica knows.
    pub fn lease_alive(&self) -> bool {
        lock(&self.lease_valid_until).is_some_and(|until| Instant::now() < until)
    }
}

/// The engine's view of a replica's shards: it owns a logical cluster while its shard is held
/// (and not being given back) and its lease is known to be alive. (Writes are fenced in etcd
/// besides: a replica that believes this wrongly still cannot write.)
pub(crate) struct ShardOwnership(pub std::sync::Arc<Held>);

impl Ownership for ShardOwnership {
    fn owns(&self, identity: &ClusterIdentity) -> bool {
        self.0.lease_alive() && self.0.active(self.0.shard_of(identity))
    }
}
