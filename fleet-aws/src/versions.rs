//! The Kubernetes versions EKS offers for new clusters (`DescribeClusterVersions`, paged): those
//! in standard support. Versions in extended support (paid, per cluster hour) or unsupported are
//! left out, so that Fleet never creates a cluster on a version EKS charges extra for.

use aws_sdk_eks::types::{ClusterVersionInformation, ClusterVersionStatus, VersionStatus};
use fleet_core::{KubernetesVersion, Region, RequestKind, Result};

use crate::errors::map_sdk_error;

/// Whether EKS lists `info` in standard support (`versionStatus`, or the deprecated `status`
/// of older answers).
fn in_standard_support(info: &ClusterVersionInformation) -> bool {
    match info.version_status() {
        Some(status) => *status == VersionStatus::StandardSupport,
        None => info.status() == Some(&ClusterVersionStatus::StandardSupport),
    }
}

/// The versions in standard support in `region`, sorted, each once.
pub(crate) async fn offered(client: &aws_sdk_eks::Client, region: &Region) -> Result<Vec<KubernetesVersion>> {
    let doing = format!("describe the cluster versions of {region}");
    let mut versions = Vec::new();
    let mut pages = fleet_core::paging::Pages::new(&doing);
    let mut token = None;
    loop {
        let out = client
            .describe_cluster_versions()
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
        versions.extend(
            out.cluster_versions()
                .iter()
                .filter(|info| in_standard_support(info))
                .filter_map(|info| info.cluster_version()?.parse::<KubernetesVersion>().ok()),
        );
        token = pages.next(out.next_token())?;
        if token.is_none() {
            break;
        }
    }
    versions.sort();
    versions.dedup();
    Ok(versions)
}
