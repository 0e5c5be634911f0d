//! Why a provider would refuse a cluster moved to one of its places: the check failover
//! placement (and so readiness) makes before it sends a cluster there.

use crate::{ClusterSpec, Location, ProviderInfo};

/// Why the provider described by `info` would refuse `spec`, relocated to `to`: a region it
/// does not have, a Kubernetes version it does not offer there (naming what it offers), a
/// setting it does not apply, a system node pool it needs. Empty when it would take it.
pub(crate) fn refusals(spec: &ClusterSpec, to: &Location, info: &ProviderInfo) -> Vec<String> {
    let mut problems = Vec::new();
    if !info.has_region(&to.region) {
        problems.push(format!("`{}` has no region `{}`", to.provider, to.region));
    }
    if info.offers(&to.region, spec.kubernetes_version) == Some(false) {
        let offered: Vec<String> =
            info.offered_versions.get(&to.region).into_iter().flatten().map(ToString::to_string).collect();
        problems.push(format!(
            "Kubernetes {} is not offered there (offered: {})",
            spec.kubernetes_version,
            offered.join(", ")
        ));
    }
    for (setting, why) in info.capabilities.unsupported_settings(spec) {
        problems.push(format!("setting `{setting}` is not supported there: {why}"));
    }
    if info.system_pool_required && spec.system_pool().is_none() {
        problems.push(format!("`{}` needs a system node pool, and the spec has none", to.provider));
    }
    problems
}
