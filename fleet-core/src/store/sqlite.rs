//! [`SqliteStore`]: the embedded default state store, one SQLite file (bundled SQLite, WAL).
//!
//! Every call runs on tokio's blocking pool, never on an async worker thread. The schema is
//! versioned with `PRAGMA user_version` and migrated forward when opened.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::placement::stale_generation;
use super::{
    AcceptedEnvironment, EventRecord, Intent, IntentOperation, IntentOutcome, NewIntent, Placement, StateStore,
    move_key, store_error,
};
use super::{MoveReport, RecordKind};
use crate::{Cluster, ClusterId, ClusterIdentity, FleetName, Result};

/// Schema migrations, in order; the schema version is the number applied.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE intents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        fleet TEXT NOT NULL,
        cluster TEXT NOT NULL,
        operation TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        spec TEXT,
        recorded_at_ms INTEGER NOT NULL,
        outcome TEXT
    );
    CREATE INDEX intents_pending ON intents (fleet, outcome);
    CREATE TABLE observed (
        fleet TEXT NOT NULL,
        cluster TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (fleet, cluster)
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        fleet TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        cluster TEXT,
        message TEXT NOT NULL
    );",
    "CREATE TABLE placements (
        fleet TEXT NOT NULL,
        identity TEXT NOT NULL,
        generation INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (fleet, identity)
    );",
    "CREATE TABLE environments (
        fleet TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (fleet, id)
    );",
    "CREATE TABLE failover_moves (
        fleet TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        identity TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (fleet, started_ms, identity)
    );",
];

/// A state store in one SQLite file, shared safely by several fleets (rows carry the fleet).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    fleet: String,
    path: PathBuf,
    /// Whether calls run on the calling thread (see [`SqliteStore::in_caller_thread`]).
    inline: bool,
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn from_millis(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

fn migrate(connection: &mut Connection) -> rusqlite::Result<std::result::Result<(), String>> {
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Ok(Err(format!("the file has schema version {version}, this build knows up to {known}")));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", index as i64 + 1)?;
        transaction.commit()?;
    }
    Ok(Ok(()))
}

impl SqliteStore {
    /// The current schema version.
    pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

    /// Opens (creating if needed) the store at `path` for `fleet`, migrating its schema.
    pub async fn open(path: impl AsRef<Path>, fleet: &FleetName) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let opened = path.clone();
        let connection = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let fail = |err: rusqlite::Error| store_error(&format!("open {shown}"), err);
            let mut connection = Connection::open(&opened).map_err(fail)?;
            connection.pragma_update(None, "journal_mode", "WAL").map_err(fail)?;
            connection.pragma_update(None, "synchronous", "FULL").map_err(fail)?;
            connection.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
            migrate(&mut connection).map_err(fail)?.map_err(|reason| store_error(&format!("open {shown}"), reason))?;
            Ok(connection)
        })
        .await
        .map_err(|err| store_error("open", err))??;
        Ok(Self { connection: Arc::new(Mutex::new(connection)), fleet: fleet.to_string(), path, inline: false })
    }

    /// This store with every call run on the calling thread instead of tokio's blocking pool:
    /// for simulations on a current-thread runtime under a paused clock, where the order in
    /// which blocking threads finish would make runs differ. It blocks the async thread for
    /// each call, so it is not for services.
    pub fn in_caller_thread(mut self) -> Self {
        self.inline = true;
        self
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows inserted, changed or deleted through this store since it was opened (SQLite's
    /// `total_changes`): what a pass wrote. It waits for a call in progress to end.
    pub fn rows_written(&self) -> u64 {
        crate::mutex::lock(&self.connection).total_changes()
    }

    /// Runs `work` on the blocking pool with the connection.
    async fn blocking<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce(&mut Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        if self.inline {
            let mut connection = crate::mutex::lock(&self.connection);
            return work(&mut connection, &self.fleet).map_err(|err| store_error(what, err));
        }
        let connection = Arc::clone(&self.connection);
        let fleet = self.fleet.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = crate::mutex::lock(&connection);
            work(&mut connection, &fleet)
        })
        .await
        .map_err(|err| store_error(what, err))?
        .map_err(|err| store_error(what, err))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))
}

fn from_json<T: serde::de::DeserializeOwned>(column: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text)
        .map_err(|err| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(err)))
}

fn intent_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Intent> {
    let invalid = |column: usize, what: String| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, what.into())
    };
    let cluster: String = row.get(1)?;
    let operation: String = row.get(2)?;
    let spec: Option<String> = row.get(4)?;
    let outcome: Option<String> = row.get(6)?;
    Ok(Intent {
        id: row.get::<_, i64>(0)? as u64,
        intent: NewIntent {
            cluster: ClusterId::new(cluster).map_err(|err| invalid(1, err.to_string()))?,
            operation: IntentOperation::parse(&operation)
                .ok_or_else(|| invalid(2, format!("operation `{operation}`")))?,
            attempt: row.get::<_, i64>(3)? as u32,
            spec: spec.map(|text| from_json(4, &text)).transpose()?,
        },
        recorded_at: from_millis(row.get(5)?),
        outcome: outcome.map(|text| from_json(6, &text)).transpose()?,
    })
}

