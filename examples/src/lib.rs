//! Shared parts of Fleet's runnable examples (see `examples/`): the three **simulated** clouds
//! the example repository in `examples/fleet` places clusters on.

use fleet::sim::{RegionCapacity, SimCloud};
use fleet::{Capabilities, KubernetesVersion, ProviderName, Region, Result};

/// Three simulated clouds, named like the clouds they stand in for (they are simulations, not
/// those clouds): `sim-aws` (every capability), `sim-azure` (hibernation, node pool resize, and
/// a system pool required as on AKS) and `sim-gcp` (node pool resize only), each with a few
/// regions of room for 50 clusters. All three apply the control-plane settings (audit logging,
/// private endpoints, allowed CIDRs, network policy) and offer Kubernetes 1.33 to 1.37, the
/// versions the clouds offered for new clusters in late 2026.
pub fn demo_clouds(seed: u64) -> Result<Vec<SimCloud>> {
    let settings = |capabilities: Capabilities| {
        capabilities
            .with_audit_logging(true)
            .with_private_endpoint(true)
            .with_allowed_cidrs(true)
            .with_network_policy(true)
    };
    let versions: Vec<KubernetesVersion> = (33..=37).map(|minor| KubernetesVersion::new(1, minor, None)).collect();
    let cloud = |name: &str, regions: &[&str], capabilities: Capabilities, seed: u64| -> Result<SimCloud> {
        let mut builder = SimCloud::builder(ProviderName::new(name)?)
            .capabilities(settings(capabilities))
            .offered_versions(versions.clone())
            .system_pool_required(name == "sim-azure")
            .seed(seed);
        for region in regions {
            builder = builder.region(Region::new(*region)?, RegionCapacity::new(50, 500));
        }
        Ok(builder.build())
    };
    Ok(vec![
        cloud("sim-aws", &["us-east-1", "eu-west-1", "us-west-2"], Capabilities::all(), seed)?,
        cloud(
            "sim-azure",
            &["westeurope", "eastus"],
            Capabilities::default().with_hibernation(true).with_node_pool_resize(true),
            seed.wrapping_add(1),
        )?,
        cloud(
            "sim-gcp",
            &["europe-west1", "us-central1"],
            Capabilities::default().with_node_pool_resize(true),
            seed.wrapping_add(2),
        )?,
    ])
}
