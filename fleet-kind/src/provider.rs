//! [`KindProvider`]: the `ClusterProvider` for Kind.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use fleet_core::addons::{grant_team_access, kube_client};
use fleet_core::{
    Cluster, ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, Credentials, Error, FleetName, FleetTags,
    ProviderInfo, ProviderName, RateLimit, RateLimits, Region, Result, TeamName, TypicalLatency,
};

use crate::command::KindCommand;
use crate::config::kind_config;
use crate::record::{ClusterRecord, Records, io_error};

/// The one region of a Kind provider: the local machine.
pub const LOCAL: &str = "local";

/// How long `kind create cluster` waits for the control plane.
const CREATE_WAIT: &str = "300s";

/// Builds a [`KindProvider`]; see [`KindProvider::builder`].
#[derive(Debug, Clone)]
pub struct KindProviderBuilder {
    fleet: FleetName,
    program: Option<PathBuf>,
    search_path: Option<OsString>,
    state_dir: Option<PathBuf>,
    name: Option<ProviderName>,
}

impl KindProviderBuilder {
    /// Runs this `kind` executable instead of looking for one.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Looks for `kind` on this `PATH`-style list of directories (default: the process's
    /// `PATH`).
    pub fn search_path(mut self, search_path: impl Into<OsString>) -> Self {
        self.search_path = Some(search_path.into());
        self
    }

    /// Keeps cluster records here (default: `$XDG_STATE_HOME/fleet-kind`, else
    /// `~/.local/state/fleet-kind`).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Registers under another provider name than `kind`.
    pub fn name(mut self, name: ProviderName) -> Self {
        self.name = Some(name);
        self
    }

    /// Finds `kind` and builds the provider; a missing `kind` is an error saying what to
    /// install.
    pub fn build(self) -> Result<KindProvider> {
        let command = match self.program {
            Some(program) => KindCommand::at(program),
            None => KindCommand::find(&self.search_path.or_else(|| std::env::var_os("PATH")).unwrap_or_default())?,
        };
        let state_dir = match self.state_dir {
            Some(dir) => dir,
            None => default_state_dir()?,
        };
        let name = match self.name {
            Some(name) => name,
            None => ProviderName::new("kind")?,
        };
        let info = ProviderInfo::new(name, vec![Region::new(LOCAL)?])
            .with_rate_limits(RateLimits::new(RateLimit::new(50.0, 100), RateLimit::new(5.0, 10)))
            .with_latency(TypicalLatency::new(
                Duration::from_secs(90),
                Duration::from_secs(90),
                Duration::from_secs(20),
            ));
        let local = Region::new(LOCAL)?;
        Ok(KindProvider { fleet: self.fleet, command, records: Records::new(state_dir), info, local })
    }
}

fn default_state_dir() -> Result<PathBuf> {
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        return Ok(PathBuf::from(state).join("fleet-kind"));
    }
    match std::env::var_os("HOME").filter(|s| !s.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/fleet-kind")),
        None => Err(Error::InvalidSpec {
            path: "state_dir".into(),
            reason: "neither XDG_STATE_HOME nor HOME is set; give the Kind provider a state directory".into(),
        }),
    }
}

/// Kind clusters of one fleet on this machine; see the [crate](crate) documentation.
#[derive(Debug, Clone)]
pub struct KindProvider {
    fleet: FleetName,
    command: KindCommand,
    records: Records,
    info: ProviderInfo,
    local: Region,
}

impl KindProvider {
    /// Starts building a provider for `fleet`.
    pub fn builder(fleet: FleetName) -> KindProviderBuilder {
        KindProviderBuilder { fleet, program: None, search_path: None, state_dir: None, name: None }
    }

    /// The `kind` executable it runs.
    pub fn command(&self) -> &KindCommand {
        &self.command
    }

    /// Where it keeps cluster records.
    pub fn state_dir(&self) -> &std::path::Path {
        self.records.dir()
    }

    /// The names of every Kind cluster on the machine.
    async fn kind_clusters(&self) -> Result<Vec<ClusterId>> {
        let out = self.command.run(&["get", "clusters"]).await?;
        Ok(out.lines().map(str::trim).filter_map(|line| ClusterId::new(line).ok()).collect())
    }

    /// `id`'s record if Kind has the cluster: `NotFound` when it does not (a stale record is
    /// forgotten), `None` for a Kind cluster Fleet did not make.
    async fn existing(&self, id: &ClusterId) -> Result<Option<ClusterRecord>> {
        if !self.kind_clusters().await?.contains(id) {
            self.records.remove(id).await?;
            return Err(Error::cluster_not_found(id));
        }
        self.records.read(id).await
    }

    /// `id`'s record if the cluster exists and is this fleet's; `NotFound` or
    /// `PermissionDenied` otherwise.
    async fn owned(&self, id: &ClusterId) -> Result<ClusterRecord> {
        match self.existing(id).await? {
            Some(record) if FleetTags::belongs_to(&record.tags, &self.fleet) => Ok(record),
            _ => {
                Err(Error::PermissionDenied { message: format!("Kind cluster `{id}` is not fleet `{}`'s", self.fleet) })
            }
        }
    }

