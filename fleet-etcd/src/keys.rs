//! Where a fleet's records live in etcd: everything under `/fleet/<fleet>/`, so that fleets
//! share one etcd without touching each other's keys.

use fleet_core::{ClusterId, ClusterIdentity, FleetName};

/// The key layout of one fleet.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(fleet: &FleetName) -> Self {
        Self { prefix: format!("/fleet/{fleet}/") }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Intents by id, zero-padded so that keys sort as ids do.
    pub fn intents(&self) -> String {
        self.key("intents/")
    }

    pub fn intent(&self, id: u64) -> String {
        self.key(&format!("intents/{id:020}"))
    }

    pub fn events(&self) -> String {
        self.key("events/")
    }

    pub fn event(&self, seq: u64) -> String {
        self.key(&format!("events/{seq:020}"))
    }

    /// The last id given out, for `counter` `intents` or `events`.
    pub fn counter(&self, counter: &str) -> String {
        self.key(&format!("counters/{counter}"))
    }

    pub fn observed_all(&self) -> String {
        self.key("observed/")
    }

    pub fn observed(&self, id: &ClusterId) -> String {
        self.key(&format!("observed/{id}"))
    }

    pub fn placements(&self) -> String {
        self.key("placements/")
    }

    pub fn placement(&self, identity: &ClusterIdentity) -> String {
        self.key(&format!("placements/{identity}"))
    }

    /// Accepted self-service environments, by id.
    pub fn environments(&self) -> String {
        self.key("environments/")
    }

    pub fn environment(&self, id: &ClusterId) -> String {
        self.key(&format!("environments/{id}"))
    }

    /// Failover moves, by when they started (zero-padded milliseconds) and identity.
    pub fn failover_moves(&self) -> String {
        self.key("failover/")
    }

    pub fn failover_move(&self, started_ms: u64, identity: &ClusterIdentity) -> String {
        self.key(&format!("failover/{started_ms:020}/{identity}"))
    }

    /// Live replicas, each key held by its replica's lease.
    pub fn members(&self) -> String {
        self.key("members/")
    }

    pub fn member(&self, replica: &str) -> String {
        self.key(&format!("members/{replica}"))
    }

    /// Shard owners, each key held by its owner's lease.
    pub fn shards(&self) -> String {
        self.key("shards/")
    }

    pub fn shard(&self, shard: u32) -> String {
        self.key(&format!("shards/{shard:05}"))
    }

    /// The desired fleet the replicas follow.
    pub fn desired(&self) -> String {
        self.key("desired")
    }

    /// The shard number of a shard key.
    pub fn shard_number(&self, key: &[u8]) -> Option<u32> {
        std::str::from_utf8(key).ok()?.strip_prefix(&self.shards())?.parse().ok()
    }
}
