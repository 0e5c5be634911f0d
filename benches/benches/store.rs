//! State store throughput: one intent recorded and resolved (two writes), and one observation
//! stored, on the memory store, SQLite, and etcd when `FLEET_ETCD_ENDPOINT` names one
//! (e.g. `http://127.0.0.1:2379`).

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use fleet::model::{ClusterId, FleetName};
use fleet::store::{IntentOperation, IntentOutcome, MemoryStore, NewIntent, SqliteStore, StateStore};

fn journal(c: &mut Criterion, name: &str, store: Arc<dyn StateStore>, runtime: &tokio::runtime::Runtime) {
    let id = ClusterId::new("bench-1").expect("valid id");
    c.bench_function(&format!("store/{name}: record and resolve an intent"), |b| {
        b.iter(|| {
            runtime.block_on(async {
                let intent = NewIntent::new(id.clone(), IntentOperation::Delete, 1, None);
                let recorded = store.record_intent(intent, std::time::SystemTime::now()).await.expect("record");
                store.resolve_intent(recorded, IntentOutcome::Succeeded).await.expect("resolve");
            })
        })
    });
}

fn stores(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let fleet = FleetName::new(format!("bench-{}", std::process::id())).expect("valid name");
    journal(c, "memory", Arc::new(MemoryStore::new()), &runtime);
    let dir = std::env::temp_dir().join(format!("fleet-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sqlite = runtime.block_on(SqliteStore::open(&dir.join("state.db"), &fleet)).expect("sqlite");
    journal(c, "sqlite", Arc::new(sqlite), &runtime);
    match std::env::var("FLEET_ETCD_ENDPOINT") {
        Ok(endpoint) => {
            let etcd = runtime.block_on(fleet::etcd::EtcdStore::connect(&[endpoint], &fleet)).expect("etcd");
            journal(c, "etcd", Arc::new(etcd), &runtime);
        }
        Err(_) => println!("store/etcd: skipped (set FLEET_ETCD_ENDPOINT to an etcd to measure it)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, stores);
criterion_main!(benches);
