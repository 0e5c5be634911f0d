//! The failover controller; see [`FailoverController`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::lower_bound::earliest_finishes;
use super::readiness::{ProviderFacts, Readiness, readiness};
use super::report::{AwaitingCleanup, FailoverReport};
use super::{
    Decision, Displaced, FailoverPolicy, Health, HealthCheck, Location, Loss, LossDetector, LossThresholds, OnReturn,
    PlacementView, ReportedPhase, Room, choose_placements,
};
use crate::engine::{Engine, EngineEvent};
use crate::mutex::lock;
use crate::relocate;
use crate::store::{MoveReport, Placement, RecordKind, update_placement};
use crate::{Cluster, ClusterId, ClusterIdentity, ClusterPhase, Error, ProviderName, Result};

/// How the controller watches; every field has a default.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct FailoverOptions {
    /// Time between checks.
    pub probe_interval: Duration,
    /// When failures become losses.
    pub thresholds: LossThresholds,
    /// Health checks run at once.
    pub probe_concurrency: usize,
}

impl Default for FailoverOptions {
    fn default() -> Self {
        Self { probe_interval: Duration::from_secs(10), thresholds: LossThresholds::default(), probe_concurrency: 32 }
    }
}

impl FailoverOptions {
    /// The longest from a cluster's first failed check until its loss is judged: the failed
    /// checks in a row and the grace period, whichever is later, and one interval more for a
    /// failure that begins just after a check.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fleet_core::failover::FailoverOptions;
    /// // Defaults: checks every 10 s, 3 failures in a row lasting 120 s.
    /// assert_eq!(FailoverOptions::default().detection_time(), Duration::from_secs(130));
    /// ```
    pub fn detection_time(&self) -> Duration {
        let checks = self.probe_interval * self.thresholds.consecutive_failures.saturating_sub(1);
        checks.max(self.thresholds.grace) + self.probe_interval
    }
}

/// Something the controller did or saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
#[non_exhaustive]
pub enum FailoverEvent {
    /// A loss was judged.
    LossDetected {
        /// What was lost.
        loss: Loss,
    },
    /// A lost cluster is being recreated elsewhere.
    Moving {
        /// The logical cluster.
        identity: ClusterIdentity,
        /// Where it was lost.
        from: Location,
        /// Where it goes.
        to: Location,
    },
    /// A moved cluster serves again.
    Recovered {
        /// The logical cluster.
        identity: ClusterIdentity,
        /// Where it serves.
        at: Location,
        /// From its first failed check.
        recovery_time: Duration,
    },
    /// A lost cluster cannot be placed.
    Degraded {
        /// The logical cluster.
        identity: ClusterIdentity,
        /// Why.
        reason: String,
    },
    /// A lost place answers again.
    LocationBack {
        /// The place.
        location: Location,
    },
    /// A moved cluster goes back to its home.
    FailingBack {
        /// The logical cluster.
        identity: ClusterIdentity,
        /// Its home.
        to: Location,
    },
}

/// A move a check decided on, before its lower bound is known.
struct Accepted {
    identity: ClusterIdentity,
    template: String,
    priority: i32,
    from: Location,
    to: Location,
    max_nodes: u64,
    rto: Duration,
}

/// A move under way or done.
#[derive(Debug, Clone)]
struct Move {
    template: String,
    priority: i32,
    from: Location,
    to: Location,
    first_failure: Instant,
    /// `first_failure` by the engine's clock.
    started_at: std::time::SystemTime,
    detected_at: Instant,
    decided_at: Instant,
    completed_at: Option<Instant>,
    bound: Duration,
    rto: Duration,
    max_nodes: u64,
    failed_back: bool,
}

#[derive(Default)]
struct State {
    detector: LossDetector,
    /// When each lost identity's failures began and when it was judged lost.
    lost: BTreeMap<ClusterIdentity, (Instant, Instant)>,
    moves: BTreeMap<ClusterIdentity, Move>,
    degraded: BTreeMap<ClusterIdentity, String>,
    lost_locations: BTreeSet<Location>,
    reported_losses: BTreeSet<Loss>,
    awaiting_cleanup: Vec<AwaitingCleanup>,
}

