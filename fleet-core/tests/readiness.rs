//! Failover readiness judged before any outage: versions, room, settings, add-ons and the
//! expected recovery time against the objective.

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::failover::{FailoverPolicy, Fallback, Outage, ProviderFacts, readiness};
use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::*;

const MINUTE: Duration = Duration::from_secs(60);
const DETECTION: Duration = Duration::from_secs(130);

fn name(text: &str) -> ProviderName {
    ProviderName::new(text).unwrap()
}

fn region(text: &str) -> Region {
    Region::new(text).unwrap()
}

fn spec(id: &str, provider: &str, at: &str, version: &str) -> ClusterSpec {
    ClusterSpec::builder(ClusterId::new(id).unwrap(), name(provider), region(at), version.parse().unwrap())
        .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
        .build()
        .unwrap()
}

fn fleet(clusters: Vec<(ClusterSpec, &str)>) -> DesiredFleet {
    let clusters = clusters.into_iter().map(|(spec, template)| DesiredCluster::new(spec, template, 0)).collect();
    DesiredFleet::new(FleetName::new("prod").unwrap(), clusters)
}

/// A provider with regions `east` and `west`, offering `versions` in each, creating in 10 min.
fn facts(provider: &str, versions: &[&str]) -> ProviderFacts {
    let offered: Vec<KubernetesVersion> = versions.iter().map(|v| v.parse().unwrap()).collect();
    let info = ProviderInfo::new(name(provider), vec![region("east"), region("west")])
        .with_offered_versions(region("east"), offered.clone())
        .with_offered_versions(region("west"), offered)
        .with_latency(TypicalLatency::new(10 * MINUTE, MINUTE, MINUTE));
    ProviderFacts::new(info).with_budget(RateLimit::new(1.0, 10), 16)
}

fn providers(list: Vec<ProviderFacts>) -> BTreeMap<ProviderName, ProviderFacts> {
    list.into_iter().map(|facts| (facts.info.name.clone(), facts)).collect()
}

fn policy(fallbacks: Vec<(&str, &str)>, rto: Duration) -> FailoverPolicy {
    let mut policy =
        FailoverPolicy::new(fallbacks.into_iter().map(|(p, r)| Fallback::new(name(p), vec![region(r)])).collect());
    policy.rto = rto;
    policy
}

#[test]
fn a_template_with_room_and_its_version_at_the_fallback_is_ready_within_its_objective() {
    let desired =
        fleet(vec![(spec("web-1", "aws", "east", "1.34"), "web"), (spec("web-2", "aws", "east", "1.34"), "web")]);
    let policies = BTreeMap::from([("web".to_owned(), policy(vec![("aws", "west"), ("gcp", "east")], 30 * MINUTE))]);
    let judged =
        readiness(&desired, &policies, &providers(vec![facts("aws", &["1.34"]), facts("gcp", &["1.34"])]), DETECTION);

    let web = judged.template("web").expect("judged");
    assert!(web.is_ready(), "{judged}");
    assert!(web.meets_objective(), "{judged}");
    let outages: Vec<&Outage> = web.outages.iter().map(|o| &o.outage).collect();
    assert_eq!(outages.len(), 2, "the region and the provider: {outages:?}");
    let region_loss = &web.outages[0];
    assert_eq!(region_loss.displaced, 2);
    let west = Location::new(name("aws"), region("west"));
    assert_eq!(region_loss.moves, BTreeMap::from([(west, 2)]), "the first fallback first");
    // Detection, then two creates at once within the write burst, 10 minutes each.
    assert_eq!(region_loss.expected_recovery, Some(DETECTION + 10 * MINUTE));
    let provider_loss = &web.outages[1];
    assert_eq!(provider_loss.moves, BTreeMap::from([(Location::new(name("gcp"), region("east")), 2)]));
}

#[test]
fn a_version_the_fallback_does_not_offer_is_named_with_what_it_offers() {
    let desired = fleet(vec![(spec("api-1", "aws", "east", "1.34"), "api")]);
    let policies = BTreeMap::from([("api".to_owned(), policy(vec![("gcp", "east")], 30 * MINUTE))]);
    let judged = readiness(
        &desired,
        &policies,
        &providers(vec![facts("aws", &["1.34"]), facts("gcp", &["1.35", "1.36"])]),
        DETECTION,
    );

    let api = judged.template("api").unwrap();
    assert!(!api.is_ready());
    assert!(!api.meets_objective(), "an outage it cannot recover from misses the objective");
    let reasons = api.outages[0].reasons.join("; ");
    assert!(reasons.starts_with("`api-1`: no fallback fits"), "{reasons}");
    assert!(reasons.contains("gcp/east: Kubernetes 1.34 is not offered there (offered: 1.35, 1.36)"), "{reasons}");
    assert_eq!(api.outages[0].expected_recovery, None);
}

