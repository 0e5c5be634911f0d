//! [`GkeProviderBuilder`]: configuration checked in `build()`, which names every problem.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::addons::{ApiRoute, DirectRoute};
use fleet_core::{
    Capabilities, Error, FleetName, ProviderInfo, ProviderName, RateLimit, RateLimits, Region, Result, SizeClass,
    TypicalLatency,
};
use google_cloud_container_v1::client::ClusterManager;
use secrecy::SecretString;

use crate::provider::GkeProvider;
use crate::settings::{NetworkPolicyProvider, NetworkSetup};
use crate::token::TokenSource;
use crate::versions::ReleaseChannel;

/// Builds a [`GkeProvider`].
#[derive(Debug, Clone)]
pub struct GkeProviderBuilder {
    fleet: FleetName,
    project: String,
    locations: Vec<Region>,
    endpoint: Option<String>,
    anonymous: bool,
    access_token: Option<SecretString>,
    machine_types: BTreeMap<SizeClass, String>,
    capabilities: Capabilities,
    poll_interval: Duration,
    operation_timeout: Duration,
    name: Option<ProviderName>,
    client_retries: bool,
    network: NetworkSetup,
    release_channel: Option<ReleaseChannel>,
    zones: BTreeMap<Region, Vec<String>>,
    route: Arc<dyn ApiRoute>,
}

impl GkeProviderBuilder {
    /// A builder for `fleet` in Google Cloud project `project`, with application default
    /// credentials.
    pub fn new(fleet: FleetName, project: impl Into<String>) -> Self {
        Self {
            fleet,
            project: project.into(),
            locations: Vec::new(),
            endpoint: None,
            anonymous: false,
            access_token: None,
            machine_types: BTreeMap::new(),
            capabilities: Capabilities::default()
                .with_in_place_version_upgrade(true)
                .with_node_pool_resize(true)
                .with_audit_logging(true)
                .with_private_endpoint(true)
                .with_allowed_cidrs(true)
                .with_network_policy(true)
                .with_team_credentials(true),
            poll_interval: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(45 * 60),
            name: None,
            client_retries: true,
            network: NetworkSetup::default(),
            release_channel: None,
            zones: BTreeMap::new(),
            route: Arc::new(DirectRoute),
        }
    }

    /// Connects clusters to this VPC network (`network`), instead of the project's `default`
    /// network, which many projects do not have.
    pub fn with_network(mut self, network: impl Into<String>) -> Self {
        self.network.network = Some(network.into());
        self
    }

    /// Connects clusters to this subnetwork of the network (`subnetwork`).
    pub fn with_subnetwork(mut self, subnetwork: impl Into<String>) -> Self {
        self.network.subnetwork = Some(subnetwork.into());
        self
    }

    /// The `/28` of private clusters' control planes (`privateClusterConfig.masterIpv4CidrBlock`;
    /// default [`crate::DEFAULT_MASTER_IPV4_CIDR_BLOCK`]).
    pub fn with_master_ipv4_cidr_block(mut self, cidr: impl Into<String>) -> Self {
        self.network.master_ipv4_cidr_block = cidr.into();
        self
    }

    /// How `network.networkPolicy` is enforced (default: Dataplane V2).
    pub fn with_network_policy_provider(mut self, provider: NetworkPolicyProvider) -> Self {
        self.network.policy_provider = provider;
        self
    }

    /// Enrols every cluster in this release channel, and offers only its versions. Without
    /// it, a cluster goes to the most mature channel offering its version (STABLE, REGULAR,
    /// RAPID), and moves to another when an upgrade needs it.
    pub fn with_release_channel(mut self, channel: ReleaseChannel) -> Self {
        self.release_channel = Some(channel);
        self
    }

    /// Runs the nodes of clusters in `location` in these zones (`locations`), instead of the
    /// three GKE picks for a regional cluster.
    pub fn with_zones(mut self, location: Region, zones: Vec<String>) -> Self {
        self.zones.insert(location, zones);
        self
    }

    /// The locations (regions or zones) clusters may go to.
    pub fn with_locations(mut self, locations: Vec<Region>) -> Self {
        self.locations = locations;
        self
    }

