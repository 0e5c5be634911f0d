//! What the engine knows the store holds, kept while the store's revision stands
//! ([`StateStore::revision`](crate::store::StateStore::revision)): a steady pass reads the
//! store's observations and placements not at all. A store that cannot tell its revision is
//! read every time.
//!
//! Placements are kept as read. Observations are kept only as the pass's own observation,
//! once a pass found the store holding exactly that (it wrote nothing, saw every provider and
//! region, owns every cluster): the engine keeps no second copy of the fleet for this.

use std::future::Future;
use std::sync::Arc;

use super::EngineInner;
use crate::store::Placement;
use crate::{Cluster, Result};

/// A read of the store and the revision it was read at.
struct Kept<T> {
    revision: u64,
    value: Arc<T>,
}

/// The reads the engine keeps.
#[derive(Default)]
pub(crate) struct StoreReads {
    observed: Option<Kept<Vec<Cluster>>>,
    placements: Option<Kept<Vec<Placement>>>,
}

/// Every stored observation ([`StateStore::observed`](crate::store::StateStore::observed));
/// `revision`: the store's, read just before.
pub(crate) async fn observed(engine: &EngineInner, revision: Option<u64>) -> Result<Arc<Vec<Cluster>>> {
    let kept = {
        let state = engine.state();
        state.store_reads.observed.as_ref().filter(|kept| Some(kept.revision) == revision).map(|k| Arc::clone(&k.value))
    };
    match kept {
        Some(kept) => Ok(kept),
        None => Ok(Arc::new(engine.store.observed().await?)),
    }
}

/// Records that the store held exactly `observed` at `revision`.
pub(crate) fn agreed(engine: &EngineInner, revision: u64, observed: &Arc<Vec<Cluster>>) {
    engine.state().store_reads.observed = Some(Kept { revision, value: Arc::clone(observed) });
}

/// Every stored placement ([`StateStore::placements`](crate::store::StateStore::placements)).
pub(crate) async fn placements(engine: &EngineInner) -> Result<Arc<Vec<Placement>>> {
    kept(engine, |reads| &mut reads.placements, engine.store.placements()).await
}

/// What `read` reads, from the last read while the store's revision is the one it was read
/// at; a read is kept only when the revision stood still while it ran.
async fn kept<T>(
    engine: &EngineInner,
    slot: impl Fn(&mut StoreReads) -> &mut Option<Kept<T>>,
    read: impl Future<Output = Result<T>>,
) -> Result<Arc<T>> {
    let before = engine.store.revision();
    if let Some(revision) = before
        && let Some(kept) = slot(&mut engine.state().store_reads).as_ref().filter(|kept| kept.revision == revision)
    {
        return Ok(Arc::clone(&kept.value));
    }
    let value = Arc::new(read.await?);
    if let Some(revision) = before
        && engine.store.revision() == before
    {
        *slot(&mut engine.state().store_reads) = Some(Kept { revision, value: Arc::clone(&value) });
    }
    Ok(value)
}
