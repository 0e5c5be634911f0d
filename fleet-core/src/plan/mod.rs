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

mod diff;
mod groups;
mod outcome;
mod render;
mod replacement;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

pub use diff::Change;
pub use replacement::{Replacement, differences, ensure_in_place, replacement_needed, version_ahead};

use crate::fleet_spec::DesiredFleet;
use crate::model::TagView;
use crate::{Capabilities, Cluster, ClusterId, ClusterPhase, ClusterSpec, FleetName, ProviderName, Region};
use groups::Groups;

/// Why a cluster is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "camelCase")]
#[non_exhaustive]
pub enum DeleteReason {
    /// It carries this fleet's tags but no spec wants it.
    NotWanted,
    /// A replacement of the same cluster runs; this is the old one, left by an interrupted
    /// replacement.
    Superseded,
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
        spec: Box<ClusterSpec>,
    },
    /// Change a cluster in place.
    Update {
        /// What it should become.
        spec: Box<ClusterSpec>,
        /// The changes, none forcing a replacement.
        changes: Vec<Change>,
    },
    /// Create a new cluster under another name, wait until it runs, then delete the old one.
    Replace {
        /// What the new cluster should be (its `id` is its new name, its identity unchanged).
        spec: Box<ClusterSpec>,
        /// The old cluster's name at the provider.
        old: ClusterId,
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
    /// Stop a running cluster, keeping its configuration.
    Hibernate {
        /// The cluster's name at its provider.
        id: ClusterId,
    },
    /// Start a hibernated cluster again.
    Resume {
        /// The cluster's name at its provider.
        id: ClusterId,
    },
    /// Nothing to do.
    Unchanged {
        /// The cluster.
        id: ClusterId,
    },
}

impl Action {
    /// The name of the cluster the action is about: for creates, updates and replacements the
    /// name of the spec's identity (that of its first cluster), for deletes and unchanged
    /// clusters the cluster's name at the provider.
    pub fn cluster_id(&self) -> ClusterId {
        match self {
            Action::Create { spec } | Action::Update { spec, .. } | Action::Replace { spec, .. } => {
                spec.identity().first_name()
            }
            Action::Delete { id, .. } | Action::Hibernate { id } | Action::Resume { id } | Action::Unchanged { id } => {
                id.clone()
            }
        }
    }

    /// The text of [`Action::cluster_id`], borrowed (what a plan's actions are sorted by).
    fn cluster_name(&self) -> &str {
        match self {
            Action::Create { spec } | Action::Update { spec, .. } | Action::Replace { spec, .. } => {
                spec.identity_text()
            }
            Action::Delete { id, .. } | Action::Hibernate { id } | Action::Resume { id } | Action::Unchanged { id } => {
                id.as_str()
            }
        }
    }
}

