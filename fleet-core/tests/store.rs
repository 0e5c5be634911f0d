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
        .record_intent(NewIntent::new(ClusterId::new("c").unwrap(), IntentOperation::Create, 1, None))
        .await
        .unwrap();
    store.append_event("x", None, "y").await.unwrap();
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
    a.record_intent(NewIntent::new(ClusterId::new("c").unwrap(), IntentOperation::Create, 1, None)).await.unwrap();
    assert!(b.pending_intents().await.unwrap().is_empty());
    assert_eq!(a.pending_intents().await.unwrap().len(), 1);
}
