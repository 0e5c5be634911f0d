//! Test servers for the EKS provider: a real `moto_server` (the EKS API as moto implements it,
//! installed into the project's `.venv` by `./scripts/test`) on a free local port, a proxy per
//! region in front of it that can cut the region off, fail or throttle calls
//! ([`RegionProxies`], with the conformance hooks on top, [`MotoHooks`]), and a small HTTP
//! responder serving documented EKS responses for what moto lacks.

// Shared by several test binaries, each of which uses only a part.
#![allow(dead_code)]

mod proxy;
pub mod stand_in;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_eks::error::DisplayErrorContext;
use fleet_aws::{EksProvider, EksProviderBuilder};
use fleet_core::FleetTags;
use fleet_core::conformance::http::{TestResponse, serve};
use fleet_core::conformance::{ConformanceHooks, SimulatedKubeApi};
use fleet_core::{AppliedSettings, Capabilities, ClusterId, Error, FleetName, Network, Region, Result};

pub use proxy::{Faults, RegionProxy, Upstream};
pub use stand_in::StandIn;

/// The spec the tests start from: cluster `id` of provider `aws` in `region` at
/// Kubernetes `version`, with one pool `workers` of 1 to 3 small nodes.
pub fn spec_builder(id: &str, region: &str, version: &str) -> fleet_core::ClusterSpecBuilder {
    fleet_core::ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        fleet_core::ProviderName::new("aws").unwrap(),
        Region::new(region).unwrap(),
        version.parse().unwrap(),
    )
    .node_pool(
        fleet_core::NodePool::new(
            fleet_core::NodePoolName::new("workers").unwrap(),
            fleet_core::SizeClass::Small,
            1,
            3,
        )
        .unwrap(),
    )
}

pub const ROLE: &str = "arn:aws:iam::123456789012:role/eks-cluster";
pub const NODE_ROLE: &str = "arn:aws:iam::123456789012:role/eks-node";
/// The role of the engine, given admin access entries by the providers of [`RegionProxies`].
pub const ENGINE_ROLE: &str = "arn:aws:iam::123456789012:role/fleet-engine";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `moto_server` of its own, stopped when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
    port: u16,
}

