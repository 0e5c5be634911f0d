//! Self-service environments: a team asks for a cluster and gets one, inside ops' guardrails.
//!
//! [`SelfService::submit`] checks an [`EnvironmentRequest`] against the team's policy
//! (providers, regions, sizes, TTL, quotas) and the ops-locked layers, has the engine create
//! it, and hands back credentials for the team's own namespace, never cluster-admin. An
//! accepted environment lives in the state store until its TTL ends (the engine then deletes
//! its cluster) or its team deletes it ([`SelfService::delete`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::engine::{Engine, EngineEvent};
use crate::fleet_spec::{DesiredCluster, EnvironmentRequest, Rejection, Usage};
use crate::mutex::lock;
use crate::repository::{Desired, Repository};
use crate::store::AcceptedEnvironment;
use crate::telemetry::{self, SelfServiceOutcome};
use crate::{
    ClusterId, ClusterPhase, ClusterProvider, Credentials, Error, ProviderName, SpecError, SpecErrors, TeamName,
};

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

/// Where a team's environment stands; see [`SelfService::environment`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EnvironmentState {
    /// The environment as accepted.
    pub environment: AcceptedEnvironment,
    /// Its cluster's phase at the engine's last observation; `None` before it was seen.
    pub phase: Option<ClusterPhase>,
    /// Credentials for the team's namespace, once its cluster runs.
    pub credentials: Option<Credentials>,
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
///
/// Accepted environments are kept in the engine's state store
/// ([`Engine::accept_environment`]) until their TTL ends or their team deletes them: a reload
/// of the repository ([`SelfService::reload`], or the engine's `set_desired`), a restart or a
/// crash never loses one.
pub struct SelfService {
    repository: Mutex<Repository>,
    engine: Engine,
    providers: BTreeMap<ProviderName, Arc<dyn ClusterProvider>>,
    /// Judges requests one at a time, each counting the ones accepted before it.
    accepting: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SelfService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfService").field("fleet", self.engine.fleet()).finish_non_exhaustive()
    }
}

impl SelfService {
    /// Serves the fleet `repository` declares through `engine` and its providers (whose calls
    /// are charged to the engine's API budget); the engine's desired fleet becomes the
    /// repository's (its own requests included), with the accepted environments beside it.
    pub fn new(repository: Repository, engine: Engine) -> Result<Self, SpecErrors> {
        let infos: Vec<_> = engine.providers().values().map(|p| p.info().clone()).collect();
        let desired = repository.desired(&infos)?;
        Self::resolved(repository, engine, &desired)
    }

    /// As [`SelfService::new`], with `desired`: `repository` already resolved against the
    /// engine's providers.
    pub(crate) fn resolved(repository: Repository, engine: Engine, desired: &Desired) -> Result<Self, SpecErrors> {
        let providers = engine.providers();
        let service = Self {
            repository: Mutex::new(Repository::default()),
            engine,
            providers,
            accepting: tokio::sync::Mutex::new(()),
        };
        service.take(repository, desired)?;
        Ok(service)
    }

    /// Takes a new version of the repository: its fleet becomes the engine's desired fleet
    /// and its policies judge the next requests. A repository with errors changes nothing
    /// and returns them. Accepted environments stay, whatever the repository now says.
    ///
    /// Returns what the repository declares (its failover policies, its rejected requests).
    pub fn reload(&self, repository: Repository) -> Result<Desired, SpecErrors> {
        let infos: Vec<_> = self.providers.values().map(|p| p.info().clone()).collect();
        let desired = repository.desired(&infos)?;
        self.take(repository, &desired)?;
        Ok(desired)
    }

    /// Makes `repository`, resolved as `desired`, the one served.
    fn take(&self, repository: Repository, desired: &Desired) -> Result<(), SpecErrors> {
        self.engine
            .set_desired(desired.fleet.clone())
            .map_err(|err| SpecErrors(vec![SpecError::new("spec.name", err.to_string())]))?;
        *lock(&self.repository) = repository;
        Ok(())
    }

    /// Checks `request` against the policies, the quotas and what is taken (the engine's
    /// desired fleet and every stored environment), and keeps it in the store: requests are
    /// judged one after the other, each counting the ones accepted before it.
    async fn accept(&self, request: &EnvironmentRequest) -> Result<AcceptedEnvironment, SubmitError> {
        let _one_at_a_time = self.accepting.lock().await;
        let stored = self.engine.environments().await?;
        let desired = self.engine.desired();
        let mut clusters: BTreeMap<&ClusterId, &DesiredCluster> =
            desired.clusters.iter().map(|cluster| (&cluster.spec.id, cluster)).collect();
        for environment in &stored {
            clusters.entry(environment.id()).or_insert(&environment.cluster);
        }
        let mut usage: BTreeMap<TeamName, Usage> = BTreeMap::new();
        for cluster in clusters.values() {
            if let Some(team) = &cluster.spec.owner_team {
                usage.entry(team.clone()).or_default().add(&cluster.spec);
            }
        }
        let taken: BTreeSet<ClusterId> = clusters.keys().map(|id| (*id).clone()).collect();
        let infos: BTreeMap<_, _> = self.providers.iter().map(|(name, p)| (name, p.info())).collect();
        let cluster = lock(&self.repository).schedule(request, &infos, &usage, &taken)?;
        let environment = AcceptedEnvironment::new(request.clone(), cluster, self.engine.now());
        self.engine.accept_environment(environment.clone()).await?;
        Ok(environment)
    }

