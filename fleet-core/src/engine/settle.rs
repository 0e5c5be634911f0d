//! Settling: the calls a crash left unresolved (an intent recorded, its outcome not) are
//! resolved at the next pass, from what the providers show now.

use std::collections::{BTreeMap, BTreeSet};

use super::EngineInner;
use super::ownership::identity_of_call;
use super::unseen::Unseen;
use crate::store::{Intent, IntentOutcome};
use crate::{Cluster, ClusterId, ProviderName, Region, Result};

/// Resolves every pending intent this engine owns whose provider and region were listed,
/// recording whether its cluster exists; returns how many it resolved. A call to a provider or
/// region that could not be listed is settled once it can be: until then nobody can tell
/// whether it took effect.
pub(crate) async fn settle_intents(engine: &EngineInner, observed: &[Cluster], unseen: &Unseen) -> Result<usize> {
    let mut pending = engine.store.pending_intents().await?;
    let unlisted = unlisted_calls(engine, &pending, unseen).await?;
    pending.retain(|intent| {
        let call = &intent.intent;
        !unlisted.contains(&intent.id) && engine.owns(&identity_of_call(&call.cluster, call.spec.as_ref(), observed))
    });
    for intent in &pending {
        let exists = super::by_name::first_named(observed, &intent.intent.cluster).is_some();
        let finding = format!(
            "{} of `{}` unresolved at restart; the cluster {} at its provider",
            intent.intent.operation.as_str(),
            intent.intent.cluster,
            if exists { "exists" } else { "does not exist" }
        );
        engine.store.resolve_intent(intent.id, IntentOutcome::Recovered { finding }).await?;
    }
    Ok(pending.len())
}

/// The ids of `pending` intents whose call went to a provider or region out of sight.
async fn unlisted_calls(engine: &EngineInner, pending: &[Intent], unseen: &Unseen) -> Result<BTreeSet<u64>> {
    if unseen.is_empty() || pending.is_empty() {
        return Ok(BTreeSet::new());
    }
    let stored: BTreeMap<ClusterId, (ProviderName, Region)> =
        engine.store.observed().await?.into_iter().map(|c| (c.id, (c.provider, c.region))).collect();
    Ok(pending
        .iter()
        .filter(|intent| {
            let place = match intent.intent.spec.as_ref() {
                Some(spec) => Some((&spec.provider, &spec.region)),
                None => stored.get(&intent.intent.cluster).map(|(p, r)| (p, r)),
            };
            place.is_some_and(|(provider, region)| unseen.covers(provider, region))
        })
        .map(|intent| intent.id)
        .collect())
}
