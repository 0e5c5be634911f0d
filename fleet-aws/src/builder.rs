//! [`EksProviderBuilder`]: configuration in the object_store style. Everything is checked in
//! `build()`, which names every missing or invalid setting at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials as AwsCredentials;
use aws_credential_types::provider::ProvideCredentials;
use fleet_core::addons::{ApiRoute, DirectRoute};
use fleet_core::{
    Capabilities, Error, FleetName, KubernetesVersion, ProviderInfo, ProviderName, RateLimit, RateLimits, Region,
    Result, SizeClass, TypicalLatency,
};

use crate::provider::EksProvider;
use fleet_core::observe::{DescribeCache, ReadPacer};

/// Where a region's clusters and node groups go: subnets (at least two, in different
/// availability zones, for real EKS) and optional security groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegionNetwork {
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// Security group ids.
    pub security_groups: Vec<String>,
}

/// Builds an [`EksProvider`].
#[derive(Debug, Clone)]
pub struct EksProviderBuilder {
    fleet: FleetName,
    name: Option<ProviderName>,
    regions: Vec<Region>,
    networks: BTreeMap<Region, RegionNetwork>,
    cluster_role_arn: Option<String>,
    node_role_arn: Option<String>,
    admin_principals: Vec<String>,
    api_route: Arc<dyn ApiRoute>,
    offered_versions: BTreeMap<Region, Vec<KubernetesVersion>>,
    endpoint_url: Option<String>,
    region_endpoint_urls: BTreeMap<Region, String>,
    rate_limits: RateLimits,
    credentials: Option<AwsCredentials>,
    instance_types: BTreeMap<SizeClass, String>,
    capabilities: Capabilities,
    client_retries: bool,
    resync: std::time::Duration,
    interceptors: Vec<aws_sdk_eks::config::SharedInterceptor>,
}

impl EksProviderBuilder {
    /// A builder for `fleet` using the standard AWS credential chain (environment, profile,
    /// SSO, instance role) and, unless regions are given, the configured default region.
    pub fn from_env(fleet: FleetName) -> Self {
        Self {
            fleet,
            name: None,
            regions: Vec::new(),
            networks: BTreeMap::new(),
            cluster_role_arn: None,
            node_role_arn: None,
            admin_principals: Vec::new(),
            api_route: Arc::new(DirectRoute),
            offered_versions: BTreeMap::new(),
            endpoint_url: None,
            region_endpoint_urls: BTreeMap::new(),
            // Conservative: EKS throttles its API per account and region.
            rate_limits: RateLimits::new(RateLimit::new(10.0, 20), RateLimit::new(2.0, 5)),
            credentials: None,
            instance_types: BTreeMap::new(),
            capabilities: Capabilities::default()
                .with_in_place_version_upgrade(true)
                .with_node_pool_resize(true)
                .with_audit_logging(true)
                .with_private_endpoint(true)
                .with_allowed_cidrs(true)
                .with_network_policy(true)
                .with_team_credentials(true),
            client_retries: true,
            resync: fleet_core::observe::DEFAULT_RESYNC,
            interceptors: Vec::new(),
        }
    }

    /// The regions clusters may go to.
    pub fn with_regions(mut self, regions: Vec<Region>) -> Self {
        self.regions = regions;
        self
    }

    /// The subnets of `region`: at least two, which must lie in at least two availability zones
    /// (EKS refuses a cluster whose subnets are all in one zone; `build` checks that there are
    /// two, and EKS checks the zones).
    pub fn with_subnets(mut self, region: Region, subnets: Vec<String>) -> Self {
        self.networks.entry(region).or_default().subnets = subnets;
        self
    }

    /// The security groups of `region`.
    pub fn with_security_groups(mut self, region: Region, groups: Vec<String>) -> Self {
        self.networks.entry(region).or_default().security_groups = groups;
        self
    }

    /// The IAM role EKS assumes for the control plane.
    pub fn with_cluster_role_arn(mut self, arn: impl Into<String>) -> Self {
        self.cluster_role_arn = Some(arn.into());
        self
    }

    /// The IAM role of the nodes.
    pub fn with_node_role_arn(mut self, arn: impl Into<String>) -> Self {
        self.node_role_arn = Some(arn.into());
        self
    }