/// The stored generation of `identity`'s placement, 0 when none is stored.
fn stored_generation(connection: &Connection, fleet: &str, identity: &ClusterIdentity) -> rusqlite::Result<u64> {
    connection
        .query_row(
            "SELECT generation FROM placements WHERE fleet = ?1 AND identity = ?2",
            params![fleet, identity.as_str()],
            |row| row.get::<_, i64>(0),
        )
        .optional()
        .map(|generation| generation.map_or(0, |g| g.max(0) as u64))
}

const INTENT_COLUMNS: &str = "id, cluster, operation, attempt, spec, recorded_at_ms, outcome";

#[async_trait]
impl StateStore for SqliteStore {
    async fn record_intent(&self, intent: NewIntent, at: SystemTime) -> Result<u64> {
        self.blocking("record intent", move |connection, fleet| {
            let spec = intent.spec.as_ref().map(to_json).transpose()?;
            connection.execute(
                "INSERT INTO intents (fleet, cluster, operation, attempt, spec, recorded_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![fleet, intent.cluster.as_str(), intent.operation.as_str(), intent.attempt, spec, millis(at)],
            )?;
            Ok(connection.last_insert_rowid() as u64)
        })
        .await
    }

    async fn resolve_intent(&self, id: u64, outcome: IntentOutcome) -> Result<()> {
        let changed = self
            .blocking("resolve intent", move |connection, fleet| {
                connection.execute(
                    "UPDATE intents SET outcome = ?1 WHERE id = ?2 AND fleet = ?3",
                    params![to_json(&outcome)?, id as i64, fleet],
                )
            })
            .await?;
        if changed == 0 {
            return Err(store_error("resolve intent", format!("no intent {id}")));
        }
        Ok(())
    }

    async fn pending_intents(&self) -> Result<Vec<Intent>> {
        self.blocking("pending intents", |connection, fleet| {
            let mut statement = connection.prepare(&format!(
                "SELECT {INTENT_COLUMNS} FROM intents WHERE fleet = ?1 AND outcome IS NULL ORDER BY id"
            ))?;
            statement.query_map([fleet], intent_from_row)?.collect()
        })
        .await
    }

    async fn intents(&self) -> Result<Vec<Intent>> {
        self.blocking("intents", |connection, fleet| {
            let mut statement =
                connection.prepare(&format!("SELECT {INTENT_COLUMNS} FROM intents WHERE fleet = ?1 ORDER BY id"))?;
            statement.query_map([fleet], intent_from_row)?.collect()
        })
        .await
    }

    async fn put_observed(&self, cluster: &Cluster) -> Result<()> {
        let cluster = cluster.clone();
        self.blocking("put observed", move |connection, fleet| {
            connection.execute(
                "INSERT INTO observed (fleet, cluster, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (fleet, cluster) DO UPDATE SET body = excluded.body",
                params![fleet, cluster.id.as_str(), to_json(&cluster)?],
            )?;
            Ok(())
        })
        .await
    }

    async fn remove_observed(&self, id: &ClusterId) -> Result<()> {
        let id = id.clone();
        self.blocking("remove observed", move |connection, fleet| {
            connection
                .execute("DELETE FROM observed WHERE fleet = ?1 AND cluster = ?2", params![fleet, id.as_str()])?;
            Ok(())
        })
        .await
    }

    async fn observed(&self) -> Result<Vec<Cluster>> {
        self.blocking("observed", |connection, fleet| {
            let mut statement = connection.prepare("SELECT body FROM observed WHERE fleet = ?1 ORDER BY cluster")?;
            statement.query_map([fleet], |row| from_json(0, &row.get::<_, String>(0)?))?.collect()
        })
        .await
    }

    async fn append_event(
        &self,
        kind: RecordKind,
        cluster: Option<&ClusterId>,
        message: &str,
        at: SystemTime,
    ) -> Result<u64> {
        let (kind, cluster, message) = (String::from(kind), cluster.map(|c| c.to_string()), message.to_owned());
        self.blocking("append event", move |connection, fleet| {
            connection.execute(
                "INSERT INTO events (fleet, at_ms, kind, cluster, message) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![fleet, millis(at), kind, cluster, message],
            )?;
            Ok(connection.last_insert_rowid() as u64)
        })
        .await
    }

