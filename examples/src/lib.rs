//! Shared parts of Fleet's runnable examples (see `examples/`): the **simulated** clouds a
//! repository such as `examples/fleet` places clusters on, and the reference service
//! ([`service`]).

pub mod service;

use fleet::model::KubernetesVersion;
use fleet::provider::Capabilities;
use fleet::repository::Repository;
use fleet::sim::{Latency, LatencyModel, SimCloud, clouds_for};

/// The simulated clouds of `repository` ([`clouds_for`]), named like the clouds they stand in
/// for (they are simulations, not those clouds), each offering Kubernetes 1.33 to 1.37, the
/// versions the clouds offered for new clusters in late 2026, and applying the control-plane
/// settings (audit logging, private endpoints, allowed CIDRs, network policy): `sim-azure`
/// hibernates and resizes node pools in place and needs a system pool, as AKS does; `sim-gcp`
/// resizes node pools only; any other (`sim-aws`) changes everything in place.
pub fn demo_clouds(repository: &Repository, seed: u64) -> Vec<SimCloud> {
    clouds_at(repository, seed, LatencyModel::realistic(), fleet::observe::DEFAULT_RESYNC)
}

/// The [`demo_clouds`] at service speed, for running in real time (the reference service):
/// calls answer in 1-3 ms, clusters are created in 3-5 s, updated in 2-3 s and deleted in 1-2 s,
/// and each cluster is described again every 10 s. Still **simulated** clouds.
pub fn service_clouds(repository: &Repository, seed: u64) -> Vec<SimCloud> {
    let latency = LatencyModel::realistic()
        .with_calls(Latency::millis(1, 3), Latency::millis(1, 3))
        .with_create(Latency::millis(3000, 5000))
        .with_update(Latency::millis(2000, 3000))
        .with_delete(Latency::millis(1000, 2000));
    clouds_at(repository, seed, latency, std::time::Duration::from_secs(10))
}

fn clouds_at(repository: &Repository, seed: u64, latency: LatencyModel, resync: std::time::Duration) -> Vec<SimCloud> {
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
            .latency(latency)
            .resync(resync)
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

/// Copies the directory `from`, with everything under it, to `to` (created if need be): a
/// repository for an example to edit.
///
/// # Errors
/// A file that cannot be read or written.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}
