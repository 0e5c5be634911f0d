//! Execution: the pass starts the actions admission let run (each a task of its own, its
//! cluster marked in flight), installs add-ons where they are due, awaits deletes sent
//! earlier, and waits for all of them, counting how each ended in the pass's report.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::admit::{Hold, Verdict, place, version_of};
use super::by_name::first_named;
use super::events::{EngineEvent, ReconcileReport};
use super::unseen::Unseen;
use super::{EngineInner, Slot, action, addons, environments, placements};
use crate::fleet_spec::DesiredFleet;
use crate::plan::{Action, DeleteReason};
use crate::store::RecordKind;
use crate::{Cluster, ClusterId, ClusterIdentity, ClusterPhase, Error, Result};

/// The tasks a pass started: actions and awaited deletes, and add-on installs.
#[derive(Default)]
pub(crate) struct Started {
    actions: JoinSet<(ClusterId, Result<()>)>,
    addons: JoinSet<(ClusterId, Result<()>)>,
}

/// Starts every action whose verdict is [`Verdict::Run`] and counts the held ones in `report`.
/// A delete of an expired cluster its pass could reach is recorded first, so that a restart
/// never brings the cluster back. `successors` (see [`placements::successors`]) hand each
/// superseded cluster's placement over before it goes.
pub(crate) async fn start_actions(
    engine: &Arc<EngineInner>,
    verdicts: Vec<(Action, Verdict)>,
    observed: &[Cluster],
    mut successors: BTreeMap<ClusterId, (Cluster, bool)>,
    report: &mut ReconcileReport,
    started: &mut Started,
) -> Result<()> {
    for (action, verdict) in verdicts {
        let id = action.cluster_id();
        if verdict.reached()
            && let Action::Delete { reason: DeleteReason::Expired { .. }, .. } = &action
        {
            record_expiry(engine, observed, &id).await?;
        }
        match verdict {
            Verdict::Nothing | Verdict::Held(Hold::InFlight) => {}
            Verdict::Held(Hold::Unreachable) => report.unreachable += 1,
            Verdict::Held(Hold::NoProvider(provider)) => {
                report.failed.insert(id, format!("no provider `{provider}` in this engine"));
            }
            Verdict::Held(Hold::AwaitingGrace) => report.awaiting_grace += 1,
            Verdict::Held(Hold::FailedBefore(reason)) => {
                report.failed.insert(id, reason);
            }
            Verdict::Held(Hold::Halted(reason)) => report.halted = Some(reason),
            Verdict::Held(Hold::Deferred) => report.deferred += 1,
            Verdict::Run => {
                let successor = match &action {
                    Action::Delete { .. } => successors.remove(&id),
                    _ => None,
                };
                start_action(engine, action, observed, successor, &mut started.actions);
            }
        }
    }
    Ok(())
}

/// Records that the TTL of `cluster`'s identity ended, and ends its self-service environment.
async fn record_expiry(engine: &EngineInner, observed: &[Cluster], cluster: &ClusterId) -> Result<()> {
    let identity = first_named(observed, cluster).and_then(Cluster::fleet_tags).map(|t| t.identity);
    let Some(identity) = identity else { return Ok(()) };
    engine
        .store
        .append_event(RecordKind::ClusterExpired, Some(&identity.first_name()), "its time to live ended", engine.now())
        .await?;
    engine.state().expired.get_or_insert_with(BTreeSet::new).insert(identity.clone());
    // A self-service environment is named after its cluster's identity.
    environments::forget(engine, &identity.first_name()).await?;
    engine.emit(EngineEvent::ClusterExpired { identity });
    Ok(())
}

/// Starts `action` as a task, unless an action on its cluster is in flight already.
fn start_action(
    engine: &Arc<EngineInner>,
    action: Action,
    observed: &[Cluster],
    successor: Option<(Cluster, bool)>,
    tasks: &mut JoinSet<(ClusterId, Result<()>)>,
) {
    let id = action.cluster_id();
    let Some(slot) = slot_of(engine, &action, observed) else { return };
    if !engine.state().in_flight.insert(id.clone()) {
        return;
    }
    let name = action::action_name(&action);
    let deleted = match &action {
        Action::Delete { id, .. } => first_named(observed, id).map(|c| (c.identity(), id.clone())),
        _ => None,
    };
    engine.emit(EngineEvent::ActionStarted { cluster: id.clone(), action: name });
    let span = tracing::info_span!("action", cluster = %id, action = name);
    let engine = Arc::clone(engine);
    tasks.spawn(
        async move {
            let result = run_action(&engine, slot, action, successor, deleted).await;
            (id, result)
        }
        .instrument(span),
    );
}

/// The provider slot an admitted action works through.
fn slot_of(engine: &EngineInner, action: &Action, observed: &[Cluster]) -> Option<Arc<Slot>> {
    let (provider, _) = place(action, observed)?;
    engine.slots.get(provider).cloned()
}

