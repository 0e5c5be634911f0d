//! What the engine read from its store, kept while the store's revision stands
//! ([`StateStore::revision`](crate::store::StateStore::revision)): a steady pass reads the
//! store's observations and placements once, not every pass. A store that cannot tell its
//! revision is read every time.

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

/// Every stored observation ([`StateStore::observed`](crate::store::StateStore::observed)).
pub(crate) async fn observed(engine: &EngineInner) -> Result<Arc<Vec<Cluster>>> {
    kept(engine, |reads| &mut reads.observed, engine.store.observed()).await
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
