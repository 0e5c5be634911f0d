//! Self-service environments: a team asks for a cluster and gets one, inside ops' guardrails.
//!
//! [`SelfService::submit`] checks an [`EnvironmentRequest`] against the team's policy
//! (providers, regions, sizes, TTL, quotas) and the ops-locked layers, has the engine create
//! it, and hands back credentials for the team's own namespace, never cluster-admin. The
//! engine deletes the cluster when its TTL ends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::engine::{Engine, EngineEvent};
use crate::fleet_spec::{DesiredCluster, DesiredFleet, EnvironmentRequest, Rejection, Usage};
use crate::mutex::lock;
use crate::repository::Repository;
use crate::{ClusterId, ClusterProvider, Credentials, Error, ProviderName, SpecErrors, TeamName};

/// A team's environment, ready to use.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Environment {
    /// Its cluster.
    pub id: ClusterId,
    /// The team it belongs to.
    pub team: TeamName,
    /// Credentials for the team's namespace only.
    pub credentials: Credentials,
    /// How long it lives.
    pub ttl: Option<Duration>,
}

/// Why a request did not become an environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// A rule refused it: the rule and what was asked.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// It was accepted, but creating it failed.
    #[error("environment accepted but not created: {0}")]
    Failed(#[from] Error),
}

/// The self-service front door of one fleet.
pub struct SelfService {
    repository: Repository,
    engine: Engine,
    providers: BTreeMap<ProviderName, Arc<dyn ClusterProvider>>,
    base: DesiredFleet,
    accepted: Mutex<Vec<DesiredCluster>>,
}

impl std::fmt::Debug for SelfService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfService").field("fleet", &self.base.name).finish_non_exhaustive()
    }
}

impl SelfService {
    /// Serves the fleet `repository` declares through `engine` and its providers (whose calls
    /// are charged to the engine's API budget); the engine's desired fleet becomes the
    /// repository's (its own requests included).
    pub fn new(repository: Repository, engine: Engine) -> Result<Self, SpecErrors> {
        let providers = engine.providers();
        let infos: Vec<_> = providers.values().map(|p| p.info().clone()).collect();
        let base = repository.desired(&infos)?.fleet;
        engine
            .set_desired(base.clone())
            .map_err(|err| SpecErrors(vec![crate::SpecError::new("spec.name", err.to_string())]))?;
        Ok(Self { repository, engine, providers, base, accepted: Mutex::new(Vec::new()) })
    }

    fn current(&self) -> DesiredFleet {
        let accepted = lock(&self.accepted).clone();
        self.with(accepted)
    }

    fn with(&self, accepted: Vec<DesiredCluster>) -> DesiredFleet {
        DesiredFleet::new(self.base.name.clone(), self.base.clusters.iter().cloned().chain(accepted).collect())
    }

    /// Checks `request` against the policies, the quotas and what is taken, and adds its
    /// cluster to the accepted ones, under one lock: requests submitted at the same time are
    /// judged one after the other, each counting the ones accepted before it.
    fn accept(&self, request: &EnvironmentRequest) -> Result<(), Rejection> {
        let mut accepted = lock(&self.accepted);
        let current = self.with(accepted.clone());
        let mut usage: BTreeMap<TeamName, Usage> = BTreeMap::new();
        for cluster in &current.clusters {
            if let Some(team) = &cluster.spec.owner_team {
                usage.entry(team.clone()).or_default().add(&cluster.spec);
            }
        }
        let taken: BTreeSet<ClusterId> = current.clusters.iter().map(|c| c.spec.id.clone()).collect();
        let infos: BTreeMap<_, _> = self.providers.iter().map(|(name, p)| (name, p.info())).collect();
        let cluster = self.repository.schedule(request, &infos, &usage, &taken)?;
        accepted.push(cluster);
        Ok(())
    }

    /// Checks, schedules and creates the environment `request` asks for, and returns it with
    /// credentials for the team's namespace.
    pub async fn submit(&self, request: EnvironmentRequest) -> Result<Environment, SubmitError> {
        let provider = self
            .providers
            .get(&request.provider)
            .ok_or_else(|| Rejection::new(&request, "provider", format!("unknown provider `{}`", request.provider)))?;
        // Listening from before the request is accepted: its cluster may be created by this
        // request's pass or, when requests arrive together, by a pass another one started.
        let mut events = self.engine.subscribe();
        self.accept(&request)?;
        self.engine.set_desired(self.current())?;
        let report = self.engine.run_once().await?;
        if let Some(reason) = report.failed.get(&request.name) {
            return Err(Error::Provider { message: reason.clone(), source: None }.into());
        }
        let timeout = (provider.info().latency.create * 3).max(Duration::from_secs(600));
        tokio::time::timeout(timeout, ready(&mut events, &request.name)).await.map_err(|_| Error::Timeout {
            message: format!("environment `{}` not running after {}", request.name, crate::format_duration(timeout)),
        })??;
        let credentials = provider.team_credentials(&request.name, &request.team).await?;
        Ok(Environment { id: request.name.clone(), team: request.team.clone(), credentials, ttl: request.ttl })
    }
}

/// Waits until the engine reports `id` ready, or its creation failed for good.
async fn ready(events: &mut broadcast::Receiver<EngineEvent>, id: &ClusterId) -> Result<(), Error> {
    loop {
        match events.recv().await {
            Ok(EngineEvent::ClusterReady { cluster }) if cluster == *id => return Ok(()),
            Ok(EngineEvent::ActionFailed { cluster, error, retry_in: None, .. }) if cluster == *id => {
                return Err(Error::Provider { message: error, source: None });
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => {
                return Err(Error::Unavailable { message: "the engine stopped".into() });
            }
        }
    }
}
