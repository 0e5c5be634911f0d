//! What an active cluster gets before its node groups: an access entry with the
//! `AmazonEKSClusterAdminPolicy` (cluster scope) for each admin principal the builder names
//! (`CreateAccessEntry`, `AssociateAccessPolicy`: the engine's own role, other replicas', team
//! roles), and the `vpc-cni` add-on with its network policy agent when the spec asks for network
//! policies (`CreateAddon`). Each call is idempotent: what exists already
//! (`ResourceInUseException`) counts as done, so `get` may run this again until the node groups
//! exist.

use aws_sdk_eks::types::{AccessScope, AccessScopeType, ResolveConflicts};
use fleet_core::{Error, RequestKind, Result};

use crate::errors::map_sdk_error;
use crate::settings::{NETWORK_POLICY_ADDON, NETWORK_POLICY_CONFIGURATION};

/// The EKS access policy every admin principal is associated with.
const ADMIN_POLICY: &str = "cluster-access-policy/AmazonEKSClusterAdminPolicy";

/// The ARN of the cluster admin access policy in the partition of `cluster_arn`
/// (`arn:aws:eks::aws:cluster-access-policy/...` in the commercial partition).
pub(crate) fn admin_policy_arn(cluster_arn: &str) -> String {
    let partition = cluster_arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws");
    format!("arn:{partition}:eks::aws:{ADMIN_POLICY}")
}

/// `Ok` for success or for what already exists.
fn done_or_existing(result: Result<()>) -> Result<()> {
    match result {
        Err(Error::AlreadyExists { .. }) | Ok(()) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Gives each of `principals` cluster admin access to cluster `name` (ARN `arn`).
pub(crate) async fn grant_admins(
    client: &aws_sdk_eks::Client,
    name: &str,
    arn: &str,
    principals: &[String],
) -> Result<()> {
    let policy = admin_policy_arn(arn);
    for principal in principals {
        let doing = format!("create the access entry of `{principal}` in cluster `{name}`");
        let created = client
            .create_access_entry()
            .cluster_name(name)
            .principal_arn(principal)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_sdk_error(&doing, RequestKind::Creates, e));
        done_or_existing(created)?;
        let doing = format!("associate `{policy}` with `{principal}` in cluster `{name}`");
        client
            .associate_access_policy()
            .cluster_name(name)
            .principal_arn(principal)
            .policy_arn(&policy)
            .access_scope(AccessScope::builder().r#type(AccessScopeType::Cluster).build())
            .send()
            .await
            .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
    }
    Ok(())
}

/// Installs the `vpc-cni` add-on of cluster `name` with network policies enforced; the
/// add-on's configuration wins over the self-managed CNI EKS installs (`OVERWRITE`).
pub(crate) async fn enable_network_policy(client: &aws_sdk_eks::Client, name: &str) -> Result<()> {
    let doing = format!("create the `{NETWORK_POLICY_ADDON}` add-on of cluster `{name}` with network policies");
    let created = client
        .create_addon()
        .cluster_name(name)
        .addon_name(NETWORK_POLICY_ADDON)
        .configuration_values(NETWORK_POLICY_CONFIGURATION)
        .resolve_conflicts(ResolveConflicts::Overwrite)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| map_sdk_error(&doing, RequestKind::Creates, e));
    done_or_existing(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_policy_is_in_the_clusters_partition() {
        assert_eq!(
            admin_policy_arn("arn:aws:eks:us-east-1:123456789012:cluster/web-1"),
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        );
        assert_eq!(
            admin_policy_arn("arn:aws-cn:eks:cn-north-1:123456789012:cluster/web-1"),
            "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        );
    }
}
