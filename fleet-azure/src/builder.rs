//! [`AksProviderBuilder`]: configuration checked in `build()`, which names every problem.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{ClientOptions, Pipeline, RetryOptions, Url};
use azure_identity::{ClientSecretCredential, DeveloperToolsCredential, WorkloadIdentityCredential};
use fleet_core::addons::{ApiRoute, DirectRoute};
use fleet_core::{
    Capabilities, Error, FleetName, ProviderInfo, ProviderName, RateLimit, RateLimits, Region, Result, SizeClass,
    TypicalLatency,
};
use secrecy::{ExposeSecret, SecretString};

use crate::arm::Arm;
use crate::provider::{AksProvider, ArmScope};

/// The `Microsoft.ContainerService` API version Fleet speaks.
pub const API_VERSION: &str = "2026-08-01";

/// Azure's public cloud Resource Manager.
pub const PUBLIC_CLOUD: &str = "https://management.azure.com";

/// How the provider authenticates to ARM.
#[derive(Debug, Clone)]
enum CredentialChoice {
    /// Chosen from the environment: see `environment_choice`.
    FromEnvironment,
    DeveloperTools,
    ClientSecret {
        tenant: String,
        client: String,
        secret: SecretString,
    },
    WorkloadIdentity,
    Given(Arc<dyn TokenCredential>),
    Anonymous,
}

/// Builds an [`AksProvider`].
///
/// ```
/// use fleet_azure::AksProviderBuilder;
/// use fleet_core::{FleetName, Region};
/// let err = AksProviderBuilder::new(FleetName::new("prod").unwrap(), "not-a-subscription")
///     .with_anonymous_credentials()
///     .build()
///     .unwrap_err();
/// let text = err.to_string();
/// assert!(text.contains("not an Azure subscription id"), "{text}");
/// assert!(text.contains("no regions"), "{text}");
/// ```
#[derive(Debug, Clone)]
pub struct AksProviderBuilder {
    fleet: FleetName,
    subscription: String,
    regions: Vec<Region>,
    resource_group: Option<String>,
    region_groups: BTreeMap<Region, String>,
    list_subscription: bool,
    credential: CredentialChoice,
    base_url: String,
    vm_sizes: BTreeMap<SizeClass, String>,
    capabilities: Capabilities,
    poll_interval: Duration,
    operation_timeout: Duration,
    client_retries: bool,
    name: Option<ProviderName>,
    audit_workspace: Option<String>,
    entra_id_rbac: bool,
    api_route: Arc<dyn ApiRoute>,
    conflict_retries: u32,
    conflict_wait: Duration,
}

impl AksProviderBuilder {
    /// A builder for `fleet` in Azure subscription `subscription` (its id), with credentials
    /// from the environment (see [`AksProviderBuilder::with_developer_tools_credential`] and
    /// the others for a fixed choice).
    pub fn new(fleet: FleetName, subscription: impl Into<String>) -> Self {
        Self {
            fleet,
            subscription: subscription.into(),
            regions: Vec::new(),
            resource_group: None,
            region_groups: BTreeMap::new(),
            list_subscription: false,
            credential: CredentialChoice::FromEnvironment,
            base_url: PUBLIC_CLOUD.to_owned(),
            vm_sizes: BTreeMap::new(),
            capabilities: Capabilities::all().with_audit_logging(false),
            poll_interval: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(60 * 60),
            client_retries: true,
            name: None,
            audit_workspace: None,
            entra_id_rbac: false,
            api_route: Arc::new(DirectRoute),
            conflict_retries: 5,
            conflict_wait: Duration::from_secs(30),
        }
    }

    /// The Azure regions (`westeurope`, `eastus2`, ...) clusters may go to.
    pub fn with_regions(mut self, regions: Vec<Region>) -> Self {
        self.regions = regions;
        self
    }

    /// The resource group clusters of every region go to (unless a region has its own).
    pub fn with_resource_group(mut self, resource_group: impl Into<String>) -> Self {
        self.resource_group = Some(resource_group.into());
        self
    }