#[test]
fn room_for_half_the_clusters_leaves_the_rest_degraded_by_priority() {
    let mut desired =
        fleet(vec![(spec("db-1", "aws", "east", "1.34"), "db"), (spec("db-2", "aws", "east", "1.34"), "db")]);
    desired.clusters[1].priority = 10;
    let policies = BTreeMap::from([("db".to_owned(), policy(vec![("aws", "west")], 30 * MINUTE))]);
    let aws = facts("aws", &["1.34"]).with_room(region("west"), Room { clusters: 1, nodes: 100 });
    let judged = readiness(&desired, &policies, &providers(vec![aws]), DETECTION);

    let region_loss = &judged.template("db").unwrap().outages[0];
    assert_eq!(region_loss.moves.values().sum::<usize>(), 1, "the higher priority takes the room");
    assert_eq!(region_loss.reasons.len(), 1, "{:?}", region_loss.reasons);
    assert!(region_loss.reasons[0].starts_with("`db-1`:"), "{:?}", region_loss.reasons);
    assert!(region_loss.reasons[0].contains("aws/west"), "names the full fallback: {:?}", region_loss.reasons);
}

#[test]
fn an_objective_shorter_than_detection_and_creates_cannot_be_met() {
    let desired = fleet(vec![(spec("edge-1", "aws", "east", "1.34"), "edge")]);
    let policies = BTreeMap::from([("edge".to_owned(), policy(vec![("aws", "west")], 5 * MINUTE))]);
    let judged = readiness(&desired, &policies, &providers(vec![facts("aws", &["1.34"])]), DETECTION);

    let edge = judged.template("edge").unwrap();
    let region_loss = &edge.outages[0];
    assert!(region_loss.is_ready());
    assert!(!edge.meets_objective());
    assert!(judged.to_string().contains("ready, misses objective"), "{judged}");
}

#[test]
fn the_loss_of_a_provider_without_another_provider_to_go_to_is_not_ready() {
    let desired = fleet(vec![(spec("web-1", "aws", "east", "1.34"), "web")]);
    let policies = BTreeMap::from([("web".to_owned(), policy(vec![("aws", "west")], 30 * MINUTE))]);
    let judged = readiness(&desired, &policies, &providers(vec![facts("aws", &["1.34"])]), DETECTION);

    let web = judged.template("web").unwrap();
    assert!(web.outages[0].is_ready(), "the region loss moves to aws/west");
    let provider_loss = &web.outages[1];
    assert_eq!(provider_loss.outage, Outage::Provider { provider: name("aws") });
    assert!(!provider_loss.is_ready());
}

#[test]
fn settings_and_a_missing_system_pool_the_fallback_needs_are_reasons() {
    let audited =
        ClusterSpec::builder(ClusterId::new("web-1").unwrap(), name("aws"), region("east"), "1.34".parse().unwrap())
            .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
            .audit_logging(true)
            .build()
            .unwrap();
    let desired = fleet(vec![(audited, "web")]);
    let policies = BTreeMap::from([("web".to_owned(), policy(vec![("azure", "west")], 30 * MINUTE))]);
    let mut azure = facts("azure", &["1.34"]);
    azure.info = azure.info.clone().with_system_pool_required(true);
    let judged = readiness(&desired, &policies, &providers(vec![facts("aws", &["1.34"]), azure]), DETECTION);

    let reasons = judged.template("web").unwrap().outages[0].reasons.join("; ");
    assert!(reasons.contains("setting `auditLogging` is not supported there"), "{reasons}");
    assert!(reasons.contains("needs a system node pool"), "{reasons}");
}

#[test]
fn add_ons_that_do_not_parse_are_a_reason() {
    let mut desired = fleet(vec![(spec("web-1", "aws", "east", "1.34"), "web")]);
    desired.clusters[0].addons.insert("broken".into(), blueprint::Addon::new("kind: [unclosed"));
    let policies = BTreeMap::from([("web".to_owned(), policy(vec![("aws", "west")], 30 * MINUTE))]);
    let judged = readiness(&desired, &policies, &providers(vec![facts("aws", &["1.34"])]), DETECTION);

    let reasons = judged.template("web").unwrap().outages[0].reasons.join("; ");
    assert!(reasons.contains("its add-ons do not apply"), "{reasons}");
}

