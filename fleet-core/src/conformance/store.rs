//! The state store conformance suite: every [`StateStore`] (memory, SQLite, etcd, or your
//! own) runs [`run_all`] against an empty store.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = fleet_core::store::MemoryStore::new();
//! fleet_core::conformance::store::run_all(&store).await;
//! # });
//! ```

use crate::Location;
use crate::fleet_spec::{DesiredCluster, EnvironmentRequest};
use crate::store::{
    AcceptedEnvironment, ActiveCluster, IntentOperation, IntentOutcome, NewIntent, Placement, StateStore,
};
use crate::store::{MoveReport, RecordKind};
use crate::{
    Cluster, ClusterId, ClusterIdentity, ClusterPhase, ClusterSpec, NodePool, NodePoolName, ProviderName, Region,
    SizeClass, TeamName,
};

fn ok<T>(result: crate::Result<T>, doing: &str) -> T {
    result.unwrap_or_else(|err| panic!("store conformance: {doing} failed: {err}"))
}

fn id(name: &str) -> ClusterId {
    ClusterId::new(name).unwrap_or_else(|err| panic!("store conformance: {err}"))
}

fn identity(name: &str) -> ClusterIdentity {
    ClusterIdentity::of(&id(name))
}

fn spec(name: &str) -> ClusterSpec {
    let pool = NodePool::new(NodePoolName::new("workers").unwrap_or_else(|e| panic!("{e}")), SizeClass::Small, 1, 2)
        .unwrap_or_else(|e| panic!("{e}"));
    ClusterSpec::builder(
        id(name),
        ProviderName::new("p").unwrap_or_else(|e| panic!("{e}")),
        Region::new("r").unwrap_or_else(|e| panic!("{e}")),
        crate::KubernetesVersion::new(1, 31, None),
    )
    .node_pool(pool)
    .label("app", "x")
    .build()
    .unwrap_or_else(|err| panic!("store conformance: {err}"))
}

/// A time of the caller's clock far from the machine's (a simulation's, say), in whole
/// milliseconds: what stores keep must be the caller's, never their own clock's.
fn caller_time() -> std::time::SystemTime {
    std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_234_567_890_123)
}

/// Intents are numbered in order, stamped with the caller's time, kept with their spec, and leave the pending list once
/// resolved; resolving an unknown intent is an error.
pub async fn intents_round_trip(store: &dyn StateStore) {
    let create = NewIntent::new(id("sc-a"), IntentOperation::Create, 1, Some(spec("sc-a")));
    let delete = NewIntent::new(id("sc-b"), IntentOperation::Delete, 2, None);
    let first = ok(store.record_intent(create.clone(), caller_time()).await, "record intent");
    let second = ok(store.record_intent(delete.clone(), caller_time()).await, "record intent");
    assert!(second > first, "store conformance: intent ids must increase");
    let recorded = ok(store.intents().await, "intents");
    assert!(
        recorded.iter().all(|intent| intent.recorded_at == caller_time()),
        "store conformance: an intent is stamped with the caller's time, not the store's clock"
    );
    let pending = ok(store.pending_intents().await, "pending intents");
    assert_eq!(
        pending.iter().map(|i| &i.intent).collect::<Vec<_>>(),
        [&create, &delete],
        "store conformance: pending intents"
    );
    ok(store.resolve_intent(first, IntentOutcome::Succeeded).await, "resolve intent");
    let pending = ok(store.pending_intents().await, "pending intents");
    assert_eq!(pending.len(), 1, "store conformance: a resolved intent is still pending");
    assert_eq!(pending[0].id, second);
    let all = ok(store.intents().await, "intents");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].outcome, Some(IntentOutcome::Succeeded), "store conformance: the outcome is not kept");
    assert!(
        store.resolve_intent(u64::MAX / 2, IntentOutcome::Succeeded).await.is_err(),
        "store conformance: resolving an unknown intent must fail"
    );
    ok(store.resolve_intent(second, IntentOutcome::Failed { reason: "quota".into() }).await, "resolve intent");
    assert!(ok(store.pending_intents().await, "pending intents").is_empty());
}

