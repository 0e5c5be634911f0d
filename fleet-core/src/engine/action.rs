//! Carrying out one planned action on one cluster: intents around every mutating call,
//! retries with jittered backoff that honour `Retry-After`, and polling of long operations.

use std::sync::Arc;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::budget::{Budget, CallKind};
use super::events::EngineEvent;
use super::{EngineInner, Slot};
use crate::plan::Action;
use crate::provider::Poller;
use crate::store::{IntentOperation, IntentOutcome, NewIntent, RecordKind};
use crate::{Cluster, ClusterId, ClusterPhase, ClusterSpec, Error, Result, WaitOptions};

/// How many updates in a row may report success without the cluster matching its spec before
/// the cluster is failed.
pub(crate) const MAX_UPDATES_NOT_TAKEN: u32 = 3;

/// The most upgrade steps (one minor version each) one update action takes.
const MAX_UPGRADE_STEPS: u32 = 10;

/// The name of an action, for events.
pub(crate) fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Create { .. } => "create",
        Action::Update { .. } => "update",
        Action::Replace { .. } => "replace",
        Action::Delete { .. } => "delete",
        Action::Hibernate { .. } => "hibernate",
        Action::Resume { .. } => "resume",
        Action::Unchanged { .. } => "await",
    }
}

/// Runs one action to its end: `Ok` once the cluster is as planned.
pub(crate) async fn execute(engine: Arc<EngineInner>, slot: Arc<Slot>, action: Action) -> Result<()> {
    let name = action_name(&action);
    let _permit = slot.budget.slot().await;
    let run = ActionRun { engine: &engine, slot: &slot, name };
    match &action {
        Action::Create { spec } => run.create(spec).await,
        Action::Update { spec, .. } => run.update(spec).await,
        Action::Replace { spec, old, .. } => run.replace(spec, old).await,
        Action::Delete { id, .. } => run.delete(id).await,
        Action::Hibernate { id } => run.set_hibernation(id, true).await,
        Action::Resume { id } => run.set_hibernation(id, false).await,
        Action::Unchanged { id } => run.await_settled(id).await,
    }
}

/// Waits for a delete already under way (e.g. sent just before a restart) to finish, then
/// forgets the cluster.
pub(crate) async fn await_deleted(engine: Arc<EngineInner>, slot: Arc<Slot>, id: ClusterId) -> Result<()> {
    let _permit = slot.budget.slot().await;
    ActionRun { engine: &engine, slot: &slot, name: "delete" }.await_gone(&id).await
}

struct ActionRun<'a> {
    engine: &'a EngineInner,
    slot: &'a Slot,
    name: &'static str,
}

