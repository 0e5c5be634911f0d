//! Time to live: clusters whose TTL ended are not wanted again, and each is warned of once
//! before it ends.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Engine, EngineEvent};
use crate::fleet_spec::{DesiredCluster, DesiredFleet};
use crate::store::RecordKind;
use crate::{Cluster, ClusterIdentity, ClusterSpec, Result};

impl Engine {
    /// The desired fleet without the clusters whose TTL has ended: once expired, a cluster is
    /// not created again.
    pub(super) async fn without_expired(&self, desired: Arc<DesiredFleet>) -> Result<Arc<DesiredFleet>> {
        if self.inner.state().expired.is_none() {
            let recorded: BTreeSet<ClusterIdentity> = self
                .inner
                .store
                .events_after(0)
                .await?
                .into_iter()
                .filter(|event| event.kind == RecordKind::ClusterExpired)
                .filter_map(|event| event.identity())
                .collect();
            self.inner.state().expired.get_or_insert(recorded);
        }
        let state = self.inner.state();
        let Some(expired) = state.expired.as_ref().filter(|expired| !expired.is_empty()) else { return Ok(desired) };
        let wanted = |c: &&DesiredCluster| c.spec.ttl.is_none() || !expired.contains(&c.spec.identity());
        if desired.clusters.iter().all(|c| wanted(&c)) {
            return Ok(desired);
        }
        let clusters = desired.clusters.iter().filter(wanted).cloned().collect();
        Ok(Arc::new(DesiredFleet::new(desired.name.clone(), clusters)))
    }

    /// Sends [`EngineEvent::ExpiringSoon`] once for each cluster within
    /// [`EngineOptions::expiry_warning`] of the end of its TTL.
    pub(super) async fn warn_of_expiry(&self, desired: &DesiredFleet, observed: &[Cluster]) -> Result<()> {
        for (spec, remaining) in expiring(desired, observed, self.inner.now(), self.inner.options.expiry_warning) {
            if self.inner.state().warned.insert(spec.identity()) {
                let message = format!("its time to live ends in {}", crate::format_duration(remaining));
                self.inner
                    .store
                    .append_event(RecordKind::ClusterExpiring, Some(&spec.id), &message, self.inner.now())
                    .await?;
                self.inner.emit(EngineEvent::ExpiringSoon { identity: spec.identity(), remaining });
            }
        }
        Ok(())
    }
}

/// The specs of `desired` whose TTL ends within `warning` of `now` (and has not ended), with the
/// time left: a TTL runs from the creation of the identity's first cluster `observed`.
pub(super) fn expiring<'a>(
    desired: &'a DesiredFleet,
    observed: &[Cluster],
    now: SystemTime,
    warning: Duration,
) -> Vec<(&'a ClusterSpec, Duration)> {
    desired
        .specs()
        .filter_map(|spec| {
            let ttl = spec.ttl?;
            let created = observed
                .iter()
                .filter(|c| c.fleet_tags().is_some_and(|t| t.identity == spec.identity()))
                .filter_map(|c| c.created_at)
                .min()?;
            let remaining = created.checked_add(ttl)?.duration_since(now).unwrap_or_default();
            (remaining > Duration::ZERO && remaining <= warning).then_some((spec, remaining))
        })
        .collect()
}
