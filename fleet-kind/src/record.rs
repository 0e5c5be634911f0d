//! What Fleet remembers of each Kind cluster, one JSON file per cluster in the provider's state
//! directory: Kind itself keeps no tags, node pools or timestamps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fleet_core::{ClusterId, Error, KubernetesVersion, NodePool, Result};
use serde::{Deserialize, Serialize};

/// One cluster's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClusterRecord {
    pub(crate) id: ClusterId,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) kubernetes_version: KubernetesVersion,
    pub(crate) node_pools: Vec<NodePool>,
    pub(crate) endpoint: Option<String>,
    pub(crate) created_at_ms: u64,
}

impl ClusterRecord {
    pub(crate) fn created_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.created_at_ms)
    }
}

/// The records of one state directory.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    dir: PathBuf,
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
}

pub(crate) fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::Provider { message: format!("{}: {err}", path.display()), source: None }
}