    async fn events_after(&self, after: u64) -> Result<Vec<EventRecord>> {
        self.blocking("events", move |connection, fleet| {
            let mut statement = connection.prepare(
                "SELECT seq, at_ms, kind, cluster, message FROM events WHERE fleet = ?1 AND seq > ?2 ORDER BY seq",
            )?;
            statement
                .query_map(params![fleet, after as i64], |row| {
                    let cluster: Option<String> = row.get(3)?;
                    Ok(EventRecord {
                        seq: row.get::<_, i64>(0)? as u64,
                        at: from_millis(row.get(1)?),
                        kind: RecordKind::from(row.get::<_, String>(2)?),
                        cluster: cluster.and_then(|c| ClusterId::new(c).ok()),
                        message: row.get(4)?,
                    })
                })?
                .collect()
        })
        .await
    }

    async fn placements(&self) -> Result<Vec<Placement>> {
        self.blocking("placements", |connection, fleet| {
            let mut statement = connection.prepare("SELECT body FROM placements WHERE fleet = ?1 ORDER BY identity")?;
            statement.query_map([fleet], |row| from_json(0, &row.get::<_, String>(0)?))?.collect()
        })
        .await
    }

    async fn placement(&self, identity: &ClusterIdentity) -> Result<Option<Placement>> {
        let identity = identity.clone();
        self.blocking("placement", move |connection, fleet| {
            connection
                .query_row(
                    "SELECT body FROM placements WHERE fleet = ?1 AND identity = ?2",
                    params![fleet, identity.as_str()],
                    |row| from_json(0, &row.get::<_, String>(0)?),
                )
                .optional()
        })
        .await
    }

    async fn write_placement(&self, placement: &Placement) -> Result<Placement> {
        let placement = placement.clone();
        self.blocking("write placement", move |connection, fleet| {
                let transaction = connection.transaction()?;
                let stored = stored_generation(&transaction, fleet, &placement.identity)?;
                if stored != placement.generation {
                    return Ok(Err(stale_generation(&placement.identity, placement.generation, stored)));
                }
                let written = Placement { generation: stored + 1, ..placement };
                transaction.execute(
                    "INSERT INTO placements (fleet, identity, generation, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (fleet, identity) DO UPDATE SET generation = excluded.generation, body = excluded.body",
                    params![fleet, written.identity.as_str(), written.generation as i64, to_json(&written)?],
                )?;
                transaction.commit()?;
                Ok(Ok(written))
            })
            .await?
    }

    async fn remove_placement(&self, identity: &ClusterIdentity, generation: u64) -> Result<()> {
        let identity = identity.clone();
        self.blocking("remove placement", move |connection, fleet| {
            let transaction = connection.transaction()?;
            let stored = stored_generation(&transaction, fleet, &identity)?;
            if stored == 0 {
                return Ok(Ok(()));
            }
            if stored != generation {
                return Ok(Err(stale_generation(&identity, generation, stored)));
            }
            transaction.execute(
                "DELETE FROM placements WHERE fleet = ?1 AND identity = ?2",
                params![fleet, identity.as_str()],
            )?;
            transaction.commit()?;
            Ok(Ok(()))
        })
        .await?
    }

    async fn put_environment(&self, environment: &AcceptedEnvironment) -> Result<()> {
        let environment = environment.clone();
        self.blocking("put environment", move |connection, fleet| {
            connection.execute(
                "INSERT INTO environments (fleet, id, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (fleet, id) DO UPDATE SET body = excluded.body",
                params![fleet, environment.id().as_str(), to_json(&environment)?],
            )?;
            Ok(())
        })
        .await
    }

    async fn remove_environment(&self, id: &ClusterId) -> Result<()> {
        let id = id.clone();
        self.blocking("remove environment", move |connection, fleet| {
            connection.execute("DELETE FROM environments WHERE fleet = ?1 AND id = ?2", params![fleet, id.as_str()])?;
            Ok(())
        })
        .await
    }

    async fn environments(&self) -> Result<Vec<AcceptedEnvironment>> {
        self.blocking("environments", |connection, fleet| {
            let mut statement = connection.prepare("SELECT body FROM environments WHERE fleet = ?1 ORDER BY id")?;
            statement.query_map([fleet], |row| from_json(0, &row.get::<_, String>(0)?))?.collect()
        })
        .await
    }

    async fn put_failover_move(&self, report: &MoveReport) -> Result<()> {
        let report = report.clone();
        self.blocking("put failover move", move |connection, fleet| {
            let (started, identity) = move_key(&report);
            connection.execute(
                "INSERT INTO failover_moves (fleet, started_ms, identity, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (fleet, started_ms, identity) DO UPDATE SET body = excluded.body",
                params![fleet, started as i64, identity.as_str(), to_json(&report)?],
            )?;
            Ok(())
        })
        .await
    }

    async fn failover_moves(&self) -> Result<Vec<MoveReport>> {
        self.blocking("failover moves", |connection, fleet| {
            let mut statement =
                connection.prepare("SELECT body FROM failover_moves WHERE fleet = ?1 ORDER BY started_ms, identity")?;
            statement.query_map([fleet], |row| from_json(0, &row.get::<_, String>(0)?))?.collect()
        })
        .await
    }
}