#[test]
fn creates_beyond_the_write_burst_wait_for_the_budget() {
    let clusters = (0..4).map(|n| (spec(&format!("web-{n}"), "aws", "east", "1.34"), "web")).collect();
    let desired = fleet(clusters);
    let policies = BTreeMap::from([("web".to_owned(), policy(vec![("aws", "west")], 30 * MINUTE))]);
    let aws = facts("aws", &["1.34"]).with_budget(RateLimit::new(0.1, 2), 16);
    let judged = readiness(&desired, &policies, &providers(vec![aws]), DETECTION);

    // Two writes at once, then one every 10 s: the fourth create starts 20 s late.
    let region_loss = &judged.template("web").unwrap().outages[0];
    assert_eq!(region_loss.expected_recovery, Some(DETECTION + 10 * MINUTE + Duration::from_secs(20)));
}

#[test]
fn a_template_moving_fewer_at_once_than_it_has_recovers_in_waves() {
    let clusters = (0..5).map(|n| (spec(&format!("web-{n}"), "aws", "east", "1.34"), "web")).collect();
    let desired = fleet(clusters);
    let mut two_at_once = policy(vec![("aws", "west")], 60 * MINUTE);
    two_at_once.max_parallel = 2;
    let policies = BTreeMap::from([("web".to_owned(), two_at_once)]);
    let judged = readiness(&desired, &policies, &providers(vec![facts("aws", &["1.34"])]), DETECTION);

    // Waves of 2, 2 and 1: the last starts when the second is done.
    let region_loss = &judged.template("web").unwrap().outages[0];
    assert_eq!(region_loss.expected_recovery, Some(DETECTION + 3 * 10 * MINUTE));
}

#[test]
fn readiness_reads_as_json_for_machines() {
    let desired = fleet(vec![(spec("web-1", "aws", "east", "1.34"), "web")]);
    let policies = BTreeMap::from([("web".to_owned(), policy(vec![("aws", "west")], 30 * MINUTE))]);
    let judged = readiness(&desired, &policies, &providers(vec![facts("aws", &["1.34"])]), DETECTION);
    let json = serde_json::to_value(&judged).unwrap();
    let outage = &json["templates"][0]["outages"][0];
    assert_eq!(json["templates"][0]["objective"], "30m");
    assert_eq!(outage["outage"]["lost"], "region");
    assert_eq!(outage["expectedRecovery"], "12m10s");
    assert_eq!(outage["displaced"], 1);
}

/// A simulated cloud whose `info()` lists no offered versions, as a real provider's does unless
/// configured: it tells them only when asked ([`ClusterProvider::offered_versions`]).
struct TellsVersionsWhenAsked {
    inner: fleet_core::sim::SimProvider,
    info: ProviderInfo,
}

#[async_trait]
impl ClusterProvider for TellsVersionsWhenAsked {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }
    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        self.inner.create(spec).await
    }
    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        self.inner.get(id).await
    }
    async fn list(&self) -> Result<Listing> {
        self.inner.list().await
    }
    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        self.inner.update(spec).await
    }
    async fn delete(&self, id: &ClusterId) -> Result<()> {
        self.inner.delete(id).await
    }
    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        self.inner.credentials(id).await
    }
    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        self.inner.offered_versions(region).await
    }
}

#[tokio::test(start_paused = true)]
async fn the_controller_asks_each_provider_for_the_versions_it_offers() {
    use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud};
    let cloud = |provider: &str, version: &str| {
        SimCloud::builder(name(provider))
            .region(region("east"), RegionCapacity::unlimited())
            .offered_versions(vec![version.parse().unwrap()])
            .latency(LatencyModel::zero())
            .build()
    };
    let (aws, gcp) = (cloud("aws", "1.34"), cloud("gcp", "1.35"));
    let fleet_name = FleetName::new("prod").unwrap();
    let mut quiet_info = gcp.info().clone();
    quiet_info.offered_versions.clear();
    let gcp_provider = TellsVersionsWhenAsked { inner: gcp.provider(fleet_name.clone()), info: quiet_info };
    let engine = fleet_core::engine::Engine::builder(fleet_name)
        .provider(std::sync::Arc::new(aws.provider(FleetName::new("prod").unwrap())))
        .provider(std::sync::Arc::new(gcp_provider))
        .build()
        .unwrap();
    engine.set_desired(fleet(vec![(spec("api-1", "aws", "east", "1.34"), "api")])).unwrap();
    while !engine.run_once().await.unwrap().converged {}
    let policies = BTreeMap::from([("api".to_owned(), policy(vec![("gcp", "east")], 30 * MINUTE))]);
    let controller = fleet_core::failover::FailoverController::builder(engine).policies(policies).build().unwrap();

    let judged = controller.readiness().await.unwrap();
    let api = judged.template("api").unwrap();
    assert!(!api.is_ready(), "{judged}");
    let reasons = api.outages.iter().flat_map(|o| o.reasons.iter()).cloned().collect::<Vec<_>>().join("; ");
    assert!(reasons.contains("gcp/east: Kubernetes 1.34 is not offered there (offered: 1.35)"), "{reasons}");
}
