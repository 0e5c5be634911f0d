//! What Fleet remembers of each Kind cluster, one JSON file per cluster in the provider's state
//! directory: Kind itself keeps no tags, node pools or timestamps. Also the per-cluster locks
//! that serialize Fleet's changes to one cluster across threads and processes.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fleet_core::{ClusterId, Error, KubernetesVersion, NodePool, Result};
use serde::{Deserialize, Serialize};

/// Where a cluster's life stands, as far as Fleet has run `kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum RecordStatus {
    /// `kind create cluster` was started and has not finished (or was interrupted).
    Creating,
    /// The cluster was created.
    #[default]
    Running,
    /// `kind delete cluster` was started and has not finished (or was interrupted).
    Deleting,
}

/// One cluster's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClusterRecord {
    pub(crate) id: ClusterId,
    /// Every tag of the cluster: Fleet's tags and the spec's labels.
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) kubernetes_version: KubernetesVersion,
    pub(crate) node_pools: Vec<NodePool>,
    pub(crate) endpoint: Option<String>,
    pub(crate) created_at_ms: u64,
    /// When Fleet last changed the cluster; records written before this field existed read
    /// as never changed since creation.
    #[serde(default)]
    pub(crate) updated_at_ms: Option<u64>,
    #[serde(default)]
    pub(crate) status: RecordStatus,
}

impl ClusterRecord {
    pub(crate) fn created_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.created_at_ms)
    }

    pub(crate) fn updated_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.updated_at_ms.unwrap_or(self.created_at_ms))
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// The records of one state directory.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    dir: PathBuf,
}

/// Fleet's exclusive hold on one cluster, across threads and processes, until dropped (an
/// advisory lock on a file, which the system releases when the holder exits, however it
/// exits).
#[derive(Debug)]
pub(crate) struct ClusterLock {
    _file: File,
}

impl Records {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &ClusterId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Where the kind config of `id` is written.
    pub(crate) fn config_path(&self, id: &ClusterId) -> PathBuf {
        self.dir.join(format!("{id}.kind.json"))
    }

    /// The lock file of `id`. Lock files stay (one empty file per cluster id ever used):
    /// removing one while another caller waits on it would let two callers hold "the" lock.
    fn lock_path(&self, id: &ClusterId) -> PathBuf {
        self.dir.join("locks").join(format!("{id}.lock"))
    }

    /// The record of `id`, if one is kept; a record that cannot be read is an error naming
    /// the file.
    pub(crate) async fn read(&self, id: &ClusterId) -> Result<Option<ClusterRecord>> {
        let path = self.path(id);
        match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|err| Error::InvalidSpec {
                path: path.display().to_string(),
                reason: format!("not a Fleet record of a Kind cluster: {err}"),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_error(&path, err)),
        }
    }

    /// The ids of every record kept.
    pub(crate) async fn ids(&self) -> Result<Vec<ClusterId>> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io_error(&self.dir, err)),
        };
        let mut ids = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(|err| io_error(&self.dir, err))? {
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|name| name.strip_suffix(".json")) else { continue };
            // Cluster ids have no dots, so `<id>.kind.json` and staged files are skipped here.
            if let Ok(id) = ClusterId::new(stem) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Writes the record of a cluster (the whole file replaced at once).
    pub(crate) async fn write(&self, record: &ClusterRecord) -> Result<()> {
        tokio::fs::create_dir_all(&self.dir).await.map_err(|err| io_error(&self.dir, err))?;
        let path = self.path(&record.id);
        let staged = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(record)
            .map_err(|err| Error::Provider { message: format!("encoding a record: {err}"), source: None })?;
        tokio::fs::write(&staged, text).await.map_err(|err| io_error(&staged, err))?;
        tokio::fs::rename(&staged, &path).await.map_err(|err| io_error(&path, err))
    }

    /// Forgets a cluster: its record and its kind config.
    pub(crate) async fn remove(&self, id: &ClusterId) -> Result<()> {
        for path in [self.path(id), self.config_path(id)] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io_error(&path, err)),
            }
        }
        Ok(())
    }

    /// Waits for Fleet's exclusive hold on `id` (another thread or process changing the same
    /// cluster holds it until done).
    pub(crate) async fn lock(&self, id: &ClusterId) -> Result<ClusterLock> {
        let path = self.lock_path(id);
        tokio::task::spawn_blocking(move || {
            let file = open_lock_file(&path)?;
            file.lock().map_err(|err| io_error(&path, err))?;
            Ok(ClusterLock { _file: file })
        })
        .await
        .map_err(|err| Error::Provider { message: format!("waiting for a cluster lock: {err}"), source: None })?
    }

    /// Whether someone holds `id`'s lock now, that is, whether a change of the cluster is
    /// under way (a record saying "creating" without one means the creation was interrupted).
    pub(crate) async fn busy(&self, id: &ClusterId) -> Result<bool> {
        let path = self.lock_path(id);
        tokio::task::spawn_blocking(move || {
            let file = open_lock_file(&path)?;
            match file.try_lock() {
                Ok(()) => Ok(false),
                Err(std::fs::TryLockError::WouldBlock) => Ok(true),
                Err(std::fs::TryLockError::Error(err)) => Err(io_error(&path, err)),
            }
        })
        .await
        .map_err(|err| Error::Provider { message: format!("probing a cluster lock: {err}"), source: None })?
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|err| io_error(dir, err))?;
    }
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(|err| io_error(path, err))
}

pub(crate) fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::Provider { message: format!("{}: {err}", path.display()), source: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fleet-kind-records-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn a_held_lock_is_seen_as_busy_until_dropped() {
        let dir = temp_dir("lock");
        let records = Records::new(dir.clone());
        let id = ClusterId::new("dev-1").unwrap();
        assert!(!records.busy(&id).await.unwrap());
        let held = records.lock(&id).await.unwrap();
        assert!(records.busy(&id).await.unwrap(), "another open of the lock file sees it held");
        drop(held);
        assert!(!records.busy(&id).await.unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn records_round_trip_and_list_only_cluster_ids() {
        let dir = temp_dir("ids");
        let records = Records::new(dir.clone());
        let record = ClusterRecord {
            id: ClusterId::new("dev-2").unwrap(),
            tags: BTreeMap::from([("team".to_owned(), "payments".to_owned())]),
            kubernetes_version: "1.31".parse().unwrap(),
            node_pools: Vec::new(),
            endpoint: None,
            created_at_ms: 5,
            updated_at_ms: None,
            status: RecordStatus::Creating,
        };
        records.write(&record).await.unwrap();
        std::fs::write(records.config_path(&record.id), "{}").unwrap();
        assert_eq!(records.read(&record.id).await.unwrap(), Some(record.clone()));
        assert_eq!(records.ids().await.unwrap(), std::slice::from_ref(&record.id));
        assert_eq!(record.updated_at(), record.created_at());
        records.remove(&record.id).await.unwrap();
        assert!(records.ids().await.unwrap().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_record_without_status_reads_as_running() {
        let old =
            r#"{"id":"dev-3","tags":{},"kubernetes_version":"1.31","node_pools":[],"endpoint":null,"created_at_ms":1}"#;
        let record: ClusterRecord = serde_json::from_str(old).unwrap();
        assert_eq!(record.status, RecordStatus::Running);
    }
}
