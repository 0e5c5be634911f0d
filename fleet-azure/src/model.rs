//! The ARM payloads of `Microsoft.ContainerService/managedClusters` that Fleet reads and
//! writes: only the fields it uses, typed, with everything else kept as it came
//! (`rest`), so that a read-modify-write never drops a setting Fleet does not know.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A managed cluster (`ManagedCluster`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ManagedCluster {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub properties: ClusterProperties,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl ManagedCluster {
    /// The ARM resource id, when the answer carries one.
    pub fn id(&self) -> Option<&str> {
        self.rest.get("id").and_then(Value::as_str)
    }

    /// The resource name.
    pub fn name(&self) -> Option<&str> {
        self.rest.get("name").and_then(Value::as_str)
    }

    /// When ARM created the resource and last changed it (`systemData.createdAt`,
    /// `systemData.lastModifiedAt`, RFC 3339), when the answer says.
    pub fn timestamps(&self) -> (Option<SystemTime>, Option<SystemTime>) {
        let at = |field: &str| {
            self.rest
                .get("systemData")
                .and_then(|data| data.get(field))
                .and_then(Value::as_str)
                .and_then(|text| azure_core::time::parse_rfc3339(text).ok())
                .map(SystemTime::from)
        };
        (at("createdAt"), at("lastModifiedAt"))
    }
}

/// `ManagedClusterProperties`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClusterProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_kubernetes_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_state: Option<PowerState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_pool_profiles: Vec<AgentPoolProfile>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// `PowerState`: `Running` or `Stopped`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PowerState {
    #[serde(default)]
    pub code: String,
}

/// `ManagedClusterAgentPoolProfile`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentPoolProfile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_auto_scaling: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator_version: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_labels: BTreeMap<String, String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A page of a list (`value`, `nextLink`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page {
    #[serde(default)]
    pub value: Vec<ManagedCluster>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// `CredentialResults` of `listClusterUserCredential`.
#[derive(Deserialize)]
pub(crate) struct CredentialResults {
    #[serde(default)]
    pub kubeconfigs: Vec<CredentialResult>,
}

/// One kubeconfig, base64 in `value`. No `Debug`: it is a secret.
#[derive(Deserialize)]
pub(crate) struct CredentialResult {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// The body of an `Azure-AsyncOperation` status URL.
#[derive(Debug, Deserialize)]
pub(crate) struct AsyncOperation {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub error: Option<ErrorDetail>,
}

/// `ErrorResponse`: `{"error": {"code", "message"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorResponse {
    pub error: ErrorDetail,
}

/// `ErrorDetail`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_fleet_does_not_know_survive_a_round_trip() {
        let text = r#"{"location":"westeurope","id":"/subscriptions/x","properties":
            {"kubernetesVersion":"1.31","networkProfile":{"networkPlugin":"azure"},
             "agentPoolProfiles":[{"name":"nodepool1","count":3,"osType":"Linux"}]}}"#;
        let cluster: ManagedCluster = serde_json::from_str(text).unwrap();
        assert_eq!(cluster.id(), Some("/subscriptions/x"));
        let back = serde_json::to_value(&cluster).unwrap();
        assert_eq!(back["properties"]["networkProfile"]["networkPlugin"], "azure");
        assert_eq!(back["properties"]["agentPoolProfiles"][0]["osType"], "Linux");
        assert_eq!(back["properties"]["kubernetesVersion"], "1.31");
        assert_eq!(cluster.timestamps(), (None, None));
    }

    #[test]
    fn system_data_gives_the_timestamps() {
        let text = r#"{"systemData": {"createdAt": "2026-03-01T10:00:00Z", "lastModifiedAt": "2026-03-01T10:05:30.5Z",
            "createdByType": "User"}}"#;
        let cluster: ManagedCluster = serde_json::from_str(text).unwrap();
        let (created, modified) = cluster.timestamps();
        let created = created.unwrap().duration_since(SystemTime::UNIX_EPOCH).unwrap();
        let modified = modified.unwrap().duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(created.as_secs(), 1_772_359_200);
        assert_eq!(modified.as_millis(), 1_772_359_530_500);
        let odd: ManagedCluster = serde_json::from_str(r#"{"systemData": {"createdAt": "yesterday"}}"#).unwrap();
        assert_eq!(odd.timestamps(), (None, None));
    }
}
