//! The fleet's status: what an operator reads to know where the fleet stands and what to close.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::Engine;
use super::expiry::expiring;
use crate::{ClusterId, ClusterIdentity, Location, Result, serde_duration};

/// Where the fleet stands: what the last pass observed, what failed, what drifts, what ends
/// soon and what failover keeps away from home. Serializes to JSON for machines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FleetStatus {
    /// Clusters the engine wants (the desired fleet and accepted environments).
    pub desired: usize,
    /// Observed clusters by phase.
    pub by_phase: BTreeMap<String, usize>,
    /// Observed clusters by the blueprint version they were made from (their tags).
    pub by_blueprint_version: BTreeMap<String, usize>,
    /// Observed clusters by Kubernetes version: the skew an operator must close.
    pub by_kubernetes_version: BTreeMap<String, usize>,
    /// Clusters whose add-ons had drifted at their last install: each object and the fields.
    pub addon_drift: BTreeMap<ClusterId, Vec<String>>,
    /// Clusters whose last action failed for good, with the reason.
    pub failed: BTreeMap<ClusterId, String>,
    /// Logical clusters whose time to live ends within the engine's warning time.
    pub expiring: Vec<Expiring>,
    /// Logical clusters failover keeps away from the place their spec names.
    pub away_from_home: Vec<AwayFromHome>,
    /// Actions started and not finished.
    pub actions_in_flight: usize,
}

/// A logical cluster whose time to live ends soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Expiring {
    /// The logical cluster.
    pub identity: ClusterIdentity,
    /// Time left.
    #[serde(with = "serde_duration")]
    pub ends_in: Duration,
}

/// A logical cluster failover moved, not back home yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AwayFromHome {
    /// The logical cluster.
    pub identity: ClusterIdentity,
    /// Where its spec places it.
    pub home: Location,
    /// Where it is wanted now.
    pub at: Location,
}

/// For people: a line per part, `none` where there is nothing to report.
impl std::fmt::Display for FleetStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = |counts: &BTreeMap<String, usize>| {
            counts.iter().map(|(key, count)| format!("{key}: {count}")).collect::<Vec<_>>().join(", ")
        };
        let or_none = |text: String| if text.is_empty() { "none".to_owned() } else { text };
        writeln!(f, "{} clusters wanted, {} actions in flight", self.desired, self.actions_in_flight)?;
        writeln!(f, "  by phase: {}", or_none(counts(&self.by_phase)))?;
        writeln!(f, "  by blueprint version: {}", or_none(counts(&self.by_blueprint_version)))?;
        writeln!(f, "  by Kubernetes version: {}", or_none(counts(&self.by_kubernetes_version)))?;
        let drift: Vec<String> =
            self.addon_drift.iter().map(|(id, objects)| format!("{id}: {}", objects.join("; "))).collect();
        writeln!(f, "  add-on drift: {}", or_none(drift.join(", ")))?;
        let failed: Vec<String> = self.failed.iter().map(|(id, reason)| format!("{id}: {reason}")).collect();
        writeln!(f, "  failed: {}", or_none(failed.join(", ")))?;
        let expiring: Vec<String> =
            self.expiring.iter().map(|e| format!("{} in {}", e.identity, crate::format_duration(e.ends_in))).collect();
        writeln!(f, "  expiring soon: {}", or_none(expiring.join(", ")))?;
        let away: Vec<String> =
            self.away_from_home.iter().map(|a| format!("{} at {} (home {})", a.identity, a.at, a.home)).collect();
        writeln!(f, "  away from home: {}", or_none(away.join(", ")))
    }
}

impl Engine {
    /// The fleet's status: the last pass's observations by phase, blueprint version and
    /// Kubernetes version, add-on drift, failed clusters, clusters expiring soon, and the
    /// placements failover keeps away from home (read from the store).
    ///
    /// # Errors
    /// A store failure while reading the placements.
    pub async fn status(&self) -> Result<FleetStatus> {
        let away_from_home = self
            .inner
            .store
            .placements()
            .await?
            .into_iter()
            .filter(|placement| placement.is_relocated() && self.inner.owns(&placement.identity))
            .filter_map(|placement| {
                let home = placement.home.clone()?;
                Some(AwayFromHome { identity: placement.identity, home, at: placement.location })
            })
            .collect();
        let desired = self.desired();
        let state = self.inner.state();
        let count = |key: &dyn Fn(&crate::Cluster) -> Option<String>| {
            let mut counts = BTreeMap::new();
            for cluster in state.last_observed.iter() {
                *counts.entry(key(cluster).unwrap_or_else(|| "unknown".into())).or_insert(0) += 1;
            }
            counts
        };
        Ok(FleetStatus {
            desired: desired.clusters.len(),
            by_phase: count(&|c| Some(c.phase.name().to_owned())),
            by_blueprint_version: count(&|c| c.fleet_tags().map(|t| t.blueprint_version.to_string())),
            by_kubernetes_version: count(&|c| c.kubernetes_version.map(|v| v.to_string())),
            addon_drift: state.drift.clone(),
            failed: state.failed.iter().map(|(id, (reason, _))| (id.clone(), reason.clone())).collect(),
            expiring: expiring(&desired, &state.last_observed, self.inner.now(), self.inner.options.expiry_warning)
                .into_iter()
                .map(|(spec, ends_in)| Expiring { identity: spec.identity(), ends_in })
                .collect(),
            away_from_home,
            actions_in_flight: state.in_flight.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::super::Engine;
    use crate::addons::{AddonInstaller, AddonReport, AddonSet, Drift, DriftPolicy, ObjectRef};
    use crate::fleet_spec::{DesiredCluster, DesiredFleet};
    use crate::sim::{LatencyModel, RegionCapacity, SimCloud};
    use crate::{
        Cluster, ClusterId, ClusterSpec, Credentials, FleetName, NodePool, NodePoolName, ProviderName, Region, Result,
        SizeClass,
    };

    /// Installs nothing and finds the `web` deployment's replicas changed by hand.
    struct FindsDrift;

    #[async_trait]
    impl AddonInstaller for FindsDrift {
        async fn install(&self, _: &Cluster, _: &Credentials, _: &AddonSet, _: DriftPolicy) -> Result<AddonReport> {
            let object = ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: "web".into(),
            };
            Ok(AddonReport {
                drifted: vec![Drift { object, fields: vec!["spec.replicas".into()], corrected: false }],
                ..AddonReport::default()
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn add_on_drift_found_at_the_last_install_is_in_the_status() {
        let fleet = FleetName::new("ops").unwrap();
        let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
            .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
            .latency(LatencyModel::zero())
            .build();
        let engine = Engine::builder(fleet.clone())
            .provider(Arc::new(cloud.provider(fleet.clone())))
            .addons(Arc::new(FindsDrift))
            .build()
            .unwrap();
        let spec = ClusterSpec::builder(
            ClusterId::new("web-1").unwrap(),
            ProviderName::new("sim").unwrap(),
            Region::new("east").unwrap(),
            "1.34".parse().unwrap(),
        )
        .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
        .build()
        .unwrap();
        engine.set_desired(DesiredFleet::new(fleet, vec![DesiredCluster::new(spec, "t", 0)])).unwrap();
        engine.run_once().await.unwrap();
        let status = engine.status().await.unwrap();
        assert_eq!(
            status.addon_drift.get(&ClusterId::new("web-1").unwrap()),
            Some(&vec!["Deployment.apps shop/web (spec.replicas)".to_owned()]),
            "{status}"
        );
        assert!(status.to_string().contains("add-on drift: web-1: Deployment.apps shop/web (spec.replicas)"));
    }
}
