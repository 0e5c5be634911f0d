//! The engine's side of add-ons: a cluster's add-ons are installed when it comes to run (before
//! it becomes active), and again when they change or the re-apply interval has passed, which
//! also finds drift.

use std::collections::BTreeMap;

use tokio::time::Instant;

use super::budget::CallKind;
use super::events::EngineEvent;
use super::{EngineInner, Slot};
use crate::addons::{AddonInstaller, AddonSet};
use crate::fleet_spec::DesiredFleet;
use crate::store::RecordKind;
use crate::{Cluster, ClusterId, ClusterIdentity, ClusterPhase, Error, ErrorKind, Result};

/// When each cluster's add-ons were last installed, and which set.
pub(crate) type Installed = BTreeMap<ClusterId, (String, Instant)>;

/// The add-ons the desired fleet wants in clusters of `identity` (none when it is not wanted).
pub(crate) fn wanted(engine: &EngineInner, identity: &ClusterIdentity) -> Result<AddonSet> {
    let state = engine.state();
    match state.desired.clusters.iter().find(|c| c.spec.identity() == *identity) {
        Some(cluster) => AddonSet::parse(&cluster.addons),
        None => Ok(AddonSet::default()),
    }
}

/// The hash of the add-on set each desired identity wants (`None` where its manifests do not
/// parse: installing then reports why), computed once per pass.
pub(crate) fn wanted_hashes(desired: &DesiredFleet) -> BTreeMap<ClusterIdentity, Option<String>> {
    desired
        .clusters
        .iter()
        .map(|c| (c.spec.identity(), AddonSet::parse(&c.addons).ok().map(|set| set.hash())))
        .collect()
}

/// Whether `cluster`'s add-ons, whose wanted set hashes to `wanted`, should be installed now:
/// never installed, changed since, or installed longer ago than the re-apply interval.
pub(crate) fn due(engine: &EngineInner, cluster: &Cluster, wanted: Option<&str>, now: Instant) -> bool {
    if engine.installer_for(&cluster.provider).is_none() {
        return false;
    }
    let Some(wanted) = wanted else { return true };
    match engine.state().installed.get(&cluster.id) {
        None => true,
        Some((hash, at)) => hash != wanted || now.duration_since(*at) >= engine.options.addon_interval,
    }
}

/// Installs `cluster`'s add-ons unless the set its identity wants is already in (installed by
/// this engine since it last changed): a running cluster taking over from one it supersedes
/// must have them before the other goes. A hibernated one gets them when it resumes (before it
/// serves again), so it takes over as it is.
pub(crate) async fn ensure_installed(engine: &EngineInner, cluster: &Cluster) -> Result<()> {
    if cluster.phase != ClusterPhase::Running || engine.installer_for(&cluster.provider).is_none() {
        return Ok(());
    }
    let hash = wanted(engine, &cluster.identity())?.hash();
    if engine.state().installed.get(&cluster.id).is_some_and(|(installed, _)| *installed == hash) {
        return Ok(());
    }
    let Some(slot) = engine.slots.get(&cluster.provider).cloned() else {
        return Err(Error::InvalidSpec {
            path: "provider".into(),
            reason: format!("no provider `{}` in this engine for cluster `{}`", cluster.provider, cluster.id),
        });
    };
    install(engine, &slot, cluster).await
}

/// Whether the desired spec of clusters of `identity` asks for a private API endpoint.
fn private_endpoint(engine: &EngineInner, identity: &ClusterIdentity) -> bool {
    engine.state().desired.clusters.iter().any(|c| c.spec.identity() == *identity && c.spec.network.private_endpoint)
}

/// Installs `cluster`'s add-ons through `slot`'s provider credentials, reporting what changed
/// and what drifted as events. A failure is reported too (an `AddonsFailed` event and an
/// `addons_failed` event of record, naming the private endpoint when the spec asks for one and
/// the API server was not reached) and returned: the caller does not activate the cluster.
pub(crate) async fn install(engine: &EngineInner, slot: &Slot, cluster: &Cluster) -> Result<()> {
    let Some(installer) = engine.installer_for(&cluster.provider) else { return Ok(()) };
    match install_with(engine, slot, installer.as_ref(), cluster).await {
        Ok(()) => Ok(()),
        Err(err) => {
            let identity = cluster.identity();
            let unreached = matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Timeout);
            let hint = if unreached && private_endpoint(engine, &identity) {
                format!(
                    " (cluster `{}` has a private endpoint, network.privateEndpoint: Fleet reaches its API server \
                     only over a route configured for it, e.g. KubeAddons::with_route)",
                    cluster.id
                )
            } else {
                String::new()
            };
            let reason = format!("{err}{hint}");
            // The failure itself is what the caller gets; a store that cannot record the event
            // must not hide it.
            let _ = engine.store.append_event(RecordKind::AddonsFailed, Some(&cluster.id), &reason, engine.now()).await;
            engine.emit(EngineEvent::AddonsFailed { cluster: cluster.id.clone(), reason });
            Err(match err {
                Error::Unavailable { message } => Error::Unavailable { message: format!("{message}{hint}") },
                Error::Timeout { message } => Error::Timeout { message: format!("{message}{hint}") },
                other => other,
            })
        }
    }
}

async fn install_with(
    engine: &EngineInner,
    slot: &Slot,
    installer: &dyn AddonInstaller,
    cluster: &Cluster,
) -> Result<()> {
    let set = wanted(engine, &cluster.identity())?;
    slot.budget.call(CallKind::Read).await;
    let credentials = slot.provider.credentials(&cluster.id).await?;
    let report = installer.install(cluster, &credentials, &set, engine.options.drift).await?;
    {
        let mut state = engine.state();
        state.installed.insert(cluster.id.clone(), (set.hash(), Instant::now()));
        let drifted: Vec<String> =
            report.drifted.iter().map(|d| format!("{} ({})", d.object, d.fields.join(", "))).collect();
        if drifted.is_empty() {
            state.drift.remove(&cluster.id);
        } else {
            state.drift.insert(cluster.id.clone(), drifted);
        }
    }
    if !report.applied.is_empty() || !report.pruned.is_empty() {
        let message = format!("{} applied, {} pruned", report.applied.len(), report.pruned.len());
        engine.store.append_event(RecordKind::AddonsApplied, Some(&cluster.id), &message, engine.now()).await?;
        engine.emit(EngineEvent::AddonsApplied {
            cluster: cluster.id.clone(),
            applied: report.applied.len(),
            pruned: report.pruned.len(),
        });
    }
    for drift in report.drifted {
        let verb = if drift.corrected { "corrected" } else { "left as found" };
        let message = format!("{} drifted in {} ({verb})", drift.object, drift.fields.join(", "));
        engine.store.append_event(RecordKind::AddonDrift, Some(&cluster.id), &message, engine.now()).await?;
        engine.emit(EngineEvent::AddonDrift {
            cluster: cluster.id.clone(),
            object: drift.object.to_string(),
            fields: drift.fields,
            corrected: drift.corrected,
        });
    }
    Ok(())
}
