//! Plans: what must change so that the observed fleet matches the desired one.
//!
//! [`plan`] is pure, cheap and deterministic: the same inputs give the same plan, its actions
//! ordered by cluster id. A [`Plan`] prints as a diff in the style of `terraform plan`
//! (`+` create, `~` update in place, `-/+` replace, `-` delete) and serialises to JSON.
//!
//! Loading a repository directory and printing its plan against an empty fleet:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::time::SystemTime;
//! use fleet_core::plan::plan;
//! use fleet_core::repository::Repository;
//! use fleet_core::sim::{RegionCapacity, SimCloud};
//! use fleet_core::{ProviderName, Region};
//!
//! let dir = std::env::temp_dir().join(format!("fleet-plan-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("blueprint.yaml"), r#"
//! kind: Blueprint
//! spec:
//!   name: small
//!   layers:
//!     - name: base
//!       owner: ops
//!       set:
//!         kubernetesVersion: "1.31"
//!         auditLogging: true
//!         nodePools: {workers: {size: small, minCount: 1, maxCount: 3}}
//!       lock: [auditLogging]
//! "#).unwrap();
//! std::fs::write(dir.join("fleet.yaml"), r#"
//! kind: FleetSpec
//! spec:
//!   name: demo
//!   templates:
//!     - {name: web, blueprint: small, placements: [{provider: sim, regions: [east]}]}
//! "#).unwrap();
//!
//! let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
//!     .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
//!     .build();
//! let desired = Repository::load_dir(&dir).unwrap().desired(&[cloud.info().clone()]).unwrap();
//! let capabilities = BTreeMap::from([(cloud.info().name.clone(), cloud.info().capabilities)]);
//! let plan = plan(&desired.fleet, &[], &capabilities, SystemTime::now());
//! println!("{plan}");
//! assert!(plan.to_string().contains("+   web-east-0"));
//! assert!(plan.to_string().ends_with("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged."));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod apply;
mod diff;
mod render;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

pub use diff::Change;

use crate::fleet_spec::DesiredFleet;
use crate::{Capabilities, Cluster, ClusterId, ClusterPhase, ClusterSpec, FleetName, ProviderName, Region};

/// Why a cluster is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "camelCase")]
#[non_exhaustive]
pub enum DeleteReason {
    /// It carries this fleet's tags but no spec wants it.
    NotWanted,
    /// Its time to live has passed.
    Expired {
        /// The TTL it had.
        #[serde(with = "crate::serde_opt_duration")]
        ttl: Option<Duration>,
    },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Action {
    /// Create a cluster that does not exist.
    Create {
        /// What to create.
        spec: ClusterSpec,
    },
    /// Change a cluster in place.
    Update {
        /// What it should become.
        spec: ClusterSpec,
        /// The changes, none forcing a replacement.
        changes: Vec<Change>,
    },
    /// Create a new cluster, wait until it runs, then delete the old one.
    Replace {
        /// What the new cluster should be.
        spec: ClusterSpec,
        /// The changes; at least one forces the replacement.
        changes: Vec<Change>,
    },
    /// Delete a cluster.
    Delete {
        /// The cluster.
        id: ClusterId,
        /// Its provider.
        provider: ProviderName,
        /// Its region.
        region: Region,
        /// Why.
        #[serde(flatten)]
        reason: DeleteReason,
    },
    /// Nothing to do.
    Unchanged {
        /// The cluster.
        id: ClusterId,
    },
}

impl Action {
    /// The cluster the action is about.
    pub fn cluster_id(&self) -> &ClusterId {
        match self {
            Action::Create { spec } | Action::Update { spec, .. } | Action::Replace { spec, .. } => &spec.id,
            Action::Delete { id, .. } | Action::Unchanged { id } => id,
        }
    }
}

/// Counts of a plan's actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Clusters to create.
    pub create: usize,
    /// Clusters to change in place.
    pub update: usize,
    /// Clusters to replace.
    pub replace: usize,
    /// Clusters to delete.
    pub delete: usize,
    /// Clusters already as wanted.
    pub unchanged: usize,
}

/// What must change, cluster by cluster, ordered by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// The fleet planned for.
    pub fleet: FleetName,
    /// One action per cluster, ordered by id.
    pub actions: Vec<Action>,
}

impl Plan {
    /// Counts of each kind of action.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for action in &self.actions {
            match action {
                Action::Create { .. } => summary.create += 1,
                Action::Update { .. } => summary.update += 1,
                Action::Replace { .. } => summary.replace += 1,
                Action::Delete { .. } => summary.delete += 1,
                Action::Unchanged { .. } => summary.unchanged += 1,
            }
        }
        summary
    }

    /// Whether nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.actions.iter().all(|action| matches!(action, Action::Unchanged { .. }))
    }

    /// The plan as pretty JSON, for machines.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
    }
}

/// Plans the changes that make `observed` (what the providers report) match `desired`.
///
/// Only clusters carrying `desired.name`'s Fleet tags are considered; clusters of other fleets or
/// with no tags are never touched. `capabilities` says per provider what changes in place
/// (a provider missing from it changes nothing in place); `now` decides TTL expiry.
pub fn plan(
    desired: &DesiredFleet,
    observed: &[Cluster],
    capabilities: &BTreeMap<ProviderName, Capabilities>,
    now: SystemTime,
) -> Plan {
    let mut observed_by_id: BTreeMap<&ClusterId, &Cluster> = BTreeMap::new();
    for cluster in observed {
        if let Some(tags) = cluster.fleet_tags()
            && tags.fleet == desired.name
            && tags.cluster_id == cluster.id
            && !matches!(cluster.phase, ClusterPhase::Deleting | ClusterPhase::Deleted)
        {
            observed_by_id.insert(&cluster.id, cluster);
        }
    }
    let mut actions = Vec::new();
    for spec in desired.specs() {
        let Some(current) = observed_by_id.remove(&spec.id) else {
            actions.push(Action::Create { spec: spec.clone() });
            continue;
        };
        if is_expired(spec, current, now) {
            actions.push(delete(current, DeleteReason::Expired { ttl: spec.ttl }));
            continue;
        }
        let provider_capabilities = capabilities.get(&spec.provider).copied().unwrap_or_default();
        let changes = diff::diff(spec, current, provider_capabilities);
        actions.push(if changes.is_empty() {
            Action::Unchanged { id: spec.id.clone() }
        } else if changes.iter().any(|change| change.forces_replacement.is_some()) {
            Action::Replace { spec: spec.clone(), changes }
        } else {
            Action::Update { spec: spec.clone(), changes }
        });
    }
    actions.extend(observed_by_id.into_values().map(|cluster| delete(cluster, DeleteReason::NotWanted)));
    actions.sort_by(|a, b| a.cluster_id().cmp(b.cluster_id()));
    Plan { fleet: desired.name.clone(), actions }
}

fn delete(cluster: &Cluster, reason: DeleteReason) -> Action {
    Action::Delete {
        id: cluster.id.clone(),
        provider: cluster.provider.clone(),
        region: cluster.region.clone(),
        reason,
    }
}

fn is_expired(spec: &ClusterSpec, cluster: &Cluster, now: SystemTime) -> bool {
    match (spec.ttl, cluster.created_at) {
        (Some(ttl), Some(created)) => created.checked_add(ttl).is_some_and(|expiry| expiry <= now),
        _ => false,
    }
}