    /// The resource group clusters of `region` go to. ARM keeps a resource group's data in the
    /// group's own region, and a group whose region is down cannot be listed: give each region
    /// a group located in it, and `list` reports a region out of reach while it lists the
    /// others. Regions sharing a group are reachable, or not, together.
    pub fn with_region_resource_group(mut self, region: Region, resource_group: impl Into<String>) -> Self {
        self.region_groups.insert(region, resource_group.into());
        self
    }

    /// Lists the whole subscription in one paged call instead of each resource group. When that
    /// call fails, `list` asks each resource group instead, so that a region out of reach is
    /// reported as such while the others are listed.
    pub fn with_subscription_wide_list(mut self) -> Self {
        self.list_subscription = true;
        self
    }

    /// Authenticates as the Azure CLI (`az login`) or Azure Developer CLI user.
    pub fn with_developer_tools_credential(mut self) -> Self {
        self.credential = CredentialChoice::DeveloperTools;
        self
    }

    /// Authenticates as a service principal with a client secret.
    pub fn with_client_secret(
        mut self,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        self.credential = CredentialChoice::ClientSecret { tenant: tenant.into(), client: client_id.into(), secret };
        self
    }

    /// Authenticates with Kubernetes workload identity (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_FEDERATED_TOKEN_FILE`).
    pub fn with_workload_identity(mut self) -> Self {
        self.credential = CredentialChoice::WorkloadIdentity;
        self
    }

