//! Comparing what a cluster should be with what its provider reports.

use serde::Serialize;

use crate::model::TagView;
use crate::{Capabilities, Cluster, ClusterSpec, FleetTags};

/// One difference between a spec and an observed cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Change {
    /// The field, e.g. `kubernetesVersion` or `nodePools.workers.maxCount`.
    pub field: String,
    /// The observed value.
    pub from: String,
    /// The wanted value.
    pub to: String,
    /// Why the change cannot be made in place, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forces_replacement: Option<String>,
}

impl Change {
    fn in_place(field: impl Into<String>, from: impl ToString, to: impl ToString) -> Self {
        Self { field: field.into(), from: from.to_string(), to: to.to_string(), forces_replacement: None }
    }

    fn replacing(field: impl Into<String>, from: impl ToString, to: impl ToString, why: impl Into<String>) -> Self {
        Self { forces_replacement: Some(why.into()), ..Self::in_place(field, from, to) }
    }
}

/// Every difference between `spec` and `observed` (whose tags read as `tags`), given what the
/// provider changes in place and the spec's [`ClusterSpec::fixed_settings_hash`] (`wanted_fixed`). Allocates nothing when
/// there is no difference.
pub(crate) fn diff(
    spec: &ClusterSpec,
    observed: &Cluster,
    tags: &TagView<'_>,
    capabilities: Capabilities,
    wanted_fixed: &str,
) -> Vec<Change> {
    let mut changes = Vec::new();
    if spec.provider != observed.provider {
        changes.push(Change::replacing(
            "provider",
            &observed.provider,
            &spec.provider,
            "a cluster cannot move between providers",
        ));
    }
    if spec.region != observed.region {
        changes.push(Change::replacing(
            "region",
            &observed.region,
            &spec.region,
            "a cluster cannot move between regions",
        ));
    }
    // A cluster ahead of its spec (the cloud upgraded it: end of support, GKE's automatic
    // control-plane upgrades) is adopted as it is: never downgraded, never replaced.
    if let Some(version) = observed.kubernetes_version
        && version.upgrade_step_to(spec.kubernetes_version).is_some()
    {
        let wanted = spec.kubernetes_version;
        changes.push(if !capabilities.in_place_version_upgrade {
            Change::replacing(
                "kubernetesVersion",
                version,
                wanted,
                format!("provider `{}` cannot upgrade in place", spec.provider),
            )
        } else {
            Change::in_place("kubernetesVersion", version, wanted)
        });
    }
    if !observed.node_pools.is_empty() {
        diff_node_pools(spec, observed, capabilities, &mut changes);
    }
    let observed_fixed = tags.fixed;
    if observed_fixed != wanted_fixed {
        changes.push(Change::replacing(
            "network/auditLogging",
            short(observed_fixed),
            short(wanted_fixed),
            "network and audit logging settings are fixed at creation",
        ));
    }
    let user_labels = observed.tags.keys().filter(|key| !FleetTags::is_own_key(key)).count();
    let same_labels = user_labels == spec.labels.len()
        && spec.labels.iter().all(|(key, value)| observed.tags.get(key) == Some(value));
    if !same_labels {
        let observed_labels = FleetTags::user_labels(&observed.tags);
        for key in observed_labels.keys().chain(spec.labels.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (from, to) = (observed_labels.get(key), spec.labels.get(key));
            if from != to {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(none)".into());
                changes.push(Change::in_place(format!("labels.{key}"), show(from), show(to)));
            }
        }
    }
    let observed_version = tags.blueprint;
    if observed_version != spec.blueprint_version.as_str() {
        changes.push(Change::in_place(
            "blueprintVersion",
            short(observed_version),
            short(spec.blueprint_version.as_str()),
        ));
    }
    changes
}

fn short(hash: &str) -> String {
    if hash.is_empty() { "(none)".into() } else { hash.chars().take(12).collect() }
}

fn diff_node_pools(spec: &ClusterSpec, observed: &Cluster, capabilities: Capabilities, changes: &mut Vec<Change>) {
    for pool in &spec.node_pools {
        let field = |name: &str| format!("nodePools.{}.{name}", pool.name);
        let Some(current) = observed.node_pools.iter().find(|p| p.name == pool.name) else {
            changes.push(Change::replacing(
                format!("nodePools.{}", pool.name),
                "(none)",
                pool.size,
                "node pools are fixed at creation",
            ));
            continue;
        };
        if current.size != pool.size {
            changes.push(Change::replacing(
                field("size"),
                current.size,
                pool.size,
                "machine sizes are fixed at creation",
            ));
        }
        // Compared only where the spec names a machine type: a provider reports the type it
        // runs, which for a size class is its own mapping.
        if pool.machine_type.is_some() && current.machine_type != pool.machine_type {
            let show = |m: &Option<String>| m.clone().unwrap_or_else(|| "(size class)".into());
            changes.push(Change::replacing(
                field("machineType"),
                show(&current.machine_type),
                show(&pool.machine_type),
                "machine types are fixed at creation",
            ));
        }
        let resize = |name: &str, from: u32, to: u32| {
            if capabilities.node_pool_resize {
                Change::in_place(field(name), from, to)
            } else {
                Change::replacing(
                    field(name),
                    from,
                    to,
                    format!("provider `{}` cannot resize node pools", spec.provider),
                )
            }
        };
        if current.min_count != pool.min_count {
            changes.push(resize("minCount", current.min_count, pool.min_count));
        }
        if current.max_count != pool.max_count {
            changes.push(resize("maxCount", current.max_count.get(), pool.max_count.get()));
        }
    }
    for pool in observed.node_pools.iter().filter(|p| !spec.node_pools.iter().any(|w| w.name == p.name)) {
        changes.push(Change::replacing(
            format!("nodePools.{}", pool.name),
            pool.size,
            "(none)",
            "node pools are fixed at creation",
        ));
    }
}
