//! The blueprint's control-plane settings and access choices as AKS fields, and the checks
//! AKS makes of a cluster's node pools, made before any call.
//!
//! - `network.privateEndpoint` -> `apiServerAccessProfile.enablePrivateCluster`;
//! - `network.allowedCidrs` -> `apiServerAccessProfile.authorizedIPRanges` (AKS refuses
//!   authorized IP ranges on a private cluster, so the two together are refused);
//! - `network.networkPolicy` -> `networkProfile.networkPolicy: cilium`, with
//!   `networkPlugin: azure`, `networkPluginMode: overlay` and `networkDataplane: cilium`
//!   (Azure CNI Powered by Cilium); without it, `networkPolicy: none` on the same plugin;
//! - `auditLogging` -> a diagnostic setting of the cluster sending category `kube-audit` to a
//!   Log Analytics workspace (see [`crate::AksProviderBuilder::with_audit_log_workspace`]);
//! - Entra ID with Azure RBAC: `aadProfile {managed, enableAzureRBAC}` and
//!   `disableLocalAccounts` (see [`crate::AksProviderBuilder::with_entra_id_rbac`]).

use fleet_core::{ClusterSpec, Error, NodePool, Result};
use serde_json::{Map, Value, json};

/// The longest name AKS takes for a Linux agent pool.
pub(crate) const MAX_LINUX_POOL_NAME: usize = 12;

/// The diagnostic setting category of the Kubernetes audit log.
pub(crate) const AUDIT_CATEGORY: &str = "kube-audit";

/// The name of the diagnostic setting Fleet writes on a cluster for its audit log.
pub(crate) const AUDIT_SETTING_NAME: &str = "fleet-audit";

/// The `api-version` of `Microsoft.Insights/diagnosticSettings`.
pub(crate) const DIAGNOSTIC_SETTINGS_API_VERSION: &str = "2021-05-01-preview";

/// Whether `name` follows AKS's rule for Linux agent pool names: lowercase letters and digits,
/// starting with a letter, 1 to 12 characters (`^[a-z][a-z0-9]{0,11}$` in `managedClusters.json`).
///
/// ```
/// # use fleet_azure::is_aks_pool_name;
/// assert!(is_aks_pool_name("system"));
/// assert!(!is_aks_pool_name("web-workers"));
/// assert!(!is_aks_pool_name("1pool"));
/// assert!(!is_aks_pool_name("averylongpoolname"));
/// ```
pub fn is_aks_pool_name(name: &str) -> bool {
    (1..=MAX_LINUX_POOL_NAME).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// The spec's system pool, checked against AKS's rules, after every pool name is: a pool
/// marked `system` (AKS's mode `System`; the others are `User`), with at least one node.
/// Every pool is Linux (`osType: Linux`), which a system pool must be.
pub(crate) fn checked_pools(spec: &ClusterSpec) -> Result<&NodePool> {
    for (index, pool) in spec.node_pools.iter().enumerate() {
        if !is_aks_pool_name(pool.name.as_str()) {
            return Err(Error::InvalidSpec {
                path: format!("nodePools[{index}].name"),
                reason: format!(
                    "`{}` is not an AKS agent pool name: lowercase letters and digits, starting with a letter, at most {MAX_LINUX_POOL_NAME} characters",
                    pool.name
                ),
            });
        }
    }
    let Some(system) = spec.system_pool() else {
        return Err(Error::InvalidSpec {
            path: "nodePools".into(),
            reason: format!(
                "AKS cluster `{}` needs a system pool: mark one node pool `system: true` (AKS runs its system pods there)",
                spec.id
            ),
        });
    };
    if system.min_count == 0 {
        return Err(Error::InvalidSpec {
            path: format!("nodePools.{}.minCount", system.name),
            reason: format!("`{}` is AKS's system pool, which needs at least one node (minCount >= 1)", system.name),
        });
    }
    Ok(system)
}

/// Refuses settings AKS does not take together: authorized IP ranges on a private cluster.
pub(crate) fn ensure_combination(spec: &ClusterSpec) -> Result<()> {
    if spec.network.private_endpoint && !spec.network.allowed_cidrs.is_empty() {
        return Err(Error::InvalidSpec {
            path: "network.allowedCidrs".into(),
            reason: "AKS does not take authorized IP ranges on a private cluster (network.privateEndpoint): \
                     set one or the other"
                .into(),
        });
    }
    Ok(())
}

/// The `properties` fields the spec's settings and the access choice set on a new cluster.
pub(crate) fn cluster_fields(spec: &ClusterSpec, entra_id_rbac: bool) -> Map<String, Value> {
    let mut fields = Map::new();
    let mut access = Map::new();
    if spec.network.private_endpoint {
        access.insert("enablePrivateCluster".into(), json!(true));
    }
    if !spec.network.allowed_cidrs.is_empty() {
        access.insert("authorizedIPRanges".into(), json!(spec.network.allowed_cidrs));
    }
    if !access.is_empty() {
        fields.insert("apiServerAccessProfile".into(), Value::Object(access));
    }
    let network = if spec.network.network_policy {
        json!({"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
               "networkPolicy": "cilium"})
    } else {
        json!({"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "none"})
    };
    fields.insert("networkProfile".into(), network);
    if entra_id_rbac {
        fields.insert("aadProfile".into(), json!({"managed": true, "enableAzureRBAC": true}));
        fields.insert("disableLocalAccounts".into(), json!(true));
    }
    fields
}

/// The body of the diagnostic setting sending the cluster's audit log to `workspace`.
pub(crate) fn audit_setting(workspace: &str) -> Value {
    json!({"properties": {"workspaceId": workspace, "logs": [{"category": AUDIT_CATEGORY, "enabled": true}]}})
}

/// Whether `id` is a Log Analytics workspace resource id
/// (`/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.OperationalInsights/workspaces/{w}`).
pub(crate) fn is_workspace_id(id: &str) -> bool {
    let segments: Vec<&str> = id.split('/').collect();
    matches!(
        segments.as_slice(),
        ["", subscriptions, _, groups, _, providers, namespace, workspaces, name]
            if subscriptions.eq_ignore_ascii_case("subscriptions")
                && groups.eq_ignore_ascii_case("resourceGroups")
                && providers.eq_ignore_ascii_case("providers")
                && namespace.eq_ignore_ascii_case("Microsoft.OperationalInsights")
                && workspaces.eq_ignore_ascii_case("workspaces")
                && !name.is_empty()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_ids_are_log_analytics_resources() {
        assert!(is_workspace_id(
            "/subscriptions/0000/resourceGroups/ops/providers/Microsoft.OperationalInsights/workspaces/audit"
        ));
        assert!(!is_workspace_id("/subscriptions/0000/resourceGroups/ops/providers/Microsoft.Storage/accounts/a"));
        assert!(!is_workspace_id("audit"));
    }
}
