//! [`MemoryStore`]: the state store in memory, for tests and short-lived programs.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use super::placement::stale_generation;
use super::{
    AcceptedEnvironment, EventRecord, Intent, IntentOutcome, NewIntent, Placement, StateStore, move_key, store_error,
};
use super::{MoveReport, RecordKind};
use crate::{Cluster, ClusterId, ClusterIdentity, Result};

/// A state store in memory: lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    intents: Vec<Intent>,
    observed: BTreeMap<ClusterId, Cluster>,
    events: Vec<EventRecord>,
    placements: BTreeMap<ClusterIdentity, Placement>,
    environments: BTreeMap<ClusterId, AcceptedEnvironment>,
    failover_moves: BTreeMap<(u64, ClusterIdentity), MoveReport>,
    /// Bumped by every write ([`StateStore::revision`]).
    revision: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        crate::mutex::lock(&self.inner)
    }

    /// The store, locked for a write: its revision moves on.
    fn write(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self.inner();
        inner.revision += 1;
        inner
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    fn revision(&self) -> Option<u64> {
        Some(self.inner().revision)
    }

    async fn record_intent(&self, intent: NewIntent, at: SystemTime) -> Result<u64> {
        let mut inner = self.write();
        let id = inner.intents.len() as u64 + 1;
        inner.intents.push(Intent { id, intent, recorded_at: at, outcome: None });
        Ok(id)
    }

    async fn resolve_intent(&self, id: u64, outcome: IntentOutcome) -> Result<()> {
        let mut inner = self.write();
        // Ids are positions from 1.
        let intent = usize::try_from(id)
            .ok()
            .and_then(|id| id.checked_sub(1))
            .and_then(|index| inner.intents.get_mut(index))
            .ok_or_else(|| store_error("resolve intent", format!("no intent {id}")))?;
        intent.outcome = Some(outcome);
        Ok(())
    }

    async fn pending_intents(&self) -> Result<Vec<Intent>> {
        Ok(self.inner().intents.iter().filter(|intent| intent.outcome.is_none()).cloned().collect())
    }

    async fn intents(&self) -> Result<Vec<Intent>> {
        Ok(self.inner().intents.clone())
    }

    async fn put_observed(&self, cluster: &Cluster) -> Result<()> {
        self.write().observed.insert(cluster.id.clone(), cluster.clone());
        Ok(())
    }

    async fn remove_observed(&self, id: &ClusterId) -> Result<()> {
        self.write().observed.remove(id);
        Ok(())
    }

    async fn observed(&self) -> Result<Vec<Cluster>> {
        Ok(self.inner().observed.values().cloned().collect())
    }

    async fn append_event(
        &self,
        kind: RecordKind,
        cluster: Option<&ClusterId>,
        message: &str,
        at: SystemTime,
    ) -> Result<u64> {
        let mut inner = self.write();
        let seq = inner.events.len() as u64 + 1;
        inner.events.push(EventRecord { seq, at, kind, cluster: cluster.cloned(), message: message.to_owned() });
        Ok(seq)
    }

    async fn events_after(&self, after: u64) -> Result<Vec<EventRecord>> {
        Ok(self.inner().events.iter().filter(|event| event.seq > after).cloned().collect())
    }

    async fn placements(&self) -> Result<Vec<Placement>> {
        Ok(self.inner().placements.values().cloned().collect())
    }

    async fn placement(&self, identity: &ClusterIdentity) -> Result<Option<Placement>> {
        Ok(self.inner().placements.get(identity).cloned())
    }

    async fn write_placement(&self, placement: &Placement) -> Result<Placement> {
        let mut inner = self.write();
        let stored = inner.placements.get(&placement.identity).map_or(0, |p| p.generation);
        if stored != placement.generation {
            return Err(stale_generation(&placement.identity, placement.generation, stored));
        }
        let written = Placement { generation: stored + 1, ..placement.clone() };
        inner.placements.insert(placement.identity.clone(), written.clone());
        Ok(written)
    }

    async fn remove_placement(&self, identity: &ClusterIdentity, generation: u64) -> Result<()> {
        let mut inner = self.write();
        match inner.placements.get(identity).map(|p| p.generation) {
            None => Ok(()),
            Some(stored) if stored == generation => {
                inner.placements.remove(identity);
                Ok(())
            }
            Some(stored) => Err(stale_generation(identity, generation, stored)),
        }
    }

    async fn put_environment(&self, environment: &AcceptedEnvironment) -> Result<()> {
        self.write().environments.insert(environment.id().clone(), environment.clone());
        Ok(())
    }

    async fn remove_environment(&self, id: &ClusterId) -> Result<()> {
        self.write().environments.remove(id);
        Ok(())
    }

    async fn environments(&self) -> Result<Vec<AcceptedEnvironment>> {
        Ok(self.inner().environments.values().cloned().collect())
    }

    async fn put_failover_move(&self, report: &MoveReport) -> Result<()> {
        self.write().failover_moves.insert(move_key(report), report.clone());
        Ok(())
    }

    async fn failover_moves(&self) -> Result<Vec<MoveReport>> {
        Ok(self.inner().failover_moves.values().cloned().collect())
    }
}
