//! A repository against one provider's backend: its clusters for that provider planned, applied
//! by the engine until the fleet converges, and planned again, which must then be empty. Provider
//! crates run it on their example repositories beside the kit.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::engine::{Engine, EngineOptions};
use crate::fleet_spec::DesiredFleet;
use crate::plan::{Plan, plan};
use crate::repository::Repository;
use crate::{Capabilities, ClusterId, ClusterProvider, ClusterProviderExt, ProviderInfo, ProviderName, Region};

/// Engine passes [`converge_repository`] runs at most before it calls the fleet unconverged.
pub const MAX_PASSES: usize = 20;

/// What [`converge_repository`] saw.
#[derive(Debug)]
pub struct RepositoryRun {
    /// The provider's info the repository was resolved against, with its offered versions.
    pub info: ProviderInfo,
    /// The repository's clusters on the provider, by id.
    pub clusters: Vec<ClusterId>,
    /// The plan before anything was applied.
    pub first_plan: Plan,
    /// Engine passes until the fleet converged.
    pub passes: usize,
}

/// The info of a provider that stands in for a cloud of the repository not under test, so that
/// the repository resolves as a whole: every setting applied, a marked system pool required
/// (the strictest cloud's rule), any version offered.
///
/// # Panics
/// On a name or region that is not valid (a test's literal).
pub fn stand_in_info(name: &str, regions: &[&str]) -> ProviderInfo {
    let regions = regions.iter().map(|region| Region::new(*region).expect("a region name")).collect();
    ProviderInfo::new(ProviderName::new(name).expect("a provider name"), regions)
        .with_capabilities(Capabilities::all())
        .with_system_pool_required(true)
}

/// Loads the repository at `dir`, resolves it against `provider` (its info with offered
/// versions) and `others`, keeps the clusters on `provider`, plans, runs an engine on
/// `provider` until the fleet converges (at most [`MAX_PASSES`] passes, none with a failed
/// action) and plans again over what `provider` lists: the error says which step did not hold
/// (the repository's errors, a failed action, no convergence, or a plan that is not empty,
/// with the plan).
///
/// ```no_run
/// # async fn run(provider: std::sync::Arc<dyn fleet_core::ClusterProvider>) {
/// use fleet_core::conformance::{converge_repository, stand_in_info};
/// let others = [stand_in_info("gke", &["europe-west1"]), stand_in_info("aks", &["westeurope"])];
/// let run = converge_repository("examples/fleet-clouds", provider, &others).await.unwrap();
/// assert_eq!(run.first_plan.summary().create, run.clusters.len());
/// # }
/// ```
pub async fn converge_repository(
    dir: impl AsRef<Path>,
    provider: Arc<dyn ClusterProvider>,
    others: &[ProviderInfo],
) -> Result<RepositoryRun, String> {
    let dir = dir.as_ref();
    let info = provider.info_with_offered_versions().await;
    let mut infos = others.to_vec();
    infos.push(info.clone());
    let repository = Repository::load_dir(dir).map_err(|errors| format!("{}: {errors}", dir.display()))?;
    let desired = repository.desired(&infos).map_err(|errors| format!("{}: {errors}", dir.display()))?.fleet;
    let clusters: Vec<_> = desired.clusters.into_iter().filter(|c| c.spec.provider == info.name).collect();
    let ids = clusters.iter().map(|c| c.spec.id.clone()).collect();
    let desired = DesiredFleet::new(desired.name, clusters);
    let capabilities = BTreeMap::from([(info.name.clone(), info.capabilities)]);
    let first_plan = plan(&desired, &[], &capabilities, SystemTime::now());

    let engine = Engine::builder(desired.name.clone())
        .provider(Arc::clone(&provider))
        .options(quick_options())
        .build()
        .map_err(|err| format!("engine: {err}"))?;
    engine.set_desired(desired.clone()).map_err(|err| format!("engine: {err}"))?;
    let mut passes = 0;
    loop {
        passes += 1;
        let report = engine.run_once().await.map_err(|err| format!("pass {passes}: {err}"))?;
        if !report.failed.is_empty() {
            return Err(format!("pass {passes} failed actions: {:?}", report.failed));
        }
        if report.converged {
            break;
        }
        if passes == MAX_PASSES {
            return Err(format!("the fleet did not converge on `{}` in {MAX_PASSES} passes", info.name));
        }
    }
    let observed = provider.list().await.map_err(|err| format!("list after converging: {err}"))?.into_clusters();
    let again = plan(&desired, &observed, &capabilities, SystemTime::now());
    if !again.is_empty() {
        return Err(format!("the plan after converging on `{}` is not empty:\n{again}", info.name));
    }
    Ok(RepositoryRun { info, clusters: ids, first_plan, passes })
}

/// Engine options for a local backend: short polls and retries, operations bounded.
fn quick_options() -> EngineOptions {
    EngineOptions {
        poll_initial: Duration::from_millis(20),
        poll_max: Duration::from_millis(200),
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(500),
        operation_timeout: Some(Duration::from_secs(30)),
        ..EngineOptions::default()
    }
}
