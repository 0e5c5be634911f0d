//! State store throughput: intents recorded and resolved per second (two writes each) on the
//! memory store, SQLite, and etcd when `FLEET_ETCD_ENDPOINT` names one.

use std::sync::Arc;
use std::time::Instant;

use fleet::Result;
use fleet::model::{ClusterId, FleetName};
use fleet::store::{IntentOperation, IntentOutcome, MemoryStore, NewIntent, SqliteStore, StateStore};

use crate::table::Row;

async fn rate(store: &dyn StateStore, count: usize) -> Result<f64> {
    let id = ClusterId::new("bench-1")?;
    let started = Instant::now();
    for _ in 0..count {
        let recorded = store
            .record_intent(NewIntent::new(id.clone(), IntentOperation::Delete, 1, None), std::time::SystemTime::now())
            .await?;
        store.resolve_intent(recorded, IntentOutcome::Succeeded).await?;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Intents per second for each store, `count` each.
pub async fn store_rows(count: usize) -> Result<Vec<Row>> {
    let fleet = FleetName::new(format!("bench-{}", std::process::id()))?;
    let mut stores: Vec<(&str, Arc<dyn StateStore>)> = vec![("memory", Arc::new(MemoryStore::new()))];
    let dir = std::env::temp_dir().join(format!("fleet-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|err| fleet::Error::Unavailable { message: err.to_string() })?;
    stores.push(("SQLite (file, WAL)", Arc::new(SqliteStore::open(dir.join("state.db"), &fleet).await?)));
    let endpoint = std::env::var("FLEET_ETCD_ENDPOINT").ok();
    if let Some(endpoint) = &endpoint {
        stores
            .push(("etcd (local, one member)", Arc::new(fleet::etcd::EtcdStore::connect(&[endpoint], &fleet).await?)));
    }
    let mut rows = Vec::new();
    for (name, store) in stores {
        let per_second = rate(store.as_ref(), count).await?;
        rows.push(Row::info(
            format!("store: intents recorded and resolved per second, {name}"),
            format!("{per_second:.0}/s"),
        ));
    }
    if endpoint.is_none() {
        rows.push(Row::info("store: etcd", "not measured (set FLEET_ETCD_ENDPOINT)"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rows)
}
