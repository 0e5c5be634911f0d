//! Clusters the cloud upgraded ahead of their spec (end of support, GKE's automatic
//! control-plane upgrades): adopted at the version they run, never downgraded or replaced, and
//! reported once per version reached.

use std::collections::BTreeMap;

use super::EngineInner;
use super::events::EngineEvent;
use crate::fleet_spec::DesiredFleet;
use crate::plan::version_ahead;
use crate::store::RecordKind;
use crate::{Cluster, ClusterId, KubernetesVersion, Result};

/// The version each cluster was last reported ahead at.
pub(crate) type Reported = BTreeMap<ClusterId, KubernetesVersion>;

/// Reports every observed cluster newly found ahead of its spec: an engine event and an event
/// of record (`version_adopted`).
pub(crate) async fn report(engine: &EngineInner, desired: &DesiredFleet, observed: &[Cluster]) -> Result<()> {
    let specs: BTreeMap<&ClusterId, _> = desired.specs().map(|spec| (&spec.id, spec)).collect();
    let mut newly_ahead = Vec::new();
    {
        let mut state = engine.state();
        let reported = &mut state.versions_ahead;
        for cluster in observed {
            let Some(spec) = specs.get(&cluster.id) else { continue };
            let Some(version) = cluster.kubernetes_version.filter(|_| version_ahead(cluster, spec)) else {
                reported.remove(&cluster.id);
                continue;
            };
            if reported.insert(cluster.id.clone(), version) != Some(version) {
                newly_ahead.push((cluster.id.clone(), spec.identity(), spec.kubernetes_version, version));
            }
        }
    }
    for (cluster, identity, wanted, running) in newly_ahead {
        let message = format!(
            "cluster `{cluster}` runs Kubernetes {running}, ahead of its spec's {wanted} (upgraded by its provider); \
             adopted at {running}, not downgraded or replaced"
        );
        engine
            .store
            .append_event(RecordKind::VersionAdopted, Some(&identity.first_name()), &message, engine.now())
            .await?;
        engine.emit(EngineEvent::VersionAhead { cluster, spec: wanted, running });
    }
    Ok(())
}