    /// Sends every call to this endpoint (a local test server, or another GKE-compatible API).
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Calls the API without credentials (for local test servers).
    pub fn with_anonymous_credentials(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// Puts this token in kubeconfigs instead of the credentials' access token.
    pub fn with_access_token(mut self, token: SecretString) -> Self {
        self.access_token = Some(token);
        self
    }

    /// Uses `machine_type` for node pools of `size` (defaults: [`crate::machine_type`]).
    pub fn with_machine_type(mut self, size: SizeClass, machine_type: impl Into<String>) -> Self {
        self.machine_types.insert(size, machine_type.into());
        self
    }

    /// Declares other capabilities than in-place upgrades and node pool resizing.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// How often long-running operations are polled (default 10 s).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long a long-running operation is followed before the call gives up with
    /// `Timeout` (default 45 minutes); the operation itself goes on at the provider.
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Turns off the client's own retries of failed calls (the engine retries anyway), so that
    /// each call makes one request.
    pub fn without_client_retries(mut self) -> Self {
        self.client_retries = false;
        self
    }

    /// Reaches clusters' API servers over `route` to set team access up
    /// (`ClusterProvider::team_credentials`), instead of directly: a proxy or a tunnel into the
    /// VPC, which a private cluster (`network.privateEndpoint`) needs, its API server
    /// answering only inside its network.
    pub fn with_api_route(mut self, route: Arc<dyn ApiRoute>) -> Self {
        self.route = route;
        self
    }

    /// Registers under another provider name than `gcp`.
    pub fn with_name(mut self, name: ProviderName) -> Self {
        self.name = Some(name);
        self
    }

    /// Checks the configuration, finds credentials and builds the provider.
    pub async fn build(self) -> Result<GkeProvider> {
        let mut problems = Vec::new();
        if self.project.is_empty()
            || !self.project.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            problems.push(format!("project `{}` is not a Google Cloud project id", self.project));
        }
        if self.locations.is_empty() {
            problems.push("no locations: call with_locations".to_owned());
        }
        if !is_slash_28(&self.network.master_ipv4_cidr_block) {
            problems.push(format!(
                "master IPv4 CIDR block `{}` is not an IPv4 /28 (with_master_ipv4_cidr_block)",
                self.network.master_ipv4_cidr_block
            ));
        }
        for (location, zones) in &self.zones {
            if let Some(zone) = zones.iter().find(|zone| {
                zone.strip_prefix(location.as_str()).and_then(|rest| rest.strip_prefix('-')).is_none_or(str::is_empty)
            }) {
                problems.push(format!("zone `{zone}` is not a zone of location `{location}` (with_zones)"));
            }
        }
        for (what, name) in [("network", &self.network.network), ("subnetwork", &self.network.subnetwork)] {
            if name.as_ref().is_some_and(|name| name.trim().is_empty()) {
                problems.push(format!("{what} name is empty"));
            }
        }
        let credentials = if self.anonymous {
            Some(google_cloud_auth::credentials::anonymous::Builder::new().build())
        } else {
            match google_cloud_auth::credentials::Builder::default().build() {
                Ok(credentials) => Some(credentials),
                Err(err) => {
                    problems.push(format!(
                        "no Google Cloud credentials ({err}): set GOOGLE_APPLICATION_CREDENTIALS, or run \
                         `gcloud auth application-default login`, or run where a metadata server is available"
                    ));
                    None
                }
            }
        };
        let (Some(credentials), true) = (credentials, problems.is_empty()) else {
            return Err(Error::InvalidSpec { path: "GkeProviderBuilder".into(), reason: problems.join("; ") });
        };
        let mut client = ClusterManager::builder().with_credentials(credentials.clone());
        if let Some(endpoint) = &self.endpoint {
            client = client.with_endpoint(endpoint);
        }
        if !self.client_retries {
            client = client.with_retry_policy(google_cloud_gax::retry_policy::NeverRetry);
        }
        let client = client
            .build()
            .await
            .map_err(|err| Error::Provider { message: format!("cannot build the GKE client: {err}"), source: None })?;
        let name = match self.name {
            Some(name) => name,
            None => ProviderName::new("gcp")?,
        };
        // A GKE control plane takes about 5-10 minutes; the Kubernetes Engine API allows about
        // 10 writes and 50 reads a second per project, kept well under here.
        let info = ProviderInfo::new(name, self.locations)
            .with_capabilities(self.capabilities)
            .with_rate_limits(RateLimits::new(RateLimit::new(20.0, 40), RateLimit::new(3.0, 10)))
            .with_latency(TypicalLatency::new(
                Duration::from_secs(8 * 60),
                Duration::from_secs(20 * 60),
                Duration::from_secs(5 * 60),
            ));
        Ok(GkeProvider {
            fleet: self.fleet,
            project: self.project,
            info,
            client,
            tokens: match self.access_token {
                Some(token) => TokenSource::Fixed(token),
                None => TokenSource::Google(credentials),
            },
            route: self.route,
            machine_types: self.machine_types,
            network: self.network,
            release_channel: self.release_channel,
            zones: self.zones,
            poll_interval: self.poll_interval,
            operation_timeout: self.operation_timeout,
            located: Mutex::new(BTreeMap::new()),
        })
    }
}

/// Whether `cidr` is an IPv4 block of prefix length 28 (`172.16.0.32/28`).
fn is_slash_28(cidr: &str) -> bool {
    let Some((address, "28")) = cidr.split_once('/') else { return false };
    address.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| u32::from(ip) & 0xf == 0)
}