    /// Authenticates with any `azure_identity` (or other) token credential.
    pub fn with_credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.credential = CredentialChoice::Given(credential);
        self
    }

    /// Sends no token (for local test servers, which may then be plain `http://`).
    pub fn with_anonymous_credentials(mut self) -> Self {
        self.credential = CredentialChoice::Anonymous;
        self
    }

    /// Another Resource Manager endpoint: a sovereign cloud, or a local test server.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Uses `vm_size` for node pools of `size` (defaults: [`crate::vm_size`]).
    pub fn with_vm_size(mut self, size: SizeClass, vm_size: impl Into<String>) -> Self {
        self.vm_sizes.insert(size, vm_size.into());
        self
    }

    /// Declares other capabilities than the default: in-place upgrades, node pool resizes, and
    /// stop and start as hibernation. Team credentials are not among what AKS clusters offer
    /// here: declaring them is a problem `build()` reports.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// How often long-running operations are polled when ARM does not say (default 10 s).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long a long-running operation is followed before the call gives up with
    /// `Timeout` (default 60 minutes); the operation itself goes on at the provider.
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Turns off the pipeline's own retries (the engine retries anyway), so that each call
    /// makes one request and a 429 comes back as `RateLimited` with its `Retry-After`.
    pub fn without_client_retries(mut self) -> Self {
        self.client_retries = false;
        self
    }

    /// Keeps each cluster's Kubernetes audit log: after a create, a diagnostic setting
    /// (`Microsoft.Insights/diagnosticSettings/fleet-audit` on the cluster) sends category
    /// `kube-audit` to the Log Analytics workspace `workspace_id`
    /// (`/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.OperationalInsights/workspaces/{w}`).
    /// Declares the `audit_logging` capability; without a workspace, specs asking for audit
    /// logging are refused.
    pub fn with_audit_log_workspace(mut self, workspace_id: impl Into<String>) -> Self {
        self.audit_workspace = Some(workspace_id.into());
        self.capabilities = self.capabilities.with_audit_logging(true);
        self
    }

    /// Creates clusters with Microsoft Entra ID and Azure RBAC for Kubernetes authorization
    /// (`aadProfile {managed: true, enableAzureRBAC: true}`) and local accounts disabled
    /// (`disableLocalAccounts: true`), as governed subscriptions require. The kubeconfig
    /// `credentials` then hands out (`listClusterUserCredential`) holds no static token: it
    /// signs in through `kubelogin` with an Entra ID identity, which needs an Azure RBAC role
    /// on the cluster (such as Azure Kubernetes Service RBAC Cluster Admin); the cluster admin
    /// credential is refused by AKS.
    pub fn with_entra_id_rbac(mut self) -> Self {
        self.entra_id_rbac = true;
        self
    }

    /// How `team_credentials` reaches each cluster's API server (default [`DirectRoute`]): a
    /// [`fleet_core::addons::ProxyRoute`] or [`fleet_core::addons::EndpointRewrite`] into the
    /// clusters' network for private clusters, whose API server answers only there.
    pub fn with_api_route(mut self, route: Arc<dyn ApiRoute>) -> Self {
        self.api_route = route;
        self
    }

    /// How often `update` tries again when AKS answers 409 (a cluster stopped, or busy with
    /// another operation), and how long it waits between tries (default 5 tries, 30 s apart);
    /// past them, the update fails with a `Conflict` naming the cluster and AKS's code.
    pub fn with_conflict_retries(mut self, retries: u32, wait: Duration) -> Self {
        self.conflict_retries = retries;
        self.conflict_wait = wait;
        self
    }

    /// Registers under another provider name than `azure`.
    pub fn with_name(mut self, name: ProviderName) -> Self {
        self.name = Some(name);
        self
    }

    /// Checks the configuration, sets up the credential and builds the provider; an error
    /// lists every problem found.
    pub fn build(self) -> Result<AksProvider> {
        let mut problems = Vec::new();
        if !is_subscription_id(&self.subscription) {
            problems.push(format!(
                "subscription `{}` is not an Azure subscription id (a GUID such as 00000000-0000-0000-0000-000000000000)",
                self.subscription
            ));
        }
        if self.regions.is_empty() {
            problems.push("no regions: call with_regions".to_owned());
        }
        if self.capabilities.audit_logging && self.audit_workspace.is_none() {
            problems.push(
                "capability audit_logging is declared without a Log Analytics workspace: call with_audit_log_workspace"
                    .to_owned(),
            );
        }
        if let Some(workspace) = self.audit_workspace.as_deref().filter(|w| !crate::settings::is_workspace_id(w)) {
            problems.push(format!(
                "audit log workspace `{workspace}` is not a Log Analytics workspace resource id \
                 (/subscriptions/{{s}}/resourceGroups/{{g}}/providers/Microsoft.OperationalInsights/workspaces/{{w}})"
            ));
        }
        let mut resource_groups = BTreeMap::new();
        for region in &self.regions {
            match self.region_groups.get(region).or(self.resource_group.as_ref()) {
                Some(group) if is_resource_group(group) => {
                    resource_groups.insert(region.clone(), group.clone());
                }
                Some(group) => problems.push(format!(
                    "resource group `{group}` of region `{region}` is not a valid name (1-90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in `.`)"
                )),
                None => problems.push(format!(
                    "region `{region}` has no resource group: call with_resource_group or with_region_resource_group"
                )),
            }
        }
        let base = match Url::parse(&self.base_url) {
            Ok(url) if url.scheme() == "https" => Some(url),
            Ok(url) if url.scheme() == "http" && matches!(self.credential, CredentialChoice::Anonymous) => Some(url),
            Ok(_) => {
                problems.push(format!(
                    "base URL `{}` is not https: tokens are only sent over https (a plain http test server needs with_anonymous_credentials)",
                    self.base_url
                ));
                None
            }
            Err(err) => {
                problems.push(format!("base URL `{}` is not a URL: {err}", self.base_url));
                None
            }
        };
        let credential = match self.credential() {
            Ok(credential) => credential,
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let (Some(base), true) = (base, problems.is_empty()) else {
            return Err(Error::InvalidSpec { path: "AksProviderBuilder".into(), reason: problems.join("; ") });
        };
        let mut options = ClientOptions::default();
        if !self.client_retries {
            options.retry = RetryOptions::none();
        }
        let per_try: Vec<Arc<dyn azure_core::http::policies::Policy>> = match credential {
            Some(credential) => {
                let scope = format!("{}/.default", base.as_str().trim_end_matches('/'));
                vec![Arc::new(BearerTokenAuthorizationPolicy::new(credential, [scope]))]
            }
            None => Vec::new(),
        };
        let pipeline = Pipeline::new(
            Some(env!("CARGO_PKG_NAME")),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            Vec::new(),
            per_try,
            None,
        );
        let name = match self.name {
            Some(name) => name,
            None => ProviderName::new("azure")?,
        };
        // An AKS control plane with one system pool takes about 5-8 minutes. ARM's regional
        // token buckets allow 250 reads (25/s refill) and 200 writes (10/s) per subscription;
        // AKS throttles managed cluster writes further, so writes are kept to one a second.
        let info = ProviderInfo::new(name, self.regions)
            .with_capabilities(self.capabilities)
            .with_system_pool_required(true)
            .with_rate_limits(RateLimits::new(RateLimit::new(20.0, 200), RateLimit::new(1.0, 20)))
            .with_latency(TypicalLatency::new(
                Duration::from_secs(7 * 60),
                Duration::from_secs(20 * 60),
                Duration::from_secs(6 * 60),
            ));
        Ok(AksProvider {
            fleet: self.fleet,
            info,
            arm: Arm {
                pipeline,
                base,
                api_version: API_VERSION,
                poll_interval: self.poll_interval,
                operation_timeout: self.operation_timeout,
            },
            scope: ArmScope {
                subscription: self.subscription,
                resource_groups,
                list_subscription: self.list_subscription,
            },
            vm_sizes: self.vm_sizes,
            audit_workspace: self.audit_workspace,
            entra_id_rbac: self.entra_id_rbac,
            api_route: self.api_route,
            conflict_retries: self.conflict_retries,
            conflict_wait: self.conflict_wait,
            located: Mutex::new(BTreeMap::new()),
        })
    }

    /// The token credential (none when anonymous), or what is wrong with it.
    fn credential(&self) -> std::result::Result<Option<Arc<dyn TokenCredential>>, String> {
        make_credential(self.credential.clone()).map_err(|err| format!("no Azure credential: {err}"))
    }
}