impl Moto {
    /// Starts `moto_server` (from `$FLEET_MOTO_SERVER`, else the workspace's `.venv`).
    pub fn start() -> Moto {
        let program = std::env::var_os("FLEET_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server"));
        assert!(
            program.exists(),
            "moto_server not found at {}: run ./scripts/test, which installs moto into .venv, or set FLEET_MOTO_SERVER",
            program.display()
        );
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}"), port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start listening on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto.reset();
        moto
    }

    /// Forgets everything (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let (status, _) = http(self.port, "POST", "/moto-api/reset", "");
        assert_eq!(status, 200, "moto reset failed");
    }

    /// A provider for `fleet` against this server, in `us-east-1` and `eu-west-1`, with what
    /// moto can do declared ([`moto_capabilities`]).
    pub async fn provider(&self, fleet: &str) -> EksProvider {
        builder(fleet, &self.url).with_capabilities(moto_capabilities()).build().await.unwrap()
    }

    /// A plain SDK client of this server in `region`, for setting up and checking.
    pub fn client(&self, region: &str) -> aws_sdk_eks::Client {
        client(&self.url, region)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What EKS as moto implements it can do: resize node groups, and the control-plane settings
/// moto records itself (`logging`, `resourcesVpcConfig`). Moto 5.2 has no route for
/// `CreateAddon` nor `UpdateClusterVersion`: network policies and in-place upgrades are
/// declared only behind the stand-in ([`stand_in_capabilities`]); tests/responder.rs checks
/// those calls against EKS's documented answers as well.
pub fn moto_capabilities() -> Capabilities {
    Capabilities::default()
        .with_node_pool_resize(true)
        .with_audit_logging(true)
        .with_private_endpoint(true)
        .with_allowed_cidrs(true)
}

/// What EKS as moto behind the [`StandIn`] can do: [`moto_capabilities`], network policies
/// (the `vpc-cni` add-on) and in-place upgrades (`UpdateClusterVersion`,
/// `UpdateNodegroupVersion`), answered by the stand-in.
pub fn stand_in_capabilities() -> Capabilities {
    moto_capabilities().with_network_policy(true).with_in_place_version_upgrade(true).with_team_credentials(true)
}

/// Whether `token` is an EKS token as `aws eks get-token` makes it: `k8s-aws-v1.` and the
/// base64url (unpadded) of a presigned STS `GetCallerIdentity` URL that signs the cluster
/// name header `x-k8s-aws-id`. What the simulated API server accepts as the providers' admin
/// credentials (EKS's own server sends the URL to STS; no STS answers here).
pub fn is_eks_token(token: &str) -> bool {
    use base64::Engine as _;
    let Some(encoded) = token.strip_prefix("k8s-aws-v1.") else { return false };
    let Some(url) = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return false;
    };
    let Some((_, query)) = url.strip_prefix("https://sts.").and_then(|rest| rest.split_once("/?")) else {
        return false;
    };
    let param = |key: &str| query.split('&').find_map(|pair| pair.strip_prefix(&format!("{key}=")));
    param("Action") == Some("GetCallerIdentity")
        && param("X-Amz-SignedHeaders").is_some_and(|signed| signed.contains("x-k8s-aws-id"))
        && param("X-Amz-Signature").is_some_and(|sig| sig.len() == 64 && sig.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The regions of every test provider.
pub fn regions() -> [Region; 2] {
    [Region::new("us-east-1").unwrap(), Region::new("eu-west-1").unwrap()]
}

/// One [`RegionProxy`] per test region in front of one moto, sharing one [`Faults`].
pub struct RegionProxies {
    pub moto_url: String,
    pub proxies: BTreeMap<Region, Arc<RegionProxy>>,
    pub faults: Arc<Faults>,
    pub stand_in: Arc<StandIn>,
}

impl RegionProxies {
    /// Starts a proxy for each of [`regions`] in front of `moto`.
    pub async fn start(moto: &Moto) -> RegionProxies {
        let faults = Arc::new(Faults::default());
        let stand_in = Arc::new(StandIn::default());
        let upstream = Upstream::new(moto.port);
        let mut proxies = BTreeMap::new();
        for region in regions() {
            let proxy =
                RegionProxy::start(region.as_str(), Arc::clone(&upstream), Arc::clone(&faults), Arc::clone(&stand_in))
                    .await;
            proxies.insert(region, proxy);
        }
        RegionProxies { moto_url: moto.url.clone(), proxies, faults, stand_in }
    }

    /// A builder for `fleet` whose regions are reached through the proxies, with the
    /// stand-in's capabilities ([`stand_in_capabilities`]), the engine's role given admin access entries ([`ENGINE_ROLE`]), and
    /// without the SDK's own retries. With them, the SDK's standard retry
    /// strategy would answer an injected 500 or 429 (`ThrottlingException`, with
    /// `x-amz-retry-after`) itself, with up to two more attempts, and the provider would never
    /// see the fault the hooks make.
    pub fn builder(&self, fleet: &str) -> EksProviderBuilder {
        let mut builder = builder(fleet, &self.moto_url)
            .with_capabilities(stand_in_capabilities())
            .with_admin_principals(vec![ENGINE_ROLE.to_owned()])
            .without_client_retries();
        for (region, proxy) in &self.proxies {
            builder = builder.with_region_endpoint_url(region.clone(), proxy.url.clone());
        }
        builder
    }

    /// The conformance hooks acting through these proxies and on moto directly.
    pub fn hooks(&self) -> MotoHooks {
        MotoHooks {
            moto_url: self.moto_url.clone(),
            proxies: self.proxies.clone(),
            faults: Arc::clone(&self.faults),
            stand_in: Arc::clone(&self.stand_in),
        }
    }

    /// A simulated Kubernetes API server ([`SimulatedKubeApi`]) accepting EKS tokens
    /// ([`is_eks_token`]) as cluster-admin ones, that `DescribeCluster` answers name from now on
    /// as the endpoint of clusters with a public endpoint; private-only clusters get an
    /// endpoint where nothing listens (a private endpoint seen from outside its VPC).
    pub fn serve_kube_api(&self) -> SimulatedKubeApi {
        let api = SimulatedKubeApi::start().with_admin_token_check(is_eks_token);
        self.stand_in.report_endpoints(api.url(), &SimulatedKubeApi::closed_endpoint());
        api
    }

    pub fn proxy(&self, region: &str) -> &RegionProxy {
        &self.proxies[&Region::new(region).unwrap()]
    }
}

/// The conformance hooks of EKS on moto: clusters are planted and removed with a plain SDK
/// client straight to moto, regions are cut at their proxy (connections refused, as at a
/// closed port), and failures and throttling are answered by the proxies for moto.
pub struct MotoHooks {
    moto_url: String,
    proxies: BTreeMap<Region, Arc<RegionProxy>>,
    faults: Arc<Faults>,
    stand_in: Arc<StandIn>,
}

impl MotoHooks {
    fn proxy(&self, region: &Region) -> Result<&RegionProxy> {
        self.proxies.get(region).map(Arc::as_ref).ok_or_else(|| Error::InvalidSpec {
            path: "region".into(),
            reason: format!("no proxy for region `{region}`"),
        })
    }
}

#[fleet_core::async_trait]
impl ConformanceHooks for MotoHooks {
    async fn plant_cluster(
        &self,
        id: &ClusterId,
        region: &Region,
        tags: &BTreeMap<String, String>,
    ) -> Option<Result<()>> {
        let client = client(&self.moto_url, region.as_str());
        let tags = (!tags.is_empty()).then(|| tags.clone().into_iter().collect());
        let planted = client
            .create_cluster()
            .name(id.as_str())
            .version("1.31")
            .role_arn(ROLE)
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-0a").subnet_ids("subnet-0b").build(),
            )
            .set_tags(tags)
            .send()
            .await;
        Some(planted.map(|_| ()).map_err(|err| refused(&format!("plant `{id}`"), err)))
    }

    async fn remove_planted(&self, id: &ClusterId, region: &Region) -> Option<Result<()>> {
        let client = client(&self.moto_url, region.as_str());
        let removed = client.delete_cluster().name(id.as_str()).send().await;
        Some(removed.map(|_| ()).map_err(|err| refused(&format!("remove planted `{id}`"), err)))
    }

    async fn cut_region(&self, region: &Region) -> Option<Result<()>> {
        Some(match self.proxy(region) {
            Ok(proxy) => {
                proxy.cut().await;
                Ok(())
            }
            Err(err) => Err(err),
        })
    }

    async fn restore_region(&self, region: &Region) -> Option<Result<()>> {
        Some(match self.proxy(region) {
            Ok(proxy) => proxy.restore().await,
            Err(err) => Err(err),
        })
    }

    async fn fail_next_calls(&self, count: u32) -> Option<Result<()>> {
        self.faults.fail_next(count);
        Some(Ok(()))
    }

    async fn throttle_next_calls(&self, count: u32, retry_after: Duration) -> Option<Result<()>> {
        self.faults.throttle_next(count, retry_after);
        Some(Ok(()))
    }

    async fn applied_settings(&self, id: &ClusterId, region: &Region) -> Option<Result<AppliedSettings>> {
        Some(applied_settings(&self.moto_url, &self.stand_in, id, region).await)
    }
    /// Once [`RegionProxies::serve_kube_api`] started one, the clusters' endpoint is a
    /// simulated Kubernetes API server.
    fn clusters_serve_kubernetes_api(&self) -> bool {
        self.stand_in.reports_endpoints()
    }
}

/// The settings of cluster `id` as moto recorded them (`DescribeCluster`: `logging`,
/// `resourcesVpcConfig`) and the network policy add-on as the stand-in recorded it.
pub async fn applied_settings(
    moto_url: &str,
    stand_in: &StandIn,
    id: &ClusterId,
    region: &Region,
) -> Result<AppliedSettings> {
    let described = client(moto_url, region.as_str())
        .describe_cluster()
        .name(id.as_str())
        .send()
        .await
        .map_err(|err| refused(&format!("describe `{id}`"), err))?;
    let cluster = described.cluster().ok_or_else(|| Error::cluster_not_found(id))?;
    let audit_logging = cluster.logging().is_some_and(|logging| {
        logging
            .cluster_logging()
            .iter()
            .any(|setup| setup.enabled() == Some(true) && setup.types().contains(&aws_sdk_eks::types::LogType::Audit))
    });
    let vpc = cluster.resources_vpc_config();
    let mut network = Network::default();
    network.private_endpoint = vpc.is_some_and(|v| v.endpoint_private_access() && !v.endpoint_public_access());
    network.allowed_cidrs = vpc.map(|v| v.public_access_cidrs().to_vec()).unwrap_or_default();
    network.network_policy = stand_in.addon(region.as_str(), id.as_str(), "vpc-cni").is_some_and(|addon| {
        addon["configurationValues"]
            .as_str()
            .and_then(|values| serde_json::from_str::<serde_json::Value>(values).ok())
            .is_some_and(|values| values["enableNetworkPolicy"] == "true")
    });
    Ok(AppliedSettings::new(network, audit_logging))
}

/// A plain SDK client of the EKS API at `url` in `region`, with retries, for setting up and
/// checking.
pub fn client(url: &str, region: &str) -> aws_sdk_eks::Client {
    let config = aws_sdk_eks::Config::builder()
        .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
        .region(aws_sdk_eks::config::Region::new(region.to_owned()))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_eks::config::Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_eks::Client::from_conf(config)
}

/// Makes a cluster of `fleet` directly (no node pools, no provider), to fill a region quickly.
pub async fn make_fleet_cluster(client: &aws_sdk_eks::Client, fleet: &str, name: &str) {
    client
        .create_cluster()
        .name(name)
        .role_arn(ROLE)
        .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-0a").build())
        .tags(FleetTags::FLEET_KEY, fleet)
        .tags(FleetTags::IDENTITY_KEY, name)
        .tags(FleetTags::BLUEPRINT_VERSION_KEY, "v1")
        .send()
        .await
        .unwrap();
}

/// A builder for `fleet` against `url`, with test credentials, roles and subnets.
pub fn builder(fleet: &str, url: &str) -> EksProviderBuilder {
    let regions = regions();
    let mut builder = EksProviderBuilder::from_env(FleetName::new(fleet).unwrap())
        .with_regions(regions.to_vec())
        .with_endpoint_url(url)
        .with_credentials("test", "test", None)
        .with_cluster_role_arn(ROLE)
        .with_node_role_arn(NODE_ROLE);
    for region in regions {
        builder = builder.with_subnets(region, vec!["subnet-0a".into(), "subnet-0b".into()]);
    }
    builder
}

/// One HTTP request over a fresh connection; returns the status and body.
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A canned answer: status, `X-Amzn-ErrorType` (for errors), other headers, JSON body.
#[derive(Clone)]
pub struct Canned {
    pub method: &'static str,
    pub path_prefix: String,
    pub status: u16,
    pub error_type: Option<&'static str>,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: String,
}

impl Canned {
    /// A 200 answer with `body` to `method` on paths starting with `path_prefix`.
    pub fn ok(method: &'static str, path_prefix: &str, body: String) -> Canned {
        Canned { method, path_prefix: path_prefix.into(), status: 200, error_type: None, headers: Vec::new(), body }
    }
}

/// A local HTTP responder answering with the first canned answer matching method and path;
/// records every request line and body.
pub struct Responder {
    pub url: String,
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl Responder {
    pub fn start(answers: Vec<Canned>) -> Responder {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let url = serve(move |request| {
            recorded.lock().unwrap().push((format!("{} {}", request.method, request.path), request.text()));
            let answer =
                answers.iter().find(|a| a.method == request.method && request.path.starts_with(&a.path_prefix));
            let (status, error_type, headers, body) = match answer {
                Some(a) => (a.status, a.error_type, a.headers.clone(), a.body.clone()),
                None => (404, Some("ResourceNotFoundException"), Vec::new(), r#"{"message":"not served"}"#.to_owned()),
            };
            let mut response = TestResponse::json(status, body);
            if let Some(kind) = error_type {
                response = response.with_header("X-Amzn-ErrorType", kind);
            }
            for (name, value) in headers {
                response = response.with_header(name, value);
            }
            response
        });
        Responder { url, requests }
    }

    pub fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }
}

/// A call the test harness made to moto directly that failed, with the SDK's error as source.
fn refused<E: std::error::Error + Send + Sync + 'static>(doing: &str, err: E) -> Error {
    Error::Provider { message: format!("{doing}: {}", DisplayErrorContext(&err)), source: Some(Box::new(err)) }
}
