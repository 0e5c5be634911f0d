//! Observing: every provider listed within its read budget, what could not be seen kept as
//! `Unreachable` from the store, and the store's observations made to match what was seen.

use std::sync::Arc;

use super::budget::CallKind;
use super::{Engine, EngineEvent, Unseen, store_reads};
use crate::store::{IntentOperation, RecordKind};
use crate::{Cluster, ClusterPhase, FleetTags, Result};

impl Engine {
    /// Lists every provider; returns this fleet's clusters that this engine owns, and the
    /// providers and regions that could not be listed.
    pub(crate) async fn observe(&self) -> (Vec<Cluster>, Unseen) {
        let mut observed = Vec::new();
        let mut unseen = Unseen::default();
        for (name, slot) in &self.inner.slots {
            slot.budget.call(CallKind::Read).await;
            match slot.provider.list().await {
                Ok(listing) => {
                    for lost in listing.unreachable {
                        self.inner.emit(EngineEvent::RegionUnavailable {
                            provider: name.clone(),
                            region: lost.region.clone(),
                            error: lost.error.to_string(),
                        });
                        unseen.add_region(name.clone(), lost.region);
                    }
                    // A cluster listed in a region reported unreachable is not trusted either.
                    observed.extend(listing.clusters.into_iter().filter(|c| {
                        FleetTags::belongs_to(&c.tags, &self.inner.fleet)
                            && self.inner.owns_cluster(c)
                            && !unseen.covers(name, &c.region)
                    }));
                }
                Err(err) => {
                    self.inner
                        .emit(EngineEvent::ProviderUnavailable { provider: name.clone(), error: err.to_string() });
                    unseen.add_provider(name.clone());
                }
            }
        }
        observed.sort_by(|a, b| a.id.cmp(&b.id));
        (observed, unseen)
    }

    /// `observed` plus the last stored observation of every cluster of a provider or region
    /// that could not be listed, as `Unreachable`: a cluster out of sight is still this fleet's.
    pub(crate) async fn with_unreachable(
        &self,
        observed: Arc<Vec<Cluster>>,
        unseen: &Unseen,
    ) -> Result<Arc<Vec<Cluster>>> {
        if unseen.is_empty() {
            return Ok(observed);
        }
        let mut observed = Arc::unwrap_or_clone(observed);
        for mut cluster in self.inner.store.observed().await? {
            if unseen.covers(&cluster.provider, &cluster.region) && self.inner.owns_cluster(&cluster) {
                cluster.phase = ClusterPhase::Unreachable;
                observed.push(cluster);
            }
        }
        // A create whose outcome is unknown (the process stopped before it learned it) may
        // have made a cluster there: it counts as one, unreachable, until the provider answers.
        for intent in self.inner.store.pending_intents().await? {
            let Some(spec) = intent.intent.spec.as_ref() else { continue };
            let known = observed.iter().any(|c| c.id == spec.id && c.provider == spec.provider);
            if intent.intent.operation != IntentOperation::Create
                || !unseen.covers(&spec.provider, &spec.region)
                || known
                || !self.inner.owns(&spec.identity())
            {
                continue;
            }
            let mut cluster = Cluster::new(
                spec.id.clone(),
                spec.provider.clone(),
                String::new(),
                spec.region.clone(),
                ClusterPhase::Unreachable,
            );
            cluster.tags = FleetTags::cluster_tags(&self.inner.fleet, spec).into();
            cluster.kubernetes_version = Some(spec.kubernetes_version);
            cluster.node_pools = spec.node_pools.clone();
            observed.push(cluster);
        }
        observed.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Arc::new(observed))
    }

    /// Makes the store's observations match what the providers showed; returns how many
    /// clusters were adopted (found at a provider, unknown to the store). `observed` is sorted
    /// by name; the two are walked side by side.
    pub(super) async fn sync_store(&self, observed: &Arc<Vec<Cluster>>, unseen: &Unseen) -> Result<usize> {
        let store = &self.inner.store;
        let revision = store.revision();
        let read = store_reads::observed(&self.inner, revision).await?;
        let sorted;
        let stored: &[Cluster] = if read.is_sorted_by(|a, b| a.id <= b.id) {
            &read
        } else {
            sorted = {
                let mut stored = read.to_vec();
                stored.sort_by(|a, b| a.id.cmp(&b.id));
                stored
            };
            &sorted
        };
        let stored: Vec<&Cluster> = stored.iter().filter(|c| self.inner.owns_cluster(c)).collect();
        let mut stored = stored.into_iter().peekable();
        let (mut adopted, mut previous, mut writes) = (0, None, 0);
        for cluster in observed.iter() {
            // Records named before this cluster: seen if they have the previous cluster's name.
            while let Some(known) = stored.next_if(|known| known.id < cluster.id) {
                if previous != Some(&known.id) {
                    writes += self.forget_observed(known, unseen).await?;
                }
            }
            previous = Some(&cluster.id);
            match stored.peek().filter(|known| known.id == cluster.id) {
                None => {
                    adopted += 1;
                    writes += 1;
                    store.put_observed(cluster).await?;
                    store
                        .append_event(
                            RecordKind::ClusterAdopted,
                            Some(&cluster.id),
                            "found at its provider with this fleet's tags",
                            self.inner.now(),
                        )
                        .await?;
                    self.inner.emit(EngineEvent::ClusterAdopted { cluster: cluster.id.clone() });
                }
                Some(known) if *known != cluster => {
                    writes += 1;
                    store.put_observed(cluster).await?;
                }
                Some(_) => {}
            }
        }
        // What is left was not seen, but for a record of the last name seen.
        for gone in stored.filter(|known| previous != Some(&known.id)) {
            writes += self.forget_observed(gone, unseen).await?;
        }
        // Nothing written, everything seen and owned, the store unchanged meanwhile: it holds
        // exactly this observation, which the next pass compares with instead of reading it.
        if let Some(revision) = revision
            && writes == 0
            && unseen.is_empty()
            && self.inner.ownership.owns_everything()
            && store.revision() == Some(revision)
        {
            store_reads::agreed(&self.inner, revision, observed);
        }
        Ok(adopted)
    }

    /// Removes the store's record of `gone`, a cluster not seen at its provider, unless its
    /// provider or region could not be listed; returns how many records it removed.
    async fn forget_observed(&self, gone: &Cluster, unseen: &Unseen) -> Result<usize> {
        if unseen.covers(&gone.provider, &gone.region) {
            return Ok(0);
        }
        self.inner.store.remove_observed(&gone.id).await?;
        Ok(1)
    }
}
