//! The Kubernetes versions AKS offers in a location, from
//! `GET /subscriptions/{s}/providers/Microsoft.ContainerService/locations/{location}/kubernetesVersions`
//! (`KubernetesVersionListResult`).

use fleet_core::KubernetesVersion;
use serde::Deserialize;

/// `KubernetesVersionListResult`.
#[derive(Debug, Deserialize)]
pub(crate) struct VersionList {
    #[serde(default)]
    pub values: Vec<VersionEntry>,
}

/// One minor version of the list (`KubernetesVersion`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionEntry {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub is_preview: Option<bool>,
    #[serde(default)]
    pub capabilities: Option<VersionCapabilities>,
}

/// `KubernetesVersionCapabilities`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionCapabilities {
    #[serde(default)]
    pub support_plan: Vec<String>,
}

impl VersionList {
    /// The minor versions a new cluster gets on AKS's standard support plan: previews are
    /// left out, and so are versions offered only under long-term support
    /// (`AKSLongTermSupport`, which needs the Premium tier).
    pub fn offered(&self) -> Vec<KubernetesVersion> {
        let mut offered: Vec<KubernetesVersion> = self
            .values
            .iter()
            .filter(|entry| entry.is_preview != Some(true))
            .filter(|entry| {
                entry.capabilities.as_ref().is_none_or(|caps| {
                    caps.support_plan.is_empty() || caps.support_plan.iter().any(|plan| plan == "KubernetesOfficial")
                })
            })
            .filter_map(|entry| entry.version.parse::<KubernetesVersion>().ok())
            .map(|version| version.without_patch())
            .collect();
        offered.sort();
        offered.dedup();
        offered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_and_long_term_support_only_versions_are_not_offered() {
        let list: VersionList = serde_json::from_str(
            r#"{"values": [
                {"version": "1.27", "capabilities": {"supportPlan": ["AKSLongTermSupport"]}},
                {"version": "1.34", "capabilities": {"supportPlan": ["KubernetesOfficial", "AKSLongTermSupport"]}},
                {"version": "1.35", "isDefault": true},
                {"version": "1.36", "isPreview": true},
                {"version": "not a version"}]}"#,
        )
        .unwrap();
        let offered: Vec<String> = list.offered().iter().map(ToString::to_string).collect();
        assert_eq!(offered, ["1.34", "1.35"]);
    }
}
