//! What a failed chaos run shows of its past: the last events of record, or, for the clusters
//! named by [`FOCUS_VARIABLE`], every call, event and intent about them.

use std::fmt::Write as _;

use crate::Result;
use crate::sim::SimCloud;
use crate::store::StateStore;

/// The environment variable that names a cluster prefix (e.g. `c3`) whose whole history a
/// failure's message shows.
pub const FOCUS_VARIABLE: &str = "FLEET_CHAOS_FOCUS";

/// Events of record shown without a focus.
const RECENT: usize = 40;

/// The history for a failure's message: the last events of record, or everything about the
/// clusters whose names start with `focus`.
pub(crate) async fn describe(clouds: &[SimCloud], store: &dyn StateStore, focus: Option<&str>) -> Result<String> {
    let events = store.events_after(0).await?;
    let mut out = String::new();
    let Some(focus) = focus else {
        let recent: Vec<_> = events.iter().rev().take(RECENT).rev().collect();
        let _ = writeln!(
            out,
            "the last {} events of record ({FOCUS_VARIABLE}=<cluster> shows one cluster's all):",
            recent.len()
        );
        for event in recent {
            let cluster = event.cluster.as_ref().map_or("-", |c| c.as_str());
            let _ = writeln!(out, "  #{} {} {cluster}: {}", event.seq, event.kind, event.message);
        }
        return Ok(out);
    };
    let about = |id: Option<&crate::ClusterId>| id.is_some_and(|id| id.as_str().starts_with(focus));
    let _ = writeln!(out, "everything about `{focus}*`:");
    for cloud in clouds {
        for call in cloud.call_log().into_iter().filter(|call| about(call.cluster.as_ref())) {
            let _ = writeln!(out, "  call {} {call}", cloud.info().name);
        }
    }
    for event in events.iter().filter(|event| about(event.cluster.as_ref())) {
        let _ = writeln!(out, "  event #{} {}: {}", event.seq, event.kind, event.message);
    }
    for intent in store.intents().await?.into_iter().filter(|intent| about(Some(&intent.intent.cluster))) {
        let place = intent.intent.spec.as_ref().map(|spec| format!(" at {}/{}", spec.provider, spec.region));
        let _ = writeln!(
            out,
            "  intent #{} {} `{}`{} attempt {}: {:?}",
            intent.id,
            intent.intent.operation.as_str(),
            intent.intent.cluster,
            place.unwrap_or_default(),
            intent.intent.attempt,
            intent.outcome
        );
    }
    Ok(out)
}
