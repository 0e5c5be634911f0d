//! # fleet-etcd
//!
//! Fleet with several replicas: the engine's journal in etcd, and each logical cluster acted
//! on by exactly one replica at a time.
//!
//! - [`EtcdStore`] implements `StateStore` (intents, observations, events of record,
//!   placements) with one transaction per write, under `/fleet/<fleet>/`, so fleets share an
//!   etcd safely.
//! - [`Replica`] joins a fleet's replicas with a lease, and holds shards: logical clusters hash
//!   to a fixed number of shards ([`shard_of`]); each shard is held by one replica through a
//!   key attached to its lease, chosen by rendezvous hashing, so shards move only when their
//!   replica joins or leaves (or its lease expires). Watches on the members and shard keys
//!   make replicas rebalance at once.
//! - Fencing: the store of a replica compares, in every write about a cluster, the owner key
//!   of that cluster's shard with the revision it took it at; the engine asks
//!   [`Replica::ownership`] before acting and before every provider call, and the intent
//!   write right before each call is fenced. A paused or partitioned replica whose lease
//!   expired cannot write, so its provider calls never start.
//! - [`Replica::attach`] makes an engine follow the desired fleet published with
//!   [`EtcdStore::publish_desired`] and wake when its shards change: no polling.
//!
//! ```no_run
//! use std::sync::Arc;
//! use fleet_core::engine::Engine;
//! use fleet_core::FleetName;
//! use fleet_etcd::{Replica, ReplicaOptions};
//! # async fn demo(provider: Arc<dyn fleet_core::ClusterProvider>) -> fleet_core::Result<()> {
//! let fleet = FleetName::new("prod")?;
//! let replica = Replica::join(&["http://127.0.0.1:2379"], &fleet, "replica-a", ReplicaOptions::default()).await?;
//! let engine = Engine::builder(fleet)
//!     .provider(provider)
//!     .store(replica.store()).ownership(replica.ownership())
//!     .build()?;
//! replica.attach(engine.clone());
//! # Ok(()) }
//! ```

mod connect;
mod held;
mod keys;
mod replica;
mod shards;
mod store;

pub use replica::{Replica, ReplicaOptions};
pub use shards::shard_of;
pub use store::EtcdStore;