    /// Gives these IAM principals (role or user ARNs: the engine's own role when it differs from
    /// the one creating clusters, other replicas', team roles) cluster admin access in every
    /// cluster, through EKS access entries with the `AmazonEKSClusterAdminPolicy` made once the
    /// cluster is active. The principal creating a cluster is its admin in any case
    /// (`bootstrapClusterCreatorAdminPermissions`).
    pub fn with_admin_principals(mut self, principals: Vec<String>) -> Self {
        self.admin_principals = principals;
        self
    }

    /// Reaches clusters' API servers over `route` to set team access up
    /// (`ClusterProvider::team_credentials`), instead of directly: a proxy or a tunnel into the
    /// VPC, which a cluster with a private endpoint (`network.privateEndpoint`) needs, its API
    /// server answering only inside the VPC.
    pub fn with_api_route(mut self, route: Arc<dyn ApiRoute>) -> Self {
        self.api_route = route;
        self
    }

    /// Declares the versions EKS offers in `region` (in [`ProviderInfo::offered_versions`]),
    /// which `offered_versions` then answers without asking `DescribeClusterVersions`.
    pub fn with_offered_versions(mut self, region: Region, versions: Vec<KubernetesVersion>) -> Self {
        self.offered_versions.insert(region, versions);
        self
    }

    /// Sends every call to this endpoint (a local test server, or an EKS-compatible API).
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Sends the calls about `region` to this endpoint, in place of EKS's own or the one of
    /// [`with_endpoint_url`](Self::with_endpoint_url).
    pub fn with_region_endpoint_url(mut self, region: Region, url: impl Into<String>) -> Self {
        self.region_endpoint_urls.insert(region, url.into());
        self
    }

