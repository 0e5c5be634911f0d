//! The state stores: the conformance suite on memory and SQLite, and what only a file can do:
//! survive a reopen, migrate, refuse a newer schema, and keep fleets apart.

use fleet_core::conformance::store::run_all;
use fleet_core::store::{IntentOperation, MemoryStore, NewIntent, SqliteStore, StateStore};
use fleet_core::{ClusterId, FleetName};

fn temp_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.db")
}

#[tokio::test]
async fn memory_store_passes_the_suite() {
    run_all(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_store_passes_the_suite() {
    let store = SqliteStore::open(temp_file("suite"), &FleetName::new("f").unwrap()).await.unwrap();
    run_all(&store).await;
}

#[tokio::test]
async fn sqlite_keeps_everything_across_a_reopen() {
    let path = temp_file("reopen");
    let fleet = FleetName::new("f").unwrap();
    let store = SqliteStore::open(&path, &fleet).await.unwrap();
    let id = store
        .record_intent(
            NewIntent::new(ClusterId::new("c").unwrap(), IntentOperation::Create, 1, None),
            std::time::SystemTime::now(),
        )
        .await
        .unwrap();
    store
        .append_event(fleet_core::store::RecordKind::Other("x".into()), None, "y", std::time::SystemTime::now())
        .await
        .unwrap();
    drop(store);
    let reopened = SqliteStore::open(&path, &fleet).await.unwrap();
    let pending = reopened.pending_intents().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, id);
    assert_eq!(reopened.events_after(0).await.unwrap().len(), 1);
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version as usize, SqliteStore::SCHEMA_VERSION);
    let mode: String =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn sqlite_refuses_a_newer_schema() {
    let path = temp_file("newer");
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = SqliteStore::open(&path, &FleetName::new("f").unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

#[tokio::test]
async fn fleets_sharing_a_file_do_not_see_each_other() {
    let path = temp_file("shared");
    let a = SqliteStore::open(&path, &FleetName::new("a").unwrap()).await.unwrap();
    let b = SqliteStore::open(&path, &FleetName::new("b").unwrap()).await.unwrap();
    a.record_intent(
        NewIntent::new(ClusterId::new("c").unwrap(), IntentOperation::Create, 1, None),
        std::time::SystemTime::now(),
    )
    .await
    .unwrap();
    assert!(b.pending_intents().await.unwrap().is_empty());
    assert_eq!(a.pending_intents().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_tampered_file_gives_errors_naming_the_store_never_a_panic() {
    let path = temp_file("tampered");
    let fleet = FleetName::new("f").unwrap();
    let store = SqliteStore::open(&path, &fleet).await.unwrap();
    store
        .record_intent(
            NewIntent::new(ClusterId::new("c").unwrap(), IntentOperation::Create, 1, None),
            std::time::SystemTime::now(),
        )
        .await
        .unwrap();
    drop(store);
    let hostile = [
        "not json",
        "{\"id\": 1, \"provider\": [], \"phase\": 7}",
        "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}",
        "\u{0}\u{1}\u{2}",
        "null",
    ];
    for (n, body) in hostile.iter().enumerate() {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute("DELETE FROM observed", []).unwrap();
        db.execute("DELETE FROM placements", []).unwrap();
        db.execute("INSERT INTO observed (fleet, cluster, body) VALUES ('f', ?1, ?2)", (format!("x{n}"), body))
            .unwrap();
        db.execute("INSERT INTO placements (fleet, identity, generation, body) VALUES ('f', 'p', 1, ?1)", [body])
            .unwrap();
        db.execute("UPDATE intents SET spec = ?1, operation = ?2, outcome = NULL", (body, format!("op{n}"))).unwrap();
        drop(db);
        let store = SqliteStore::open(&path, &fleet).await.unwrap();
        for (what, result) in [
            ("observed", store.observed().await.map(|_| ())),
            ("placements", store.placements().await.map(|_| ())),
            ("intents", store.intents().await.map(|_| ())),
            ("pending intents", store.pending_intents().await.map(|_| ())),
        ] {
            let err = result.expect_err(what);
            assert!(err.to_string().contains("state store"), "{what} of {body:?}: {err}");
        }
    }
}

#[tokio::test]
async fn sqlite_counts_the_rows_it_writes_and_a_steady_pass_writes_none() {
    use fleet_core::engine::Engine;
    use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
    use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud};
    use fleet_core::{ClusterSpec, NodePool, NodePoolName, ProviderName, Region, SizeClass};
    use std::sync::Arc;

    let fleet = FleetName::new("f").unwrap();
    let store = Arc::new(SqliteStore::open(temp_file("rows"), &fleet).await.unwrap());
    assert_eq!(store.rows_written(), 0);
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .build();
    let clusters = (0..20)
        .map(|index| {
            let spec = ClusterSpec::builder(
                ClusterId::new(format!("c{index}")).unwrap(),
                ProviderName::new("sim").unwrap(),
                Region::new("east").unwrap(),
                "1.34".parse().unwrap(),
            )
            .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
            .build()
            .unwrap();
            DesiredCluster::new(spec, "web", 0)
        })
        .collect();
    let engine = Engine::builder(fleet.clone())
        .provider(Arc::new(cloud.provider(fleet.clone())))
        .store(store.clone())
        .build()
        .unwrap();
    engine.set_desired(DesiredFleet::new(fleet, clusters)).unwrap();
    let mut converged = false;
    for _ in 0..10 {
        if engine.run_once().await.unwrap().converged {
            converged = true;
            break;
        }
    }
    assert!(converged, "the fleet converges");
    let after_creating = store.rows_written();
    assert!(after_creating >= 20, "every cluster was written: {after_creating}");
    assert!(engine.run_once().await.unwrap().converged);
    assert_eq!(store.rows_written(), after_creating, "a steady pass writes nothing");
}