/// Runs one action to its end: hands a superseded cluster's placement to its successor once
/// the successor's add-ons are in (so that the identity is never without an active cluster
/// that has them; a successor elsewhere than the identity is wanted serves only meanwhile),
/// performs the action, and records how it ended.
async fn run_action(
    engine: &Arc<EngineInner>,
    slot: Arc<Slot>,
    action: Action,
    successor: Option<(Cluster, bool)>,
    deleted: Option<(ClusterIdentity, ClusterId)>,
) -> Result<()> {
    let id = action.cluster_id();
    let name = action::action_name(&action);
    let replacing = matches!(&action, Action::Replace { .. });
    let garbage_collected = matches!(&action, Action::Delete { reason: DeleteReason::NotWanted, .. });
    let version = version_of(&action);
    let handed_over = match &successor {
        Some((successor, in_place)) => match addons::ensure_installed(engine, successor).await {
            Ok(()) if *in_place => placements::activate(engine, successor).await,
            Ok(()) => placements::activate_meanwhile(engine, successor).await,
            Err(err) => Err(err),
        },
        None => Ok(()),
    };
    let result = match handed_over {
        Ok(()) => action::execute(Arc::clone(engine), slot, action).await,
        Err(err) => Err(err),
    };
    engine.state().in_flight.remove(&id);
    crate::telemetry::action(name, &result);
    match &result {
        Ok(()) => {
            engine.state().failed.remove(&id);
            if replacing {
                engine.state().rollout.passed();
            }
            if let Some((identity, cluster)) = &deleted
                && let Err(err) = crate::store::release_placement(engine.store.as_ref(), identity, cluster).await
            {
                tracing::warn!(target: "fleet::engine", %err, "placement not released");
            }
            engine.emit(EngineEvent::ActionSucceeded { cluster: id.clone(), action: name });
            if garbage_collected {
                engine.emit(EngineEvent::GarbageCollected { cluster: id.clone() });
                let _ = engine
                    .store
                    .append_event(RecordKind::GarbageCollected, Some(&id), "deleted: no spec wants it", engine.now())
                    .await;
            }
        }
        // Only permanent failures stop further attempts; transient ones are tried again next
        // pass.
        Err(err) if !err.is_retryable() => {
            engine.state().failed.insert(id.clone(), (err.to_string(), version));
        }
        Err(_) => {}
    }
    result
}

/// Installs the add-ons of running clusters where they changed or are due (see
/// [`addons::due`]), one task each, skipping clusters with an action in flight.
pub(crate) fn start_addon_installs(
    engine: &Arc<EngineInner>,
    observed: &[Cluster],
    desired: &DesiredFleet,
    now: Instant,
    started: &mut Started,
) {
    if engine.addons.is_empty() {
        return;
    }
    let wanted = addons::wanted_hashes(desired);
    for cluster in observed.iter().filter(|c| c.phase == ClusterPhase::Running) {
        let identity = cluster.identity();
        let Some(hash) = wanted.get(&identity) else { continue };
        if !addons::due(engine, cluster, hash.as_deref(), now) {
            continue;
        }
        let Some(slot) = engine.slots.get(&cluster.provider).cloned() else { continue };
        {
            let mut state = engine.state();
            let in_flight = &mut state.in_flight;
            // Not while an action runs on the identity's first cluster, nor twice on one cluster.
            if in_flight.contains(&identity.first_name()) || !in_flight.insert(cluster.id.clone()) {
                continue;
            }
        }
        let engine = Arc::clone(engine);
        let cluster = cluster.clone();
        started.addons.spawn(async move {
            let result = addons::install(&engine, &slot, &cluster).await;
            engine.state().in_flight.remove(&cluster.id);
            (cluster.id.clone(), result)
        });
    }
}

/// Awaits the deletes sent earlier (before a restart, say): the pass ends when those
/// clusters are gone and forgotten.
pub(crate) fn await_earlier_deletes(
    engine: &Arc<EngineInner>,
    observed: &[Cluster],
    unseen: &Unseen,
    started: &mut Started,
) {
    for cluster in observed.iter().filter(|c| c.phase == ClusterPhase::Deleting) {
        let Some(slot) = engine.slots.get(&cluster.provider).cloned() else { continue };
        if unseen.covers(&cluster.provider, &cluster.region) || !engine.state().in_flight.insert(cluster.id.clone()) {
            continue;
        }
        let engine = Arc::clone(engine);
        let id = cluster.id.clone();
        started.actions.spawn(async move {
            let result = action::await_deleted(Arc::clone(&engine), slot, id.clone()).await;
            engine.state().in_flight.remove(&id);
            crate::telemetry::action("delete", &result);
            (id, result)
        });
    }
}

/// Waits for every task the pass started, counting successes and failures in `report`; a
/// task that panicked fails the pass.
pub(crate) async fn finish(mut started: Started, report: &mut ReconcileReport) -> Result<()> {
    while let Some(joined) = started.addons.join_next().await {
        match joined {
            Ok((_, Ok(()))) => report.addons_installed += 1,
            Ok((id, Err(err))) => {
                report.failed.insert(id, format!("add-ons: {err}"));
            }
            Err(err) => {
                return Err(Error::Task { message: format!("an add-on task: {err}") });
            }
        }
    }
    while let Some(joined) = started.actions.join_next().await {
        match joined {
            Ok((_, Ok(()))) => report.succeeded += 1,
            Ok((id, Err(err))) => {
                report.failed.insert(id, err.to_string());
            }
            Err(err) => {
                return Err(Error::Task { message: format!("an action task: {err}") });
            }
        }
    }
    Ok(())
}