struct Controller {
    engine: Engine,
    checks: BTreeMap<ProviderName, Arc<dyn HealthCheck>>,
    /// The failover policy of each origin, replaced by [`FailoverController::set_policies`].
    policies: Mutex<Arc<BTreeMap<String, FailoverPolicy>>>,
    options: FailoverOptions,
    state: Mutex<State>,
    events: broadcast::Sender<FailoverEvent>,
}

/// The failover controller: watches the health of every active cluster, judges losses, moves
/// lost clusters to their fallback places through the engine, and reports recovery times.
///
/// Each check ([`FailoverController::check_once`], or every probe interval under
/// [`FailoverController::run`]):
/// 1. lists every provider and checks each active cluster ([`HealthCheck`] per provider,
///    [`ReportedPhase`] by default), feeding a [`LossDetector`];
/// 2. places the clusters judged lost with [`choose_placements`] (fallbacks, anti-affinity,
///    the room providers report, priority), at most `max_parallel` per template at once;
/// 3. records each move in the state store as a new placement location (a fenced write) and
///    wakes the engine, which creates the replacement from the same blueprint version; when it
///    serves, the engine switches the active placement to it (again fenced), and the old cluster
///    is deleted once its place answers again;
/// 4. when a lost place is back (answering for the grace period), moves clusters whose policy
///    says [`OnReturn::FailBack`] home.
///
/// A complete program: `cargo run -p fleet-examples --example failover`. Cheap to clone.
#[derive(Clone)]
pub struct FailoverController {
    inner: Arc<Controller>,
}