    /// Checks and schedules the environment `request` asks for and keeps it in the store, without
    /// waiting for its cluster: the running engine ([`Engine::run`]) creates it, and
    /// [`SelfService::environment`] tells where it stands. Returns it as accepted.
    ///
    /// # Errors
    /// [`SubmitError::Rejected`] names the rule a request broke and the field it judged;
    /// [`SubmitError::Failed`] when the engine is not running (nobody would create it) or the
    /// store failed. Nothing is kept in either case.
    pub async fn request(&self, request: EnvironmentRequest) -> Result<AcceptedEnvironment, SubmitError> {
        let result = self.judge(request).await;
        match &result {
            Ok(_) => telemetry::self_service_request(SelfServiceOutcome::Accepted, ""),
            Err(SubmitError::Rejected(rejection)) => {
                telemetry::self_service_request(SelfServiceOutcome::Rejected, &rejection.rule);
            }
            Err(_) => telemetry::self_service_request(SelfServiceOutcome::Failed, ""),
        }
        result
    }

    /// Judges `request` and keeps it if accepted; see [`SelfService::request`].
    async fn judge(&self, request: EnvironmentRequest) -> Result<AcceptedEnvironment, SubmitError> {
        self.provider_of(&request)?;
        if !self.engine.is_running() {
            return Err(Error::Unavailable {
                message: format!(
                    "environment `{}` not accepted: the engine of fleet `{}` is not running (start Engine::run)",
                    request.name,
                    self.engine.fleet()
                ),
            }
            .into());
        }
        self.accept(&request).await
    }

    /// Checks and schedules the environment `request` asks for, keeps it in the store, wakes
    /// the running engine ([`Engine::run`]) and waits until it has created the cluster; returns
    /// it with credentials for the team's namespace.
    ///
    /// # Errors
    /// As [`SelfService::request`]; and [`SubmitError::Failed`] when creating it failed or took
    /// longer than three times the provider's typical create latency (the environment stays
    /// accepted: the engine keeps trying).
    pub async fn submit(&self, request: EnvironmentRequest) -> Result<Environment, SubmitError> {
        // Listening from before the request is accepted: the running engine may create it at
        // once.
        let mut events = self.engine.subscribe();
        let accepted = self.request(request).await?;
        let provider = self.provider_of(&accepted.request)?;
        let id = accepted.id();
        let timeout = (provider.info().latency.create * 3).max(Duration::from_secs(600));
        tokio::time::timeout(timeout, ready(&mut events, id)).await.map_err(|_| Error::Timeout {
            message: format!("environment `{id}` not running after {}", crate::format_duration(timeout)),
        })??;
        let credentials = provider.team_credentials(id, &accepted.request.team).await?;
        Ok(Environment { id: id.clone(), team: accepted.request.team.clone(), credentials, ttl: accepted.request.ttl })
    }

    /// The provider `request` names.
    fn provider_of(&self, request: &EnvironmentRequest) -> Result<Arc<dyn ClusterProvider>, Rejection> {
        self.providers
            .get(&request.provider)
            .cloned()
            .ok_or_else(|| Rejection::new(request, "provider", format!("unknown provider `{}`", request.provider)))
    }

    /// Where `team`'s environment `id` stands: as accepted, its cluster's phase at the engine's
    /// last observation, and credentials for the team's namespace once it runs (never
    /// cluster-admin).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such environment, [`Error::PermissionDenied`]
    /// when it is another team's; a provider's error while asking for credentials.
    pub async fn environment(&self, team: &TeamName, id: &ClusterId) -> Result<EnvironmentState, Error> {
        let environment = self.find(team, id).await?;
        let phase = self.engine.observed().into_iter().find(|cluster| cluster.id == *id).map(|cluster| cluster.phase);
        let credentials = match (&phase, self.providers.get(&environment.request.provider)) {
            (Some(ClusterPhase::Running), Some(provider)) => Some(provider.team_credentials(id, team).await?),
            _ => None,
        };
        Ok(EnvironmentState { environment, phase, credentials })
    }

    /// The environments `team` has, as accepted.
    pub async fn environments(&self, team: &TeamName) -> Result<Vec<AcceptedEnvironment>, Error> {
        let mut environments = self.engine.environments().await?;
        environments.retain(|environment| environment.request.team == *team);
        Ok(environments)
    }

    /// Deletes `team`'s environment `id`: it leaves the store and the engine deletes its
    /// cluster.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such environment, [`Error::PermissionDenied`]
    /// when it is another team's (nothing is deleted).
    pub async fn delete(&self, team: &TeamName, id: &ClusterId) -> Result<(), Error> {
        self.find(team, id).await?;
        self.engine.remove_environment(id).await
    }

    /// `team`'s stored environment `id`.
    async fn find(&self, team: &TeamName, id: &ClusterId) -> Result<AcceptedEnvironment, Error> {
        let environments = self.engine.environments().await?;
        let Some(environment) = environments.into_iter().find(|environment| environment.id() == id) else {
            return Err(Error::NotFound { resource: format!("environment `{id}`") });
        };
        if environment.request.team != *team {
            return Err(Error::PermissionDenied {
                message: format!("environment `{id}` belongs to another team than `{team}`"),
            });
        }
        Ok(environment)
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