impl ActionRun<'_> {
    fn budget(&self) -> &Budget {
        &self.slot.budget
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<()> {
        self.start_create(spec).await?;
        self.await_running(&spec.id).await
    }

    async fn start_create(&self, spec: &ClusterSpec) -> Result<()> {
        let provider = Arc::clone(&self.slot.provider);
        let store = Arc::clone(&self.engine.store);
        self.mutate(&spec.id, IntentOperation::Create, Some(spec), || {
            let (provider, store) = (Arc::clone(&provider), Arc::clone(&store));
            let spec = spec.clone();
            // The new cluster is known to the store before its intent counts as done.
            async move { store.put_observed(&provider.create(&spec).await?).await }
        })
        .await
    }

    /// Creates the new cluster under its new name, gates it, makes it active and deletes the
    /// old one. A new cluster failing the gate halts its version's rollout and is deleted; the
    /// old one keeps serving.
    async fn replace(&self, spec: &ClusterSpec, old: &ClusterId) -> Result<()> {
        self.start_create(spec).await?;
        let cluster = self.wait_for(&spec.id, ClusterPhase::Running).await?;
        self.engine.store.put_observed(&cluster).await?;
        let gate = super::rollout::gate(self.engine.health_gate.as_ref(), &cluster, &self.engine.options.rollout).await;
        if let Err(reason) = gate {
            let version = spec.blueprint_version.to_string();
            self.engine.state().rollout.halt(reason.clone());
            let message =
                format!("rollout of `{version}` halted: new cluster `{}` failed its health gate: {reason}", spec.id);
            self.engine
                .store
                .append_event(
                    RecordKind::RolloutHalted,
                    Some(&spec.identity().first_name()),
                    &message,
                    self.engine.now(),
                )
                .await?;
            self.engine.emit(EngineEvent::RolloutHalted { version, cluster: spec.id.clone(), reason });
            self.delete(&spec.id).await?;
            return Err(Error::Provider { message, source: None });
        }
        self.engine.emit(EngineEvent::ClusterReady { cluster: spec.id.clone() });
        super::addons::install(self.engine, self.slot, &cluster).await?;
        super::placements::activate(self.engine, &cluster).await?;
        self.delete(old).await
    }

    /// Waits until the cluster runs (after a create or update, or an operation started before a
    /// restart), then records and announces it.
    async fn await_running(&self, id: &ClusterId) -> Result<()> {
        self.await_running_cluster(id).await.map(|_| ())
    }

    /// [`await_running`](Self::await_running), giving the running cluster as observed.
    async fn await_running_cluster(&self, id: &ClusterId) -> Result<Cluster> {
        let cluster = self.wait_for(id, ClusterPhase::Running).await?;
        self.engine.store.put_observed(&cluster).await?;
        self.engine.emit(EngineEvent::ClusterReady { cluster: id.clone() });
        super::addons::install(self.engine, self.slot, &cluster).await?;
        super::placements::activate(self.engine, &cluster).await?;
        Ok(cluster)
    }

    /// Waits until an operation under way (e.g. started before a restart) ends, whatever phase
    /// it ends in, then records the cluster.
    async fn await_settled(&self, id: &ClusterId) -> Result<()> {
        let cluster = self.wait_until(id, "settled", |phase| !phase.is_in_progress()).await?;
        self.engine.store.put_observed(&cluster).await?;
        if cluster.phase.is_running() {
            self.engine.emit(EngineEvent::ClusterReady { cluster: id.clone() });
            super::placements::activate(self.engine, &cluster).await?;
        }
        Ok(())
    }

    /// Hibernates (`true`) or resumes a cluster and waits until it is so.
    async fn set_hibernation(&self, id: &ClusterId, hibernate: bool) -> Result<()> {
        let provider = Arc::clone(&self.slot.provider);
        let operation = if hibernate { IntentOperation::Hibernate } else { IntentOperation::Resume };
        self.mutate(id, operation, None, || {
            let provider = Arc::clone(&provider);
            let id = id.clone();
            async move {
                if hibernate { provider.hibernate(&id).await } else { provider.resume(&id).await }.map(|_| ())
            }
        })
        .await?;
        if !hibernate {
            return self.await_running(id).await;
        }
        let cluster = self.wait_for(id, ClusterPhase::Hibernated).await?;
        self.engine.store.put_observed(&cluster).await
    }

    /// Changes a cluster in place. A hibernated cluster is woken for the change and put back
    /// to sleep after it if its spec still asks for that.
    async fn update(&self, spec: &ClusterSpec) -> Result<()> {
        // A cluster still being created or changed cannot be changed again yet.
        let current = self.wait_until(&spec.id, "running or hibernated", ClusterPhase::is_ready).await?;
        if current.phase == ClusterPhase::Hibernated {
            self.set_hibernation(&spec.id, false).await?;
        }
        let provider = Arc::clone(&self.slot.provider);
        let mut version = current.kubernetes_version;
        // The clouds upgrade one minor version per call: while each update moves the version
        // on, the next step follows once the cluster runs again.
        for _ in 0..MAX_UPGRADE_STEPS {
            self.mutate(&spec.id, IntentOperation::Update, Some(spec), || {
                let provider = Arc::clone(&provider);
                let spec = spec.clone();
                async move { provider.update(&spec).await.map(|_| ()) }
            })
            .await?;
            let updated = self.await_running_cluster(&spec.id).await?;
            let stepped = updated.kubernetes_version > version
                && updated.kubernetes_version.is_some_and(|v| !v.satisfies(spec.kubernetes_version));
            if !stepped {
                self.check_update_took(&updated, spec)?;
                break;
            }
            version = updated.kubernetes_version;
        }
        if spec.hibernated {
            self.set_hibernation(&spec.id, true).await?;
        }
        Ok(())
    }

    /// An update the provider reported done must leave the cluster matching its spec. One
    /// that did not take is tried again on the next passes (a retryable error), and after
    /// [`MAX_UPDATES_NOT_TAKEN`] such attempts in a row the cluster is failed with the fields
    /// that did not change: never an update on every pass forever.
    fn check_update_took(&self, updated: &Cluster, spec: &ClusterSpec) -> Result<()> {
        let capabilities = self.slot.provider.info().capabilities;
        let left: Vec<String> = crate::plan::differences(updated, spec, capabilities)
            .into_iter()
            .map(|change| format!("{} is {}, wanted {}", change.field, change.from, change.to))
            .collect();
        let mut state = self.engine.state();
        let not_taken = &mut state.updates_not_taken;
        if left.is_empty() {
            not_taken.remove(&spec.id);
            return Ok(());
        }
        let attempts = not_taken.entry(spec.id.clone()).or_insert(0);
        *attempts += 1;
        let fields = left.join("; ");
        if *attempts < MAX_UPDATES_NOT_TAKEN {
            return Err(Error::Conflict {
                message: format!(
                    "the update of cluster `{}` reported success but did not take ({} of {MAX_UPDATES_NOT_TAKEN}): {fields}",
                    spec.id, attempts
                ),
            });
        }
        not_taken.remove(&spec.id);
        Err(Error::Provider {
            message: format!(
                "provider `{}` did not apply the update of cluster `{}` after {MAX_UPDATES_NOT_TAKEN} attempts: {fields}",
                spec.provider, spec.id
            ),
            source: None,
        })
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let provider = Arc::clone(&self.slot.provider);
        self.mutate(id, IntentOperation::Delete, None, || {
            let provider = Arc::clone(&provider);
            let id = id.clone();
            async move { provider.delete(&id).await }
        })
        .await?;
        self.await_gone(id).await
    }

    async fn await_gone(&self, id: &ClusterId) -> Result<()> {
        match self.wait_for(id, ClusterPhase::Deleted).await {
            Ok(_) | Err(Error::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
        self.engine.store.remove_observed(id).await
    }

    /// One mutating call, retried: each attempt is recorded as an intent before the call and
    /// resolved after it.
    async fn mutate<F, Fut>(
        &self,
        id: &ClusterId,
        operation: IntentOperation,
        spec: Option<&ClusterSpec>,
        call: F,
    ) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let options = &self.engine.options;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(options.retry_initial)
            .with_max_delay(options.retry_max)
            .with_jitter()
            .without_max_times();
        if let Some(seed) = options.jitter_seed {
            // One stream per cluster: seeded, yet clusters do not retry in step.
            let per_cluster = id.as_str().bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
            backoff = backoff.with_jitter_seed(per_cluster);
        }
        let mut backoff = backoff.build();
        let mut attempt = 1;
        loop {
            self.budget().call(CallKind::Write).await;
            // Ownership can move while an action waits; a call is made only while it is held
            // (and a fenced store refuses the intent of a replica that lost it).
            let identity = super::ownership::identity_of_call(id, spec, &self.engine.state().last_observed);
            if !self.engine.ownership.owns(&identity) {
                return Err(Error::Conflict { message: format!("this engine no longer owns `{identity}`") });
            }
            let intent = NewIntent::new(id.clone(), operation, attempt, spec.cloned());
            let intent_id = self.engine.store.record_intent(intent, self.engine.now()).await?;
            let result = call().await;
            let outcome = match &result {
                Ok(()) => IntentOutcome::Succeeded,
                Err(err) => IntentOutcome::Failed { reason: err.to_string() },
            };
            self.engine.store.resolve_intent(intent_id, outcome).await?;
            let err = match result {
                Ok(()) => return Ok(()),
                Err(err) => err,
            };
            let retry_in = if err.is_retryable() && attempt < options.max_attempts {
                err.retry_after().or_else(|| backoff.next())
            } else {
                None
            };
            self.engine.emit(EngineEvent::ActionFailed {
                cluster: id.clone(),
                action: self.name,
                error: err.to_string(),
                retry_in,
            });
            let Some(wait) = retry_in else {
                return Err(err);
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Polls `get` until the cluster is in `target` (`Deleted` also accepts a missing cluster,
    /// reported as `NotFound`), within the provider's operation timeout.
    async fn wait_for(&self, id: &ClusterId, target: ClusterPhase) -> Result<Cluster> {
        let what = target.name();
        self.wait_until(id, what, move |phase| *phase == target).await
    }

    /// Polls `get` until `done(phase)`, within the provider's operation timeout. A missing
    /// cluster ends the wait with `NotFound`.
    async fn wait_until(&self, id: &ClusterId, what: &str, done: impl Fn(&ClusterPhase) -> bool) -> Result<Cluster> {
        let options = &self.engine.options;
        let mut poll = Poller::new(
            WaitOptions::with_timeout(self.slot.operation_timeout)
                .with_intervals(options.poll_initial, options.poll_max),
        );
        loop {
            self.budget().call(CallKind::Read).await;
            let retry_after = match self.slot.provider.get(id).await {
                Ok(cluster) if done(&cluster.phase) => return Ok(cluster),
                Ok(cluster) => match cluster.phase {
                    ClusterPhase::Failed { reason } => {
                        return Err(Error::Provider {
                            message: format!("cluster `{id}` failed: {reason}"),
                            source: None,
                        });
                    }
                    _ => None,
                },
                Err(err @ Error::NotFound { .. }) => return Err(err),
                Err(err) if err.is_retryable() => err.retry_after(),
                Err(err) => return Err(err),
            };
            poll.sleep(retry_after, || format!("cluster `{id}` to become {what}")).await?;
        }
    }
}