    /// Declares other API rate limits than the default 10 reads a second (bursts of 20) and
    /// 2 writes a second (bursts of 5), e.g. for an account whose EKS limits were raised. The
    /// engine budgets its calls by them, and `list` spaces out its own calls to the read rate.
    pub fn with_rate_limits(mut self, rate_limits: RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// Uses these credentials instead of the credential chain.
    pub fn with_credentials(
        mut self,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<&str>,
    ) -> Self {
        self.credentials = Some(AwsCredentials::new(
            access_key_id,
            secret_access_key,
            session_token.map(str::to_owned),
            None,
            "fleet-aws",
        ));
        self
    }

    /// Uses `instance_type` for node pools of `size` (defaults: [`crate::instance_type`]).
    pub fn with_instance_type(mut self, size: SizeClass, instance_type: impl Into<String>) -> Self {
        self.instance_types.insert(size, instance_type.into());
        self
    }

    /// Registers under another provider name than `aws`.
    pub fn with_name(mut self, name: ProviderName) -> Self {
        self.name = Some(name);
        self
    }

    /// Declares other capabilities than the default: in-place upgrades, node pool resizing,
    /// audit logging, private endpoints, CIDR allow-lists, network policies and team
    /// credentials (e.g. fewer,
    /// against an EKS-compatible API that lacks some). A setting not declared is refused.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Turns off the AWS SDK's own retries: every failed call comes back at once, and the
    /// engine (which retries within its API budget) decides what to do.
    pub fn without_client_retries(mut self) -> Self {
        self.client_retries = false;
        self
    }

    /// How often `list` describes a steady cluster again (default ten minutes): EKS lists
    /// cluster names only, so between resyncs a steady cluster is reported as last described
    /// ([`fleet_core::observe::DescribeCache`]). A cluster that fails or is changed behind the
    /// fleet's back is seen within this interval (or the longer one half the read rate needs
    /// to describe every cluster, for very large fleets); a deleted one at the next list; new
    /// clusters, clusters in progress and every `get` are always asked of EKS.
    pub fn with_resync_interval(mut self, resync: std::time::Duration) -> Self {
        self.resync = resync;
        self
    }

    /// Adds an AWS SDK interceptor to every region's EKS client, e.g. to count or trace the
    /// calls the provider makes.
    pub fn with_interceptor(mut self, interceptor: impl aws_sdk_eks::config::Intercept + 'static) -> Self {
        self.interceptors.push(aws_sdk_eks::config::SharedInterceptor::new(interceptor));
        self
    }

    /// Checks the configuration, finds credentials and builds the provider. Every problem is
    /// reported at once; missing credentials say how to provide them.
    pub async fn build(self) -> Result<EksProvider> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(credentials) = &self.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let custom_endpoint = self.endpoint_url.is_some() || !self.region_endpoint_urls.is_empty();
        if let (Some(region), true) = (self.regions.first(), custom_endpoint || self.credentials.is_some()) {
            loader = loader.region(aws_config::Region::new(region.to_string()));
        }
        let shared = loader.load().await;
        let mut regions = self.regions.clone();
        if regions.is_empty()
            && let Some(default) = shared.region()
        {
            regions.push(Region::new(default.as_ref())?);
        }
        let mut problems = Vec::new();
        if regions.is_empty() {
            problems.push("no region: call with_regions or set AWS_REGION".to_owned());
        }
        if self.cluster_role_arn.is_none() {
            problems.push("no cluster role: call with_cluster_role_arn".to_owned());
        }
        if self.node_role_arn.is_none() {
            problems.push("no node role: call with_node_role_arn".to_owned());
        }
        for region in &regions {
            match self.networks.get(region).map_or(0, |n| n.subnets.len()) {
                0 => problems.push(format!("no subnets for region `{region}`: call with_subnets")),
                1 => problems.push(format!(
                    "one subnet for region `{region}`: EKS needs subnets in at least two availability zones, so \
                     with_subnets takes at least two (in different zones)"
                )),
                _ => {}
            }
        }
        for principal in &self.admin_principals {
            if !principal.starts_with("arn:") || !principal.contains(":iam::") {
                problems.push(format!("admin principal `{principal}` is not an IAM role or user ARN"));
            }
        }
        let credentials = match shared.credentials_provider() {
            Some(provider) if provider.provide_credentials().await.is_ok() => Some(provider),
            _ => {
                problems.push(NO_CREDENTIALS.to_owned());
                None
            }
        };
        let (Some(credentials), true) = (credentials, problems.is_empty()) else {
            return Err(Error::InvalidSpec { path: "EksProviderBuilder".into(), reason: problems.join("; ") });
        };
        let mut clients = BTreeMap::new();
        for region in &regions {
            let mut config = aws_sdk_eks::config::Builder::from(&shared)
                .region(aws_sdk_eks::config::Region::new(region.to_string()));
            if let Some(url) = self.region_endpoint_urls.get(region).or(self.endpoint_url.as_ref()) {
                config = config.endpoint_url(url);
            }
            if !self.client_retries {
                config = config.retry_config(aws_sdk_eks::config::retry::RetryConfig::disabled());
            }
            for interceptor in &self.interceptors {
                config.push_interceptor(interceptor.clone());
            }
            clients.insert(region.clone(), aws_sdk_eks::Client::from_conf(config.build()));
        }
        let name = match self.name {
            Some(name) => name,
            None => ProviderName::new("aws")?,
        };
        // EKS's control plane takes about 10 minutes and a managed node group about 5 more.
        let mut info = ProviderInfo::new(name, regions);
        for (region, versions) in self.offered_versions {
            info = info.with_offered_versions(region, versions);
        }
        let info = info.with_capabilities(self.capabilities).with_rate_limits(self.rate_limits).with_latency(
            TypicalLatency::new(
                std::time::Duration::from_secs(15 * 60),
                std::time::Duration::from_secs(30 * 60),
                std::time::Duration::from_secs(12 * 60),
            ),
        );
        Ok(EksProvider {
            fleet: self.fleet,
            info,
            clients,
            networks: self.networks,
            cluster_role_arn: self.cluster_role_arn.unwrap_or_default(),
            node_role_arn: self.node_role_arn.unwrap_or_default(),
            admin_principals: self.admin_principals,
            api_route: self.api_route,
            instance_types: self.instance_types,
            credentials,
            located: std::sync::Mutex::new(BTreeMap::new()),
            reads: ReadPacer::new(self.rate_limits.reads),
            // Each resync is a describe and a node group list.
            described: DescribeCache::within(self.resync, self.rate_limits.reads, 2),
        })
    }
}

const NO_CREDENTIALS: &str = "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
                              AWS_PROFILE, or run where an instance role is available, or call with_credentials";