    fn view(&self, id: &ClusterId, record: Option<&ClusterRecord>) -> Cluster {
        let mut cluster = Cluster::new(
            id.clone(),
            self.info.name.clone(),
            format!("kind://{id}"),
            self.local.clone(),
            ClusterPhase::Running,
        );
        if let Some(record) = record {
            cluster = cluster
                .with_kubernetes_version(record.kubernetes_version)
                .with_node_pools(record.node_pools.clone())
                .with_tags(record.tags.clone())
                .with_timestamps(record.created_at(), record.created_at());
            if let Some(endpoint) = &record.endpoint {
                cluster = cluster.with_endpoint(endpoint.clone());
            }
        }
        cluster
    }

    async fn kubeconfig(&self, id: &ClusterId) -> Result<(String, String)> {
        let kubeconfig = self.command.run(&["get", "kubeconfig", "--name", id.as_str()]).await?;
        let endpoint = kubeconfig
            .lines()
            .find_map(|line| line.trim().strip_prefix("server:"))
            .map(|server| server.trim().trim_matches('"').to_owned())
            .ok_or_else(|| Error::Provider {
                message: format!("`kind get kubeconfig --name {id}` printed no server address"),
                source: None,
            })?;
        Ok((endpoint, kubeconfig))
    }
}

#[async_trait]
impl ClusterProvider for KindProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        if spec.provider != self.info.name {
            return Err(Error::wrong_provider(&spec.provider, &self.info.name));
        }
        if spec.region.as_str() != LOCAL {
            return Err(Error::InvalidSpec {
                path: "region".into(),
                reason: format!("Kind runs clusters on this machine only: region `{LOCAL}`, not `{}`", spec.region),
            });
        }
        let config = kind_config(&self.fleet, spec)?;
        match self.existing(&spec.id).await {
            Ok(Some(record)) if FleetTags::belongs_to(&record.tags, &self.fleet) => {
                return Ok(self.view(&spec.id, Some(&record)));
            }
            Ok(_) => {
                return Err(Error::AlreadyExists {
                    resource: format!("Kind cluster `{}` (not fleet `{}`'s)", spec.id, self.fleet),
                });
            }
            Err(Error::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
        let created_at_ms =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default();
        let mut record = ClusterRecord {
            id: spec.id.clone(),
            tags: FleetTags::cluster_tags(&self.fleet, spec),
            kubernetes_version: spec.kubernetes_version,
            node_pools: spec.node_pools.clone(),
            endpoint: None,
            created_at_ms,
        };
        // The record goes first: a crash during `kind create` leaves a cluster whose tags are known.
        self.records.write(&record).await?;
        let config_path = self.records.config_path(&spec.id);
        let text = serde_json::to_vec_pretty(&config)
            .map_err(|err| Error::Provider { message: format!("encoding the kind config: {err}"), source: None })?;
        tokio::fs::write(&config_path, text).await.map_err(|err| io_error(&config_path, err))?;
        let config_arg = config_path.display().to_string();
        let created = self
            .command
            .run(&["create", "cluster", "--name", spec.id.as_str(), "--config", &config_arg, "--wait", CREATE_WAIT])
            .await;
        if let Err(err) = created {
            self.records.remove(&spec.id).await?;
            return Err(err);
        }
        let (endpoint, _) = self.kubeconfig(&spec.id).await?;
        record.endpoint = Some(endpoint);
        self.records.write(&record).await?;
        Ok(self.view(&spec.id, Some(&record)))
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let record = self.existing(id).await?;
        Ok(self.view(id, record.as_ref()))
    }

    async fn list(&self) -> Result<Vec<Cluster>> {
        let mut clusters = Vec::new();
        for id in self.kind_clusters().await? {
            if let Some(record) = self.records.read(&id).await?
                && FleetTags::belongs_to(&record.tags, &self.fleet)
            {
                clusters.push(self.view(&id, Some(&record)));
            }
        }
        Ok(clusters)
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        self.owned(&spec.id).await?;
        Err(Error::Unsupported {
            operation: format!("changing Kind cluster `{}` in place (Kind clusters are replaced)", spec.id),
        })
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        match self.owned(id).await {
            Ok(_) => {}
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        }
        self.command.run(&["delete", "cluster", "--name", id.as_str()]).await?;
        self.records.remove(id).await
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        self.owned(id).await?;
        let (endpoint, kubeconfig) = self.kubeconfig(id).await?;
        Ok(Credentials::from_kubeconfig(endpoint, kubeconfig.into()))
    }

    async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
        let admin = self.credentials(id).await?;
        let client = kube_client(&admin).await?;
        grant_team_access(&client, &admin, id.as_str(), team, Duration::from_secs(24 * 3600)).await
    }
}