/// Observations replace earlier ones, list in id order, and can be removed.
pub async fn observed_put_replace_remove(store: &dyn StateStore) {
    let cluster = |name: &str, phase: ClusterPhase| {
        Cluster::new(
            id(name),
            ProviderName::new("p").unwrap_or_else(|e| panic!("{e}")),
            format!("p/{name}"),
            Region::new("r").unwrap_or_else(|e| panic!("{e}")),
            phase,
        )
    };
    ok(store.put_observed(&cluster("so-b", ClusterPhase::Creating)).await, "put observed");
    ok(store.put_observed(&cluster("so-a", ClusterPhase::Running)).await, "put observed");
    ok(store.put_observed(&cluster("so-b", ClusterPhase::Running)).await, "replace observed");
    let observed = ok(store.observed().await, "observed");
    let ids: Vec<_> = observed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["so-a", "so-b"], "store conformance: observations must be ordered by id, one per cluster");
    assert_eq!(observed[1].phase, ClusterPhase::Running, "store conformance: the later observation wins");
    ok(store.remove_observed(&id("so-a")).await, "remove observed");
    ok(store.remove_observed(&id("so-missing")).await, "remove a missing observation");
    assert_eq!(ok(store.observed().await, "observed").len(), 1);
    ok(store.remove_observed(&id("so-b")).await, "remove observed");
}

/// Events are numbered in order and read back after a position.
pub async fn events_are_sequenced(store: &dyn StateStore) {
    let start = ok(store.events_after(0).await, "events").last().map_or(0, |e| e.seq);
    let a = ok(
        store.append_event(RecordKind::ClusterAdopted, Some(&id("se-a")), "ready", caller_time()).await,
        "append event",
    );
    let b =
        ok(store.append_event(RecordKind::GarbageCollected, None, "3 to create", caller_time()).await, "append event");
    assert!(b > a && a > start, "store conformance: event numbers must increase");
    let unknown = RecordKind::Other("cluster_teleported".into());
    let c = ok(store.append_event(unknown.clone(), None, "written by another version", caller_time()).await, "append");
    let after = ok(store.events_after(a).await, "events after");
    assert_eq!(after.len(), 2);
    assert_eq!(
        (&after[0].kind, after[0].cluster.as_ref(), after[0].message.as_str()),
        (&RecordKind::GarbageCollected, None, "3 to create")
    );
    assert_eq!((after[1].seq, &after[1].kind), (c, &unknown), "store conformance: an unknown kind is kept as stored");
    assert_eq!(after[0].at, caller_time(), "store conformance: an event is stamped with the caller's time");
}

/// Placements are written by compare-and-swap on their generation: a write or removal naming a
/// stale generation fails with `Conflict` and changes nothing.
pub async fn placements_are_fenced(store: &dyn StateStore) {
    let at = |region: &str| {
        Location::new(
            ProviderName::new("p").unwrap_or_else(|e| panic!("{e}")),
            Region::new(region).unwrap_or_else(|e| panic!("{e}")),
        )
    };
    let new = Placement::new(identity("sp-a"), at("east"));
    let first = ok(store.write_placement(&new).await, "write a new placement");
    assert_eq!(first.generation, 1, "store conformance: a new placement is stored at generation 1");
    assert!(
        matches!(store.write_placement(&new).await, Err(crate::Error::Conflict { .. })),
        "store conformance: writing a placement that exists as if it were new must conflict"
    );
    let mut moved = first.clone();
    moved.home = Some(at("east"));
    moved.location = at("west");
    moved.active = Some(ActiveCluster::new(id("sp-a"), at("east")));
    let second = ok(store.write_placement(&moved).await, "move a placement");
    assert_eq!(second.generation, 2);
    assert!(second.is_relocated());
    let mut stale = first.clone();
    stale.location = at("north");
    assert!(
        matches!(store.write_placement(&stale).await, Err(crate::Error::Conflict { .. })),
        "store conformance: a write at a stale generation must conflict"
    );
    ok(store.write_placement(&Placement::new(identity("sp-b"), at("east"))).await, "write a second placement");
    let stored = ok(store.placements().await, "placements");
    assert_eq!(stored.iter().map(|p| p.identity.as_str()).collect::<Vec<_>>(), ["sp-a", "sp-b"]);
    assert_eq!(stored[0], second, "store conformance: the last successful write is kept whole");
    assert_eq!(ok(store.placement(&identity("sp-a")).await, "placement"), Some(second));
    assert_eq!(ok(store.placement(&identity("sp-missing")).await, "placement"), None);
    assert!(
        matches!(store.remove_placement(&identity("sp-a"), 1).await, Err(crate::Error::Conflict { .. })),
        "store conformance: removing at a stale generation must conflict"
    );
    ok(store.remove_placement(&identity("sp-a"), 2).await, "remove a placement");
    ok(store.remove_placement(&identity("sp-a"), 2).await, "remove a missing placement");
    ok(store.remove_placement(&identity("sp-b"), 1).await, "remove a placement");
    assert!(ok(store.placements().await, "placements").is_empty());
}