/// Counts of a plan's actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Clusters to create.
    pub create: usize,
    /// Clusters to change in place (hibernating and resuming included).
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
                Action::Update { .. } | Action::Hibernate { .. } | Action::Resume { .. } => summary.update += 1,
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
    // This fleet's clusters, grouped by identity: a replacement runs beside the cluster it
    // replaces under another name, with the same identity tag.
    let mut groups = Groups::new(observed, &desired.name);
    let mut fixed = FixedSettingsHashes::default();
    let mut actions = Vec::with_capacity(desired.clusters.len());
    for spec in desired.specs() {
        let Some(group) = groups.take(spec.identity_text()).map(|group| group.ours(spec)).filter(|g| g.first.is_some())
        else {
            actions.push(Action::Create { spec: Box::new(spec.clone()) });
            continue;
        };
        let provider_capabilities = capabilities.get(&spec.provider).copied().unwrap_or_default();
        let wanted_fixed = fixed.of(spec);
        let (current, tags) = match group.first {
            Some(only) if group.more.is_empty() => only,
            _ => {
                // The cluster to keep: a reachable one before an unreachable one (never give up
                // a serving cluster for one that cannot be reached), then one needing no
                // replacement, then the newest.
                let mut candidates: Vec<(&Cluster, TagView<'_>)> = group.live().collect();
                candidates.sort_by_key(|(c, tags)| {
                    let replaced = diff::diff(spec, c, tags, provider_capabilities, wanted_fixed)
                        .iter()
                        .any(|d| d.forces_replacement.is_some());
                    (c.phase == ClusterPhase::Unreachable, replaced, std::cmp::Reverse(c.created_at), c.id.clone())
                });
                // A cluster that serves or may (running, hibernated, being changed in place)
                // goes only once the one kept is ready (running, or hibernated as asked).
                let kept_ready = candidates[0].0.phase.is_ready();
                let may_serve = |c: &Cluster| c.phase.is_ready() || c.phase == ClusterPhase::Updating;
                let superseded = candidates[1..].iter().filter(|(old, _)| kept_ready || !may_serve(old));
                actions.extend(superseded.map(|(old, _)| delete(old, DeleteReason::Superseded)));
                candidates[0]
            }
        };
        if is_expired(spec, current, now) {
            actions.push(delete(current, DeleteReason::Expired { ttl: spec.ttl }));
            continue;
        }
        let changes = diff::diff(spec, current, &tags, provider_capabilities, wanted_fixed);
        let action = if changes.is_empty() {
            match (&current.phase, spec.hibernated) {
                (ClusterPhase::Running, true) => Action::Hibernate { id: current.id.clone() },
                (ClusterPhase::Hibernated, false) => Action::Resume { id: current.id.clone() },
                _ => Action::Unchanged { id: current.id.clone() },
            }
        } else if changes.iter().any(|change| change.forces_replacement.is_some()) {
            let taken = group.live().map(|(c, _)| &c.id).chain(group.deleting.iter().copied());
            let spec = Box::new(spec.named(replacement_name(spec, taken)));
            if current.phase == ClusterPhase::Unreachable {
                // The old cluster cannot be reached (its region or provider is down, say): the
                // new one is created now, the old one deleted once it can be reached again.
                actions.push(delete(current, DeleteReason::Superseded));
                Action::Create { spec }
            } else {
                Action::Replace { spec, old: current.id.clone(), changes }
            }
        } else {
            Action::Update { spec: Box::new(spec.named(current.id.clone())), changes }
        };
        actions.push(action);
    }
    let unwanted = groups.rest().filter(|(_, tags)| tags.is_valid());
    actions.extend(unwanted.map(|(cluster, _)| delete(cluster, DeleteReason::NotWanted)));
    // Mostly in order already (specs are sorted by id): a stable sort finds the runs.
    actions.sort_by(|a, b| a.cluster_name().cmp(b.cluster_name()));
    Plan { fleet: desired.name.clone(), actions }
}

/// [`ClusterSpec::fixed_settings_hash`] computed once per distinct setting within a plan:
/// fleets share a few network settings among many clusters. Past 64 distinct settings the
/// rest are computed each time.
#[derive(Default)]
struct FixedSettingsHashes {
    known: Vec<((crate::Network, bool), String)>,
    uncached: String,
}

impl FixedSettingsHashes {
    const LIMIT: usize = 64;

    fn of(&mut self, spec: &ClusterSpec) -> &str {
        let key = |(network, audit): &(crate::Network, bool)| *network == spec.network && *audit == spec.audit_logging;
        if let Some(index) = self.known.iter().position(|(settings, _)| key(settings)) {
            return &self.known[index].1;
        }
        let hash = spec.fixed_settings_hash().to_string();
        if self.known.len() < Self::LIMIT {
            self.known.push(((spec.network.clone(), spec.audit_logging), hash));
            return &self.known[self.known.len() - 1].1;
        }
        self.uncached = hash;
        &self.uncached
    }
}

/// The provider-side name of a replacement cluster for `spec` that must not reuse any `taken`
/// name (the names its identity's other clusters have): the identity with a short suffix
/// hashed from the identity and `spec`'s provider and region, within a cluster id's 40
/// characters. A name thus belongs to one place: a replacement elsewhere can never take the
/// name of a cluster that lingers, unseen, at a provider that is down.
pub fn replacement_name<'a>(spec: &ClusterSpec, taken: impl IntoIterator<Item = &'a ClusterId>) -> ClusterId {
    let taken: Vec<&ClusterId> = taken.into_iter().collect();
    let identity = spec.identity();
    let stem: String = identity.as_str().chars().take(33).collect();
    let stem = stem.trim_end_matches('-');
    let place = (identity.as_str(), spec.provider.as_str(), spec.region.as_str());
    (0u32..64)
        .map(|attempt| {
            let hash = crate::BlueprintVersion::of(&(place, attempt));
            ClusterId::new(format!("{stem}-r{}", &hash.as_str()[..4])).unwrap_or_else(|_| identity.first_name())
        })
        .find(|name| !taken.contains(&name))
        .unwrap_or_else(|| identity.first_name())
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
