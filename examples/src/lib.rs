//! Shared parts of Fleet's runnable examples (see `examples/`): the **simulated** clouds a
//! repository such as `examples/fleet` places clusters on.

use fleet::model::KubernetesVersion;
use fleet::provider::Capabilities;
use fleet::repository::Repository;
use fleet::sim::{SimCloud, clouds_for};

/// The simulated clouds of `repository` ([`clouds_for`]), named like the clouds they stand in
/// for (they are simulations, not those clouds), each offering Kubernetes 1.33 to 1.37, the
/// versions the clouds offered for new clusters in late 2026, and applying the control-plane
/// settings (audit logging, private endpoints, allowed CIDRs, network policy): `sim-azure`
/// hibernates and resizes node pools in place and needs a system pool, as AKS does; `sim-gcp`
/// resizes node pools only; any other (`sim-aws`) changes everything in place.
pub fn demo_clouds(repository: &Repository, seed: u64) -> Vec<SimCloud> {
    let settings = |capabilities: Capabilities| {
        capabilities
            .with_audit_logging(true)
            .with_private_endpoint(true)
            .with_allowed_cidrs(true)
            .with_network_policy(true)
    };
    let versions: Vec<KubernetesVersion> = (33..=37).map(|minor| KubernetesVersion::new(1, minor, None)).collect();
    clouds_for(repository, seed, |name, builder| {
        let capabilities = match name.as_str() {
            "sim-azure" => Capabilities::default().with_hibernation(true).with_node_pool_resize(true),
            "sim-gcp" => Capabilities::default().with_node_pool_resize(true),
            _ => Capabilities::all(),
        };
        builder
            .capabilities(settings(capabilities))
            .offered_versions(versions.clone())
            .system_pool_required(name.as_str() == "sim-azure")
    })
}

/// The failover readiness of the repository in `dir` on its [`demo_clouds`] (seed 1), after a
/// first pass of an engine over them: what the `readiness` example prints.
///
/// # Errors
/// The repository's errors, or an engine or provider error.
pub async fn demo_readiness(dir: &str) -> Result<fleet::failover::Readiness, Box<dyn std::error::Error>> {
    let repository = Repository::load_dir(dir)?;
    let clouds = demo_clouds(&repository, 1);
    let infos: Vec<_> = clouds.iter().map(|cloud| cloud.info().clone()).collect();
    let desired = repository.desired(&infos)?;
    let fleet = desired.fleet.name.clone();
    let mut engine = fleet::Engine::builder(fleet.clone());
    for cloud in &clouds {
        engine = engine.provider(std::sync::Arc::new(cloud.provider(fleet.clone())));
    }
    let engine = engine.build()?;
    engine.set_desired(desired.fleet)?;
    engine.run_once().await?;
    let controller = fleet::FailoverController::builder(engine).policies(desired.failover).build()?;
    Ok(controller.readiness().await?)
}