fn make_credential(choice: CredentialChoice) -> azure_core::Result<Option<Arc<dyn TokenCredential>>> {
    Ok(Some(match choice {
        CredentialChoice::Anonymous => return Ok(None),
        CredentialChoice::FromEnvironment => return make_credential(environment_choice()),
        CredentialChoice::Given(credential) => credential,
        CredentialChoice::DeveloperTools => DeveloperToolsCredential::new(None)?,
        CredentialChoice::WorkloadIdentity => WorkloadIdentityCredential::new(None)?,
        CredentialChoice::ClientSecret { tenant, client, secret } => {
            ClientSecretCredential::new(&tenant, client, Secret::new(secret.expose_secret().to_owned()), None)?
        }
    }))
}

/// A service principal when `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`
/// are set; else workload identity when `AZURE_FEDERATED_TOKEN_FILE` is; else developer tools.
fn environment_choice() -> CredentialChoice {
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    match (env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET")) {
        (Some(tenant), Some(client), Some(secret)) => {
            CredentialChoice::ClientSecret { tenant, client, secret: SecretString::from(secret) }
        }
        _ if env("AZURE_FEDERATED_TOKEN_FILE").is_some() => CredentialChoice::WorkloadIdentity,
        _ => CredentialChoice::DeveloperTools,
    }
}

/// A GUID: 8-4-4-4-12 hexadecimal digits.
fn is_subscription_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// ARM's resource group rule: 1-90 of letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in `.`.
fn is_resource_group(text: &str) -> bool {
    (1..=90).contains(&text.len())
        && !text.ends_with('.')
        && text.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c))
}