impl std::fmt::Debug for FailoverController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailoverController")
            .field("fleet", self.inner.engine.fleet())
            .field("policies", &lock(&self.inner.policies).keys().cloned().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Builds a [`FailoverController`]; see [`FailoverController::builder`].
pub struct FailoverControllerBuilder {
    engine: Engine,
    checks: BTreeMap<ProviderName, Arc<dyn HealthCheck>>,
    policies: BTreeMap<String, FailoverPolicy>,
    options: FailoverOptions,
}

impl FailoverControllerBuilder {
    /// Checks `provider`'s clusters with `check` (default: [`ReportedPhase`]).
    pub fn health_check(mut self, provider: ProviderName, check: Arc<dyn HealthCheck>) -> Self {
        self.checks.insert(provider, check);
        self
    }

    /// Sets the policy of the clusters whose [`origin`](crate::fleet_spec::DesiredCluster::origin)
    /// is `origin` (a fleet spec template's clusters have `template/<name>`); lost clusters
    /// without a policy are reported degraded.
    pub fn policy(mut self, origin: impl Into<String>, policy: FailoverPolicy) -> Self {
        self.policies.insert(origin.into(), policy);
        self
    }

    /// Sets several policies by origin, e.g. a repository's
    /// `Desired::failover`.
    pub fn policies(mut self, policies: BTreeMap<String, FailoverPolicy>) -> Self {
        self.policies.extend(policies);
        self
    }

    /// Sets the options.
    pub fn options(mut self, options: FailoverOptions) -> Self {
        self.options = options;
        self
    }

    /// Builds the controller; every fallback must name a provider of the engine.
    pub fn build(self) -> Result<FailoverController> {
        check_fallbacks(&self.engine, &self.policies)?;
        let (events, _) = broadcast::channel(4096);
        Ok(FailoverController {
            inner: Arc::new(Controller {
                state: Mutex::new(State { detector: LossDetector::new(self.options.thresholds), ..State::default() }),
                engine: self.engine,
                checks: self.checks,
                policies: Mutex::new(Arc::new(self.policies)),
                options: self.options,
                events,
            }),
        })
    }
}

/// The report of `identity`'s move `m`.
fn move_report(identity: &ClusterIdentity, m: &Move) -> MoveReport {
    MoveReport {
        identity: identity.clone(),
        started_at: m.started_at,
        template: m.template.clone(),
        priority: m.priority,
        from: m.from.clone(),
        to: m.to.clone(),
        detection: m.detected_at.duration_since(m.first_failure),
        decided_after: m.decided_at.duration_since(m.first_failure),
        create_time: m.completed_at.map(|done| done.duration_since(m.decided_at)),
        recovery_time: m.completed_at.map(|done| done.duration_since(m.first_failure)),
        lower_bound: m.bound,
        rto: m.rto,
        failed_back: m.failed_back,
    }
}

/// Every fallback of `policies` names a provider of `engine`.
fn check_fallbacks(engine: &Engine, policies: &BTreeMap<String, FailoverPolicy>) -> Result<()> {
    let providers = engine.providers();
    for (template, policy) in policies {
        for fallback in &policy.fallbacks {
            if !providers.contains_key(&fallback.provider) {
                return Err(Error::InvalidSpec {
                    path: format!("failover.{template}.fallbacks"),
                    reason: format!("provider `{}` is not one of the engine's", fallback.provider),
                });
            }
        }
    }
    Ok(())
}

impl FailoverController {
    /// Starts building a controller that acts through `engine`.
    pub fn builder(engine: Engine) -> FailoverControllerBuilder {
        FailoverControllerBuilder {
            engine,
            checks: BTreeMap::new(),
            policies: BTreeMap::new(),
            options: FailoverOptions::default(),
        }
    }

    /// Judges readiness now ([`readiness()`](super::readiness())): the engine's desired fleet under
    /// this controller's policies and detection time, against what the engine's providers
    /// report (offered versions, room; each call charged to the engine's budget) and the API
    /// budgets the engine keeps to.
    ///
    /// # Errors
    /// A provider's error while asking it.
    pub async fn readiness(&self) -> Result<Readiness> {
        let engine = &self.inner.engine;
        let providers: Vec<Arc<dyn crate::ClusterProvider>> = engine.providers().into_values().collect();
        let mut facts = ProviderFacts::gather(&providers).await?;
        for (name, known) in &mut facts {
            if let Some(budget) = engine.budget_of(name) {
                known.writes = budget.limits.writes;
                known.concurrency = budget.concurrency;
            }
        }
        let policies = Arc::clone(&lock(&self.inner.policies));
        Ok(readiness(&engine.desired(), &policies, &facts, self.inner.options.detection_time()))
    }

    /// Replaces the failover policies (a reloaded repository's
    /// `Desired::failover`); moves under way go on.
    ///
    /// # Errors
    /// A fallback naming a provider the engine does not have is [`Error::InvalidSpec`], and
    /// the policies are kept as they were.
    pub fn set_policies(&self, policies: BTreeMap<String, FailoverPolicy>) -> Result<()> {
        check_fallbacks(&self.inner.engine, &policies)?;
        *lock(&self.inner.policies) = Arc::new(policies);
        Ok(())
    }

    /// Receives every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FailoverEvent> {
        self.inner.events.subscribe()
    }

    /// Checks every probe interval until `cancel` fires, and notes the moment each move's
    /// replacement becomes active from the engine's events. The events are followed while a
    /// check runs, so a slow check (a large fleet's observation at a strict API limit) does not
    /// delay when a move counts as finished.
    pub async fn run(&self, cancel: CancellationToken) {
        tokio::join!(self.check_every_interval(&cancel), self.follow_switches(&cancel));
    }

    async fn check_every_interval(&self, cancel: &CancellationToken) {
        let mut ticks = tokio::time::interval(self.inner.options.probe_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = ticks.tick() => {}
            }
            // A check started is finished: its moves are recorded whole.
            if let Err(err) = self.check_once().await {
                tracing::warn!(target: "fleet::failover", %err, "failover check failed");
            }
        }
    }

    async fn follow_switches(&self, cancel: &CancellationToken) {
        let mut engine_events = self.inner.engine.subscribe();
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                event = engine_events.recv() => match event {
                    Ok(EngineEvent::PlacementSwitched { identity, location, .. }) => {
                        self.switched(&identity, &location, Instant::now()).await;
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    /// One check: observe, judge, move, fail back. Returns what is judged lost now.
    pub async fn check_once(&self) -> Result<Vec<Loss>> {
        let inner = &self.inner;
        let engine = &inner.engine;
        let (observed, unseen) = engine.observe().await;
        let observed = engine.with_unreachable(std::sync::Arc::new(observed), &unseen).await?;
        let now = Instant::now();
        let placements: BTreeMap<ClusterIdentity, Placement> =
            engine.store().placements().await?.into_iter().map(|p| (p.identity.clone(), p)).collect();

        let checked = self.check_health(&observed, &placements).await;
        let losses = {
            let mut state = lock(&inner.state);
            for provider in engine.providers().keys() {
                state.detector.record_provider_api(provider, !unseen.covers_provider(provider), now);
            }
            let mut answering: BTreeMap<Location, bool> = BTreeMap::new();
            for cluster in observed.iter() {
                *answering.entry(Location::of(cluster)).or_default() |= cluster.phase != ClusterPhase::Unreachable;
            }
            for (location, answered) in &answering {
                state.detector.record_region_api(location, *answered, now);
            }
            let active: BTreeSet<&ClusterId> = checked.iter().map(|(cluster, _)| &cluster.id).collect();
            state.detector.retain_clusters(|id| active.contains(id));
            for (cluster, health) in &checked {
                if let Some(health) = health {
                    state.detector.record_cluster(&cluster.id, &Location::of(cluster), health, now);
                }
            }
            state.awaiting_cleanup = observed
                .iter()
                .filter(|c| c.phase == ClusterPhase::Unreachable)
                .filter(|c| {
                    placements.get(&c.identity()).and_then(|p| p.active.as_ref()).is_none_or(|a| a.cluster != c.id)
                })
                .map(|c| AwaitingCleanup { cluster: c.id.clone(), identity: c.identity(), location: Location::of(c) })
                .collect();
            state.detector.losses(now)
        };
        for loss in &losses {
            if lock(&inner.state).reported_losses.insert(loss.clone()) {
                if let Loss::Region { location } = loss {
                    lock(&inner.state).lost_locations.insert(location.clone());
                }
                self.emit(FailoverEvent::LossDetected { loss: loss.clone() });
            }
        }
        lock(&inner.state).reported_losses.retain(|loss| losses.contains(loss));

        self.note_completions(&placements, now).await;
        let moved = self.move_lost(&losses, &observed, &placements, now).await?;
        let failed_back = self.fail_back(&losses, now).await?;
        if moved + failed_back > 0 {
            engine.wake();
        }
        Ok(losses)
    }

    /// What failover has done so far.
    pub fn report(&self) -> FailoverReport {
        let state = lock(&self.inner.state);
        let start = state.moves.values().map(|m| m.first_failure).min();
        let mut moves: Vec<(Instant, MoveReport)> =
            state.moves.iter().map(|(identity, m)| (m.first_failure, move_report(identity, m))).collect();
        moves.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.identity.cmp(&b.1.identity)));
        let (recovery_time, lower_bound) = match start {
            Some(start) => {
                let finished: Option<Vec<Instant>> = state.moves.values().map(|m| m.completed_at).collect();
                let recovery = finished.and_then(|done| done.into_iter().max()).map(|end| end.duration_since(start));
                let bound = state.moves.values().map(|m| m.first_failure.duration_since(start) + m.bound).max();
                (recovery, bound)
            }
            None => (None, None),
        };
        FailoverReport {
            moves: moves.into_iter().map(|(_, report)| report).collect(),
            degraded: state.degraded.clone(),
            awaiting_cleanup: state.awaiting_cleanup.clone(),
            recovery_time,
            lower_bound,
        }
    }

    /// Every move failover made, as the state store keeps them: this controller's and those of
    /// the controllers before it on the same store (a restart keeps the record), oldest first.
    pub async fn history(&self) -> Result<Vec<MoveReport>> {
        self.inner.engine.store().failover_moves().await
    }

    /// Writes the move of `identity` as it stands to the store; a store that fails is logged,
    /// the move itself goes on.
    async fn record(&self, identity: &ClusterIdentity) {
        let report = lock(&self.inner.state).moves.get(identity).map(|m| move_report(identity, m));
        let Some(report) = report else { return };
        if let Err(err) = self.inner.engine.store().put_failover_move(&report).await {
            tracing::warn!(target: "fleet::failover", %err, identity = %identity, "move not recorded");
        }
    }

    fn emit(&self, event: FailoverEvent) {
        tracing::info!(target: "fleet::failover", ?event);
        // No receiver is not an error.
        let _ = self.inner.events.send(event);
    }

    /// Checks every active cluster that is settled (not being created, changed, deleted or
    /// hibernating); returns each active cluster with its verdict, `None` when not checked.
    async fn check_health(
        &self,
        observed: &[Cluster],
        placements: &BTreeMap<ClusterIdentity, Placement>,
    ) -> Vec<(Cluster, Option<Health>)> {
        let active: Vec<Cluster> = observed
            .iter()
            .filter(|c| {
                placements.get(&c.identity()).and_then(|p| p.active.as_ref()).is_some_and(|a| a.cluster == c.id)
            })
            .cloned()
            .collect();
        let limit = Arc::new(Semaphore::new(self.inner.options.probe_concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for (index, cluster) in active.iter().enumerate() {
            if cluster.phase.is_in_progress() || cluster.phase == ClusterPhase::Hibernated {
                continue;
            }
            let check: Arc<dyn HealthCheck> =
                self.inner.checks.get(&cluster.provider).cloned().unwrap_or_else(|| Arc::new(ReportedPhase));
            let limit = Arc::clone(&limit);
            let cluster = cluster.clone();
            tasks.spawn(async move {
                let _permit = limit.acquire().await;
                (index, check.check(&cluster).await)
            });
        }
        let mut verdicts: Vec<Option<Health>> = vec![None; active.len()];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, health)) = joined {
                verdicts[index] = Some(health);
            }
        }
        active.into_iter().zip(verdicts).collect()
    }

    /// Marks moves whose replacement is the active placement as finished (when the engine's
    /// event was missed, at the check that sees it).
    async fn note_completions(&self, placements: &BTreeMap<ClusterIdentity, Placement>, now: Instant) {
        let done: Vec<(ClusterIdentity, Location)> = lock(&self.inner.state)
            .moves
            .iter()
            .filter(|(_, m)| m.completed_at.is_none())
            .filter_map(|(identity, m)| {
                let active = placements.get(identity)?.active.as_ref()?;
                (active.location == m.to).then(|| (identity.clone(), m.to.clone()))
            })
            .collect();
        for (identity, location) in done {
            self.switched(&identity, &location, now).await;
        }
    }

    /// The active placement of `identity` switched to `location` at `at`.
    async fn switched(&self, identity: &ClusterIdentity, location: &Location, at: Instant) {
        let recovered = {
            let mut state = lock(&self.inner.state);
            match state.moves.get_mut(identity) {
                Some(m) if m.completed_at.is_none() && m.to == *location => {
                    m.completed_at = Some(at);
                    Some((at.duration_since(m.first_failure), m.rto))
                }
                _ => None,
            }
        };
        if let Some((recovery_time, rto)) = recovered {
            crate::telemetry::failover_recovered(recovery_time, rto);
            self.record(identity).await;
            let message = format!("serving at {location} after {}", crate::format_duration(recovery_time));
            if let Err(err) = self
                .inner
                .engine
                .store()
                .append_event(
                    RecordKind::FailoverCompleted,
                    Some(&identity.first_name()),
                    &message,
                    self.inner.engine.now(),
                )
                .await
            {
                tracing::warn!(target: "fleet::failover", %err, "event not recorded");
            }
            self.emit(FailoverEvent::Recovered { identity: identity.clone(), at: location.clone(), recovery_time });
        }
    }

    /// Places the clusters judged lost and records their moves; returns how many moved.
    async fn move_lost(
        &self,
        losses: &[Loss],
        observed: &[Cluster],
        placements: &BTreeMap<ClusterIdentity, Placement>,
        now: Instant,
    ) -> Result<usize> {
        let inner = &self.inner;
        let desired = inner.engine.desired();
        let by_identity: BTreeMap<ClusterIdentity, &crate::fleet_spec::DesiredCluster> =
            desired.clusters.iter().map(|c| (c.spec.identity(), c)).collect();
        // Each name's first cluster, as a search of `observed` from its start finds it: one
        // look-up per loss instead of a scan (quadratic when a region of many is lost).
        let mut by_id: BTreeMap<&ClusterId, &Cluster> = BTreeMap::new();
        for cluster in observed {
            by_id.entry(&cluster.id).or_insert(cluster);
        }
        let mut displaced = Vec::new();
        let mut lost_identities = BTreeSet::new();
        for loss in losses {
            let Loss::Cluster { id, location } = loss else { continue };
            let Some(cluster) = by_id.get(id).copied() else { continue };
            let identity = cluster.identity();
            let Some(placement) = placements.get(&identity) else { continue };
            let Some(wanted) = by_identity.get(&identity) else { continue };
            if placement.active.as_ref().is_none_or(|a| a.cluster != *id) || placement.location != *location {
                // Not its active cluster, or a move is already under way.
                continue;
            }
            lost_identities.insert(identity.clone());
            let first_failure = lock(&inner.state).detector.failing_since(id).unwrap_or(now);
            lock(&inner.state).lost.entry(identity.clone()).or_insert((first_failure, now));
            displaced.push(Displaced::new(relocate(&wanted.spec, location), wanted.origin.clone(), wanted.priority));
        }
        lock(&inner.state).lost.retain(|identity, _| lost_identities.contains(identity));
        if displaced.is_empty() {
            return Ok(0);
        }
        let view = self.placement_view(losses, &displaced, &by_identity, placements).await;
        let policies = Arc::clone(&lock(&inner.policies));
        let decisions = choose_placements(&displaced, &policies, &view);

        let mut in_flight: BTreeMap<String, usize> = BTreeMap::new();
        for m in lock(&inner.state).moves.values().filter(|m| m.completed_at.is_none()) {
            *in_flight.entry(m.template.clone()).or_default() += 1;
        }
        let mut accepted = Vec::new();
        for decision in decisions {
            match decision {
                Decision::Move { identity: id, from, to, spec } => {
                    let Some(wanted) = by_identity.get(&id) else { continue };
                    let Some(policy) = policies.get(&wanted.origin) else { continue };
                    let running = in_flight.entry(wanted.origin.clone()).or_default();
                    if *running >= policy.max_parallel.max(1) {
                        continue; // waits for a slot of its template
                    }
                    *running += 1;
                    lock(&inner.state).degraded.remove(&id);
                    let home = Location::of_spec(&wanted.spec);
                    let lost_generation = placements.get(&id).map_or(0, |p| p.generation);
                    let mut moved = false;
                    update_placement(inner.engine.store().as_ref(), &id, &from, |placement| {
                        // Another controller may have acted on it since this one looked.
                        moved = placement.generation == lost_generation;
                        if moved {
                            placement.home = placement.home.clone().or_else(|| Some(home.clone()));
                            placement.location = to.clone();
                            if placement.home.as_ref() == Some(&to) {
                                placement.home = None;
                            }
                        }
                        moved
                    })
                    .await?;
                    if !moved {
                        *running -= 1;
                        continue;
                    }
                    let message = format!("moving from {from} to {to}: lost");
                    inner
                        .engine
                        .store()
                        .append_event(RecordKind::FailoverStarted, Some(&id.first_name()), &message, inner.engine.now())
                        .await?;
                    self.emit(FailoverEvent::Moving { identity: id.clone(), from: from.clone(), to: to.clone() });
                    accepted.push(Accepted {
                        identity: id,
                        template: wanted.origin.clone(),
                        priority: wanted.priority,
                        from,
                        to,
                        max_nodes: spec.max_nodes(),
                        rto: policy.rto,
                    });
                }
                Decision::Degraded { identity: id, reason } => {
                    let new = lock(&inner.state).degraded.insert(id.clone(), reason.clone()).as_ref() != Some(&reason);
                    if new {
                        crate::telemetry::failover_degraded();
                        inner
                            .engine
                            .store()
                            .append_event(
                                RecordKind::FailoverDegraded,
                                Some(&id.first_name()),
                                &reason,
                                inner.engine.now(),
                            )
                            .await?;
                        self.emit(FailoverEvent::Degraded { identity: id, reason });
                    }
                }
            }
        }
        let bounds = self.lower_bounds(&accepted);
        let wall = inner.engine.now();
        let count = accepted.len();
        for (Accepted { identity: id, template, priority, from, to, max_nodes, rto }, finish) in
            accepted.into_iter().zip(bounds)
        {
            let (first_failure, detected_at) = lock(&inner.state).lost.remove(&id).unwrap_or((now, now));
            let m = Move {
                template,
                priority,
                from,
                to,
                first_failure,
                started_at: wall.checked_sub(now.duration_since(first_failure)).unwrap_or(wall),
                detected_at,
                decided_at: now,
                completed_at: None,
                bound: now.duration_since(first_failure) + finish,
                rto,
                max_nodes,
                failed_back: false,
            };
            lock(&inner.state).moves.insert(id.clone(), m);
            self.record(&id).await;
        }
        Ok(count)
    }

    /// The earliest each accepted move (in order) can serve after its decision, given its
    /// target provider's API budget and typical create latency.
    fn lower_bounds(&self, accepted: &[Accepted]) -> Vec<Duration> {
        let providers = self.inner.engine.providers();
        let mut per_provider: BTreeMap<&ProviderName, Vec<usize>> = BTreeMap::new();
        for (index, accepted) in accepted.iter().enumerate() {
            per_provider.entry(&accepted.to.provider).or_default().push(index);
        }
        let mut bounds = vec![Duration::ZERO; accepted.len()];
        for (provider, indices) in per_provider {
            let (Some(budget), Some(info)) =
                (self.inner.engine.budget_of(provider), providers.get(provider).map(|p| p.info().clone()))
            else {
                continue;
            };
            let finishes =
                earliest_finishes(indices.len(), budget.limits.writes, budget.concurrency, info.latency.create);
            for (index, finish) in indices.into_iter().zip(finishes) {
                bounds[index] = finish;
            }
        }
        bounds
    }

    /// What choose_placements needs: room per fallback place (as the providers report it,
    /// less moves decided but not yet created there), what each fallback provider offers, lost
    /// places, and where each template's other clusters are.
    async fn placement_view(
        &self,
        losses: &[Loss],
        displaced: &[Displaced],
        by_identity: &BTreeMap<ClusterIdentity, &crate::fleet_spec::DesiredCluster>,
        placements: &BTreeMap<ClusterIdentity, Placement>,
    ) -> PlacementView {
        let mut view = PlacementView::default();
        for loss in losses {
            match loss {
                Loss::Region { location } => {
                    view.lost.insert(location.clone());
                }
                Loss::Provider { provider } => {
                    view.lost_providers.insert(provider.clone());
                }
                Loss::Cluster { .. } => {}
            }
        }
        let templates: BTreeSet<&String> = displaced.iter().map(|d| &d.template).collect();
        let providers = self.inner.engine.providers();
        let policies = Arc::clone(&lock(&self.inner.policies));
        for template in &templates {
            let Some(policy) = policies.get(*template) else { continue };
            for fallback in &policy.fallbacks {
                let Some(provider) = providers.get(&fallback.provider) else { continue };
                if !view.offers.contains_key(&fallback.provider) {
                    view.offers.insert(
                        fallback.provider.clone(),
                        crate::ClusterProviderExt::info_with_offered_versions(provider.as_ref()).await,
                    );
                }
                for region in &fallback.regions {
                    let location = Location::new(fallback.provider.clone(), region.clone());
                    if view.room.contains_key(&location) || view.lost.contains(&location) {
                        continue;
                    }
                    let room = match provider.room(region).await {
                        Ok(Some(room)) => room,
                        Ok(None) => Room::unlimited(),
                        // Cannot tell: place nothing there now.
                        Err(_) => Room::default(),
                    };
                    view.room.insert(location, room);
                }
            }
        }
        for m in lock(&self.inner.state).moves.values().filter(|m| m.completed_at.is_none()) {
            if let Some(room) = view.room.get_mut(&m.to) {
                room.clusters = room.clusters.saturating_sub(1);
                room.nodes = room.nodes.saturating_sub(m.max_nodes);
            }
        }
        let moving: BTreeSet<ClusterIdentity> = displaced.iter().map(|d| d.spec.identity()).collect();
        for (identity, wanted) in by_identity {
            if moving.contains(identity) || !templates.contains(&wanted.origin) {
                continue;
            }
            let location =
                placements.get(identity).map_or_else(|| Location::of_spec(&wanted.spec), |p| p.location.clone());
            view.occupied.entry(wanted.origin.clone()).or_default().push(location);
        }
        view
    }

    /// Sends clusters home whose policy fails back, once their home is back; emits
    /// [`FailoverEvent::LocationBack`] for each lost place that answers again. Returns how many
    /// moved.
    async fn fail_back(&self, losses: &[Loss], now: Instant) -> Result<usize> {
        let lost: BTreeSet<&Location> = losses
            .iter()
            .filter_map(|l| match l {
                Loss::Region { location } => Some(location),
                _ => None,
            })
            .collect();
        let back: Vec<Location> = {
            let state = lock(&self.inner.state);
            state
                .lost_locations
                .iter()
                .filter(|l| !lost.contains(l) && state.detector.is_back(l, now))
                .cloned()
                .collect()
        };
        for location in &back {
            lock(&self.inner.state).lost_locations.remove(location);
            self.emit(FailoverEvent::LocationBack { location: location.clone() });
        }
        let candidates: Vec<(ClusterIdentity, String)> = lock(&self.inner.state)
            .moves
            .iter()
            .filter(|(_, m)| m.completed_at.is_some() && !m.failed_back)
            .map(|(identity, m)| (identity.clone(), m.template.clone()))
            .collect();
        let mut moved = 0;
        for (identity, template) in candidates {
            let fails_back =
                lock(&self.inner.policies).get(&template).is_some_and(|p| p.on_return == OnReturn::FailBack);
            if !fails_back {
                continue;
            }
            let Some(placement) = self.inner.engine.store().placement(&identity).await? else { continue };
            let Some(home) = placement.home.clone() else { continue };
            let home_back = {
                let state = lock(&self.inner.state);
                !lost.contains(&home) && !state.lost_locations.contains(&home) && state.detector.is_back(&home, now)
            };
            if !home_back {
                continue;
            }
            let mut going_home = false;
            update_placement(self.inner.engine.store().as_ref(), &identity, &home, |p| {
                // Another controller may have acted on it since this one looked.
                going_home = p.generation == placement.generation;
                if going_home {
                    p.location = home.clone();
                    p.home = None;
                }
                going_home
            })
            .await?;
            if !going_home {
                continue;
            }
            self.inner
                .engine
                .store()
                .append_event(
                    RecordKind::FailoverFailingBack,
                    Some(&identity.first_name()),
                    &home.to_string(),
                    self.inner.engine.now(),
                )
                .await?;
            if let Some(m) = lock(&self.inner.state).moves.get_mut(&identity) {
                m.failed_back = true;
            }
            self.record(&identity).await;
            self.emit(FailoverEvent::FailingBack { identity, to: home });
            moved += 1;
        }
        Ok(moved)
    }
}
