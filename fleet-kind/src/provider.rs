//! [`KindProvider`]: the `ClusterProvider` for Kind.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use fleet_core::addons::{grant_team_access, kube_client};
use fleet_core::plan::ensure_in_place;
use fleet_core::{
    Capabilities, Cluster, ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, Credentials, Error, FleetName,
    FleetTags, KubernetesVersion, Listing, ProviderInfo, ProviderName, RateLimit, RateLimits, Region, Result, TeamName,
    TypicalLatency,
};

use crate::command::KindCommand;
use crate::config::kind_config;
use crate::record::{ClusterRecord, RecordStatus, Records, io_error, now_ms};

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
            // An update changes only Fleet's record of the cluster: it is done when it returns.
            .with_latency(TypicalLatency::new(Duration::from_secs(90), Duration::from_secs(1), Duration::from_secs(20)))
            // Team access is set up through the cluster's own API server (`grant_team_access`).
            .with_capabilities(Capabilities::default().with_team_credentials(true));
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

/// What `kind get clusters` and the records say of one cluster id.
struct Seen {
    listed: bool,
    record: Option<ClusterRecord>,
}

/// Whether the caller holds the cluster's lock (then no one else is changing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Yes,
    No,
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

    async fn seen(&self, id: &ClusterId) -> Result<Seen> {
        let listed = self.kind_clusters().await?.contains(id);
        Ok(Seen { listed, record: self.records.read(id).await? })
    }

    fn is_mine(&self, record: Option<&ClusterRecord>) -> bool {
        record.is_some_and(|record| FleetTags::belongs_to(&record.tags, &self.fleet))
    }

    /// The phase of a cluster Kind and the records describe as `seen`; `None` when it does
    /// not exist (a record of a cluster Kind no longer has is stale). A record saying
    /// "creating" is read again once the creator is seen gone, as that creator may have
    /// finished in between.
    async fn phase(&self, id: &ClusterId, seen: &mut Seen, held: Held) -> Result<Option<ClusterPhase>> {
        let Some(record) = &seen.record else {
            return Ok(seen.listed.then_some(ClusterPhase::Running));
        };
        if record.status == RecordStatus::Creating && held == Held::No {
            if self.records.busy(id).await? {
                return Ok(Some(ClusterPhase::Creating));
            }
            seen.record = self.records.read(id).await?;
        }
        Ok(match seen.record.as_ref().map(|record| record.status) {
            None => None,
            Some(RecordStatus::Running) => seen.listed.then_some(ClusterPhase::Running),
            Some(RecordStatus::Deleting) => seen.listed.then_some(ClusterPhase::Deleting),
            Some(RecordStatus::Creating) => seen.listed.then(|| ClusterPhase::Failed {
                reason: "`kind create cluster` was interrupted; delete the cluster and create it again".into(),
            }),
        })
    }

    /// The cluster `id` and its record (`None` for a Kind cluster Fleet did not make);
    /// `NotFound` when it does not exist.
    async fn observe(&self, id: &ClusterId, held: Held) -> Result<(Cluster, Option<ClusterRecord>)> {
        let mut seen = self.seen(id).await?;
        match self.phase(id, &mut seen, held).await? {
            Some(phase) => Ok((self.view(id, seen.record.as_ref(), phase), seen.record)),
            None => Err(Error::cluster_not_found(id)),
        }
    }

    /// The cluster `id` and its record if it exists and is this fleet's; `NotFound` or
    /// `PermissionDenied` otherwise.
    async fn owned(&self, id: &ClusterId, held: Held) -> Result<(Cluster, ClusterRecord)> {
        match self.observe(id, held).await? {
            (cluster, Some(record)) if self.is_mine(Some(&record)) => Ok((cluster, record)),
            _ => Err(self.not_mine(id)),
        }
    }

    fn not_mine(&self, id: &ClusterId) -> Error {
        Error::PermissionDenied { message: format!("Kind cluster `{id}` is not fleet `{}`'s", self.fleet) }
    }

    fn view(&self, id: &ClusterId, record: Option<&ClusterRecord>, phase: ClusterPhase) -> Cluster {
        let mut cluster =
            Cluster::new(id.clone(), self.info.name.clone(), format!("kind://{id}"), self.local.clone(), phase);
        if let Some(record) = record {
            cluster = cluster
                .with_kubernetes_version(record.kubernetes_version)
                .with_node_pools(record.node_pools.clone())
                .with_tags(record.tags.clone())
                .with_timestamps(record.created_at(), record.updated_at());
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
            .filter(|server| !server.is_empty())
            .ok_or_else(|| Error::Provider {
                message: format!("`kind get kubeconfig --name {id}` printed no server address"),
                source: None,
            })?;
        Ok((endpoint, kubeconfig))
    }

    /// Admin credentials of this fleet's running cluster `id`.
    async fn admin_credentials(&self, id: &ClusterId) -> Result<Credentials> {
        let (cluster, _) = self.owned(id, Held::No).await?;
        if matches!(cluster.phase, ClusterPhase::Creating | ClusterPhase::Deleting) {
            return Err(Error::Conflict {
                message: format!("Kind cluster `{id}` is {}: no credentials until it runs", cluster.phase),
            });
        }
        let (endpoint, kubeconfig) = self.kubeconfig(id).await?;
        Ok(Credentials::from_kubeconfig(endpoint, kubeconfig.into()))
    }

    /// Runs `kind create cluster` for `spec` (whose id the caller holds the lock of and Kind
    /// does not have): the record first, so that a crash leaves a cluster whose tags are known.
    async fn create_new(&self, spec: &ClusterSpec, config: &serde_json::Value) -> Result<Cluster> {
        let created_at_ms = now_ms();
        let mut record = ClusterRecord {
            id: spec.id.clone(),
            tags: FleetTags::cluster_tags(&self.fleet, spec),
            kubernetes_version: spec.kubernetes_version,
            node_pools: spec.node_pools.clone(),
            endpoint: None,
            created_at_ms,
            updated_at_ms: None,
            status: RecordStatus::Creating,
        };
        self.records.write(&record).await?;
        let config_path = self.records.config_path(&spec.id);
        let text = serde_json::to_vec_pretty(config)
            .map_err(|err| Error::Provider { message: format!("encoding the kind config: {err}"), source: None })?;
        tokio::fs::write(&config_path, text).await.map_err(|err| io_error(&config_path, err))?;
        let config_arg = config_path.display().to_string();
        let created = self
            .command
            .run(&["create", "cluster", "--name", spec.id.as_str(), "--config", &config_arg, "--wait", CREATE_WAIT])
            .await;
        if let Err(err) = created {
            // Kind removes what a failed create made; the record must not tag a cluster of
            // that name someone else makes later.
            self.records.remove(&spec.id).await?;
            return Err(err);
        }
        record.status = RecordStatus::Running;
        self.records.write(&record).await?;
        self.with_endpoint(record).await
    }

    /// Records the endpoint of the running cluster `record` describes, if it has none yet.
    async fn with_endpoint(&self, mut record: ClusterRecord) -> Result<Cluster> {
        if record.endpoint.is_none() {
            let (endpoint, _) = self.kubeconfig(&record.id).await?;
            record.endpoint = Some(endpoint);
            self.records.write(&record).await?;
        }
        Ok(self.view(&record.id, Some(&record), ClusterPhase::Running))
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
        // The Kind provider configures none of the control-plane settings (audit logging,
        // endpoint access, network policy) and declares none: refused, never dropped.
        self.info.capabilities.ensure_settings_apply(spec, &self.info.name)?;
        let config = kind_config(&self.fleet, spec)?;
        let _lock = self.records.lock(&spec.id).await?;
        let mut seen = self.seen(&spec.id).await?;
        match self.phase(&spec.id, &mut seen, Held::Yes).await? {
            None => {
                // Missing; a record left by an interrupted create or an outside deletion is stale.
                if seen.record.is_some() {
                    self.records.remove(&spec.id).await?;
                }
                self.create_new(spec, &config).await
            }
            Some(_) if !self.is_mine(seen.record.as_ref()) => Err(Error::AlreadyExists {
                resource: format!("Kind cluster `{}` (not fleet `{}`'s)", spec.id, self.fleet),
            }),
            Some(ClusterPhase::Deleting) => Err(Error::Conflict {
                message: format!(
                    "Kind cluster `{}` is being deleted (an interrupted deletion: delete it again to finish)",
                    spec.id
                ),
            }),
            Some(ClusterPhase::Running) => match seen.record {
                Some(record) => self.with_endpoint(record).await,
                None => Err(Error::cluster_not_found(&spec.id)),
            },
            Some(phase) => Ok(self.view(&spec.id, seen.record.as_ref(), phase)),
        }
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        Ok(self.observe(id, Held::No).await?.0)
    }

    /// Kind has one region, the local machine: a `kind get clusters` that fails fails the
    /// listing.
    async fn list(&self) -> Result<Listing> {
        let listed: BTreeSet<ClusterId> = self.kind_clusters().await?.into_iter().collect();
        // Records too: a cluster being created is Fleet's before Kind lists it.
        let ids: BTreeSet<ClusterId> = listed.iter().cloned().chain(self.records.ids().await?).collect();
        let mut clusters = Vec::new();
        for id in ids {
            let mut seen = Seen { listed: listed.contains(&id), record: self.records.read(&id).await? };
            if !self.is_mine(seen.record.as_ref()) {
                continue;
            }
            if let Some(phase) = self.phase(&id, &mut seen, Held::No).await?
                && self.is_mine(seen.record.as_ref())
            {
                clusters.push(self.view(&id, seen.record.as_ref(), phase));
            }
        }
        Ok(Listing::new(clusters))
    }

    /// Kind changes nothing of a running cluster in place but its tags, which live in Fleet's
    /// record of it: an update of labels or the blueprint version is done when this returns;
    /// any other change is refused as [`fleet_core::plan::ensure_in_place`] decides.
    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let _lock = self.records.lock(&spec.id).await?;
        let (current, mut record) = self.owned(&spec.id, Held::Yes).await?;
        if current.phase != ClusterPhase::Running {
            return Err(Error::Conflict {
                message: format!("Kind cluster `{}` is {}: it changes only while running", spec.id, current.phase),
            });
        }
        ensure_in_place(&current, spec, self.info.capabilities)?;
        let tags = FleetTags::cluster_tags(&self.fleet, spec);
        if tags != record.tags {
            record.tags = tags;
            record.updated_at_ms = Some(now_ms());
            self.records.write(&record).await?;
        }
        Ok(self.view(&spec.id, Some(&record), ClusterPhase::Running))
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let _lock = self.records.lock(id).await?;
        let mut seen = self.seen(id).await?;
        let mine = self.is_mine(seen.record.as_ref());
        if self.phase(id, &mut seen, Held::Yes).await?.is_none() {
            if mine {
                self.records.remove(id).await?;
            }
            return Ok(());
        }
        let Some(mut record) = seen.record.filter(|_| mine) else {
            return Err(self.not_mine(id));
        };
        if record.status != RecordStatus::Deleting {
            record.status = RecordStatus::Deleting;
            record.updated_at_ms = Some(now_ms());
            self.records.write(&record).await?;
        }
        self.command.run(&["delete", "cluster", "--name", id.as_str()]).await?;
        self.records.remove(id).await
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        self.admin_credentials(id).await
    }

    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        Ok((region == &self.local).then(crate::config::offered_versions))
    }

    async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
        let admin = self.admin_credentials(id).await?;
        let client = kube_client(&admin).await?;
        grant_team_access(&client, &admin, id.as_str(), team, Duration::from_secs(24 * 3600)).await
    }
}
