//! The official examples of `tests/data/azure-rest-api-specs` (see its `SOURCE.md`), by
//! api-version and file name.
#![allow(dead_code)]

use serde_json::Value;

macro_rules! examples {
    ($( $version:literal / $file:literal ),* $(,)?) => {
        /// Every example copied, as `(api-version, file name)`.
        pub const EXAMPLES: &[(&str, &str)] = &[ $( ($version, $file), )* ];

        fn text(version: &str, file: &str) -> Option<&'static str> {
            match (version, file) {
                $( ($version, $file) => Some(include_str!(concat!(
                    "../data/azure-rest-api-specs/specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/",
                    $version, "/examples/", $file
                ))), )*
                _ => None,
            }
        }
    };
}

examples! {
    "2026-08-01" / "ManagedClustersGet.json",
    "2026-08-01" / "ManagedClustersList.json",
    "2026-08-01" / "ManagedClustersDelete.json",
    "2026-08-01" / "ManagedClustersStart.json",
    "2026-08-01" / "ManagedClustersStop.json",
    "2026-08-01" / "KubernetesVersions_List.json",
    "2025-07-01" / "ManagedClustersCreate_Update.json",
    "2025-07-01" / "ManagedClustersGet.json",
    "2025-07-01" / "ManagedClustersList.json",
    "2025-07-01" / "ManagedClustersListByResourceGroup.json",
    "2025-07-01" / "ManagedClustersListClusterUserCredentials.json",
    "2025-07-01" / "ManagedClustersUpdateTags.json",
}

/// The example `file` of `version`, parsed.
pub fn example(version: &str, file: &str) -> Value {
    let text = text(version, file).unwrap_or_else(|| panic!("no example {version}/{file} in tests/data"));
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{version}/{file} does not parse: {err}"))
}

/// Every managed cluster an example answers with (each get, list, create and update answer),
/// as `(where, cluster)`.
pub fn answered_clusters() -> Vec<(String, Value)> {
    let mut clusters = Vec::new();
    for (version, file) in EXAMPLES {
        let example = example(version, file);
        let Some(responses) = example["responses"].as_object() else { continue };
        for (status, response) in responses {
            let body = &response["body"];
            let at = format!("{version}/{file} {status}");
            match *file {
                "ManagedClustersGet.json" | "ManagedClustersCreate_Update.json" | "ManagedClustersUpdateTags.json" => {
                    clusters.push((at, body.clone()));
                }
                "ManagedClustersList.json" | "ManagedClustersListByResourceGroup.json" => {
                    for (index, cluster) in body["value"].as_array().into_iter().flatten().enumerate() {
                        clusters.push((format!("{at} value[{index}]"), cluster.clone()));
                    }
                }
                _ => {}
            }
        }
    }
    clusters
}