/// Accepted environments are kept whole (request, cluster, time) until removed, listed by id,
/// replaced by id; removing a missing one succeeds.
pub async fn environments_are_kept_until_removed(store: &dyn StateStore) {
    let environment = |name: &str, workers: i64| {
        let request = EnvironmentRequest::new(
            id(name),
            TeamName::new("payments").unwrap_or_else(|e| panic!("{e}")),
            "dev",
            ProviderName::new("p").unwrap_or_else(|e| panic!("{e}")),
            Region::new("r").unwrap_or_else(|e| panic!("{e}")),
        )
        .with_variable("workers", workers);
        AcceptedEnvironment::new(request, DesiredCluster::new(spec(name), format!("request/{name}"), 0), caller_time())
    };
    assert!(ok(store.environments().await, "environments").is_empty());
    ok(store.put_environment(&environment("sv-b", 1)).await, "put an environment");
    ok(store.put_environment(&environment("sv-a", 1)).await, "put an environment");
    ok(store.put_environment(&environment("sv-a", 3)).await, "replace an environment");
    let stored = ok(store.environments().await, "environments");
    assert_eq!(stored, [environment("sv-a", 3), environment("sv-b", 1)], "store conformance: environments by id");
    ok(store.remove_environment(&id("sv-a")).await, "remove an environment");
    ok(store.remove_environment(&id("sv-a")).await, "remove a missing environment");
    assert_eq!(ok(store.environments().await, "environments"), [environment("sv-b", 1)]);
    ok(store.remove_environment(&id("sv-b")).await, "remove an environment");
}

/// Failover moves are kept whole, ordered by when they started, then identity; a move written
/// again (finished, failed back) replaces its record.
pub async fn failover_moves_are_kept_in_order(store: &dyn StateStore) {
    let location = |region: &str| {
        Location::new(
            ProviderName::new("p").unwrap_or_else(|e| panic!("{e}")),
            Region::new(region).unwrap_or_else(|e| panic!("{e}")),
        )
    };
    let minute = std::time::Duration::from_secs(60);
    let report = |name: &str, started_minutes: u32, finished: bool| MoveReport {
        identity: identity(name),
        started_at: caller_time() + minute * started_minutes,
        template: "template/web".into(),
        priority: 10,
        from: location("east"),
        to: location("west"),
        detection: minute,
        decided_after: minute * 2,
        create_time: finished.then_some(minute * 5),
        recovery_time: finished.then_some(minute * 7),
        lower_bound: minute * 6,
        rto: minute * 20,
        failed_back: false,
    };
    assert!(ok(store.failover_moves().await, "failover moves").is_empty());
    ok(store.put_failover_move(&report("sf-b", 1, false)).await, "put a failover move");
    ok(store.put_failover_move(&report("sf-a", 2, false)).await, "put a failover move");
    ok(store.put_failover_move(&report("sf-c", 1, false)).await, "put a failover move");
    ok(store.put_failover_move(&report("sf-b", 1, true)).await, "put a finished failover move");
    let kept = ok(store.failover_moves().await, "failover moves");
    assert_eq!(
        kept,
        [report("sf-b", 1, true), report("sf-c", 1, false), report("sf-a", 2, false)],
        "store conformance: failover moves by start, then identity, each once"
    );
}

/// Runs every check against an empty store.
pub async fn run_all(store: &dyn StateStore) {
    intents_round_trip(store).await;
    observed_put_replace_remove(store).await;
    events_are_sequenced(store).await;
    placements_are_fenced(store).await;
    environments_are_kept_until_removed(store).await;
    failover_moves_are_kept_in_order(store).await;
}
