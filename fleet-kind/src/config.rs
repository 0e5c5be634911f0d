//! The kind cluster configuration Fleet writes for a spec: node image by Kubernetes version,
//! one control-plane node, workers from the node pools, every node labelled with Fleet's tags.

use std::collections::BTreeMap;

use fleet_core::{ClusterSpec, Error, FleetName, FleetTags, KubernetesVersion, Result};
use serde_json::{Value, json};

/// Node images of the kind release Fleet is tested with, by Kubernetes minor version.
const NODE_IMAGES: &[(u32, &str)] =
    &[(29, "v1.29.14"), (30, "v1.30.13"), (31, "v1.31.12"), (32, "v1.32.8"), (33, "v1.33.4"), (34, "v1.34.0")];

/// The Kubernetes versions kind has node images for (the newest patch of each minor), which
/// are the versions the Kind provider offers.
///
/// ```
/// assert!(fleet_kind::offered_versions().contains(&"1.34.0".parse().unwrap()));
/// ```
pub fn offered_versions() -> Vec<KubernetesVersion> {
    NODE_IMAGES.iter().filter_map(|(_, tag)| tag.trim_start_matches('v').parse().ok()).collect()
}

/// The `kindest/node` image for `version`: the exact patch when the version names one, else
/// the newest patch of its minor that kind publishes.
///
/// ```
/// use fleet_kind::node_image;
/// assert_eq!(node_image(&"1.31".parse().unwrap()).unwrap(), "kindest/node:v1.31.12");
/// assert_eq!(node_image(&"1.30.2".parse().unwrap()).unwrap(), "kindest/node:v1.30.2");
/// assert!(node_image(&"1.12".parse().unwrap()).is_err());
/// ```
pub fn node_image(version: &KubernetesVersion) -> Result<String> {
    let Some((_, latest)) = NODE_IMAGES.iter().find(|(minor, _)| *minor == version.minor()) else {
        let known: Vec<String> = NODE_IMAGES.iter().map(|(minor, _)| format!("1.{minor}")).collect();
        return Err(Error::InvalidSpec {
            path: "kubernetesVersion".into(),
            reason: format!("kind has no node image for Kubernetes {version}; it has {}", known.join(", ")),
        });
    };
    Ok(match version.patch() {
        Some(patch) => format!("kindest/node:v{}.{}.{patch}", version.major(), version.minor()),
        None => format!("kindest/node:{latest}"),
    })
}

/// Tags as node labels: keys under `fleet.dev/`, values cut to Kubernetes' label rules
/// (63 characters of letters, digits, `-`, `_` and `.`, starting and ending alphanumeric).
fn labels(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter()
        .map(|(key, value)| {
            let clean: String = value
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
                .take(63)
                .collect();
            let clean = clean.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
            (format!("fleet.dev/{key}"), clean)
        })
        .collect()
}

/// The kind config (JSON, which kind reads as YAML) for `spec` of `fleet`.
///
/// ```
/// use fleet_core::*;
/// let spec = ClusterSpec::builder(ClusterId::new("dev-1").unwrap(), ProviderName::new("kind").unwrap(), Region::new("local").unwrap(), "1.31".parse().unwrap())
///     .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 2, 3).unwrap())
///     .build()
///     .unwrap();
/// let config = fleet_kind::kind_config(&FleetName::new("laptop").unwrap(), &spec).unwrap();
/// assert_eq!(config["nodes"].as_array().unwrap().len(), 3, "a control plane and two workers");
/// assert_eq!(config["nodes"][1]["labels"]["fleet.dev/node-pool"], "workers");
/// ```
pub fn kind_config(fleet: &FleetName, spec: &ClusterSpec) -> Result<Value> {
    let image = node_image(&spec.kubernetes_version)?;
    let tags = labels(&FleetTags::cluster_tags(fleet, spec));
    let mut nodes = vec![json!({"role": "control-plane", "image": image, "labels": tags})];
    for pool in &spec.node_pools {
        let mut pool_labels = tags.clone();
        pool_labels.insert("fleet.dev/node-pool".into(), pool.name.to_string());
        for _ in 0..pool.min_count {
            nodes.push(json!({"role": "worker", "image": image, "labels": pool_labels}));
        }
    }
    Ok(json!({
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": spec.id.as_str(),
        "nodes": nodes,
    }))
}
