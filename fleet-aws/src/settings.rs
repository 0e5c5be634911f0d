//! The blueprint's control-plane settings as EKS's `CreateCluster` fields, and what EKS refuses
//! of them:
//! - `auditLogging` → `logging.clusterLogging = [{types: ["audit"], enabled: true}]`;
//! - `network.privateEndpoint` → `resourcesVpcConfig.endpointPrivateAccess = true`,
//!   `endpointPublicAccess = false` (otherwise public access, EKS's default);
//! - `network.allowedCidrs` → `resourcesVpcConfig.publicAccessCidrs`, which EKS takes only
//!   with public access: with a private endpoint, the combination is refused;
//! - `network.networkPolicy` → the `vpc-cni` add-on with `{"enableNetworkPolicy":"true"}`
//!   ([`NETWORK_POLICY_ADDON`], created by [`crate::setup`] once the cluster is active);
//! - access: `accessConfig.authenticationMode = "API"` with the creator's admin permissions, so
//!   that access entries can grant other principals access ([`access_config`]).

use aws_sdk_eks::types::{AuthenticationMode, CreateAccessConfigRequest, LogSetup, LogType, Logging, VpcConfigRequest};
use fleet_core::{ClusterSpec, Error, Result};

use crate::builder::RegionNetwork;

/// The add-on that enforces network policies on EKS: the Amazon VPC CNI.
pub(crate) const NETWORK_POLICY_ADDON: &str = "vpc-cni";

/// The `vpc-cni` add-on's configuration turning on its network policy agent.
pub(crate) const NETWORK_POLICY_CONFIGURATION: &str = r#"{"enableNetworkPolicy":"true"}"#;

/// The `resourcesVpcConfig` of `spec` in a region networked as `network`; a CIDR allow-list
/// with a private endpoint is refused, as EKS refuses `publicAccessCidrs` without public access.
pub(crate) fn vpc_config(network: &RegionNetwork, spec: &ClusterSpec) -> Result<VpcConfigRequest> {
    let settings = &spec.network;
    if settings.private_endpoint && !settings.allowed_cidrs.is_empty() {
        return Err(Error::InvalidSpec {
            path: "network.allowedCidrs".into(),
            reason: format!(
                "cluster `{}` asks for a private endpoint and CIDR blocks allowed to reach it; EKS limits only its \
                 public endpoint by CIDR (publicAccessCidrs), which a private endpoint turns off: drop one of the two",
                spec.id
            ),
        });
    }
    let cidrs = (!settings.allowed_cidrs.is_empty()).then(|| settings.allowed_cidrs.clone());
    Ok(VpcConfigRequest::builder()
        .set_subnet_ids(Some(network.subnets.clone()))
        .set_security_group_ids((!network.security_groups.is_empty()).then(|| network.security_groups.clone()))
        .endpoint_private_access(settings.private_endpoint)
        .endpoint_public_access(!settings.private_endpoint)
        .set_public_access_cidrs(cidrs)
        .build())
}

/// The `logging` of `spec`: the audit log exported when asked, else nothing (EKS's default,
/// no control-plane logs).
pub(crate) fn logging(spec: &ClusterSpec) -> Option<Logging> {
    spec.audit_logging.then(|| {
        Logging::builder().cluster_logging(LogSetup::builder().types(LogType::Audit).enabled(true).build()).build()
    })
}

/// The `accessConfig` of every cluster: access entries (mode `API`), the creator an admin.
pub(crate) fn access_config() -> CreateAccessConfigRequest {
    CreateAccessConfigRequest::builder()
        .authentication_mode(AuthenticationMode::Api)
        .bootstrap_cluster_creator_admin_permissions(true)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_core::{ClusterId, NodePool, NodePoolName, ProviderName, Region, SizeClass};

    fn spec() -> ClusterSpec {
        ClusterSpec::builder(
            ClusterId::new("web-1").unwrap(),
            ProviderName::new("aws").unwrap(),
            Region::new("us-east-1").unwrap(),
            "1.34".parse().unwrap(),
        )
        .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
        .build()
        .unwrap()
    }

    #[test]
    fn settings_map_to_eks_fields() {
        let network = RegionNetwork { subnets: vec!["subnet-a".into(), "subnet-b".into()], ..Default::default() };
        let mut public = spec();
        public.network.allowed_cidrs = vec!["203.0.113.0/24".into()];
        let vpc = vpc_config(&network, &public).unwrap();
        assert_eq!(vpc.public_access_cidrs(), ["203.0.113.0/24".to_owned()]);
        assert_eq!((vpc.endpoint_public_access(), vpc.endpoint_private_access()), (Some(true), Some(false)));
        assert!(logging(&public).is_none());

        let mut private = spec();
        private.network.private_endpoint = true;
        private.audit_logging = true;
        let vpc = vpc_config(&network, &private).unwrap();
        assert_eq!((vpc.endpoint_public_access(), vpc.endpoint_private_access()), (Some(false), Some(true)));
        assert!(vpc.public_access_cidrs().is_empty());
        let setup = logging(&private).unwrap().cluster_logging()[0].clone();
        assert_eq!((setup.types(), setup.enabled()), ([LogType::Audit].as_slice(), Some(true)));

        private.network.allowed_cidrs = vec!["203.0.113.0/24".into()];
        let refused = vpc_config(&network, &private).unwrap_err();
        assert!(matches!(&refused, Error::InvalidSpec { path, .. } if path == "network.allowedCidrs"), "{refused}");
    }
}
