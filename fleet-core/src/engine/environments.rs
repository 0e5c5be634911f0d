//! Accepted self-service environments in the engine: read from the state store at every pass
//! and wanted beside whatever desired fleet the engine is given, so that no `set_desired` (a
//! reload of the repository) drops a cluster a team was promised. An environment leaves the
//! store when its TTL ends (recorded as the cluster expires) or its team deletes it.

use std::sync::Arc;

use super::{EngineInner, EngineState};
use crate::fleet_spec::{DesiredCluster, DesiredFleet};
use crate::store::AcceptedEnvironment;
use crate::{ClusterId, Result};

/// `base` with `environments` beside it; an environment takes the place of a cluster of `base`
/// with the same id (the team's promise stands). Without environments, `base` itself.
pub(crate) fn merged(base: &Arc<DesiredFleet>, environments: &[DesiredCluster]) -> Arc<DesiredFleet> {
    if environments.is_empty() {
        return Arc::clone(base);
    }
    let clusters = base
        .clusters
        .iter()
        .filter(|cluster| !environments.iter().any(|e| e.spec.id == cluster.spec.id))
        .chain(environments)
        .cloned()
        .collect();
    Arc::new(DesiredFleet::new(base.name.clone(), clusters))
}

/// Recomputes the engine's desired fleet from its base and its environments.
pub(crate) fn remerge(state: &mut EngineState) {
    state.desired = merged(&state.base, &state.environments);
}

/// Reads the environments from the store (another replica or process may have accepted some)
/// and remerges when they changed (a steady pass copies no desired fleet for them).
pub(crate) async fn refresh(engine: &EngineInner) -> Result<()> {
    let stored: Vec<DesiredCluster> =
        engine.store.environments().await?.into_iter().map(|environment| environment.cluster).collect();
    let mut state = engine.state();
    if state.environments != stored {
        state.environments = stored;
        remerge(&mut state);
    }
    Ok(())
}

/// Keeps `environment`, in the store first, in place of one with the same id.
pub(crate) async fn keep(engine: &EngineInner, environment: AcceptedEnvironment) -> Result<()> {
    engine.store.put_environment(&environment).await?;
    let mut state = engine.state();
    state.environments.retain(|cluster| cluster.spec.id != *environment.id());
    state.environments.push(environment.cluster);
    remerge(&mut state);
    Ok(())
}

/// Forgets the environment `id`, in the store first.
pub(crate) async fn forget(engine: &EngineInner, id: &ClusterId) -> Result<()> {
    engine.store.remove_environment(id).await?;
    let mut state = engine.state();
    state.environments.retain(|cluster| cluster.spec.id != *id);
    remerge(&mut state);
    Ok(())
}
