//! Reloads the repository directory when its files change. It looks every few seconds at each
//! file's size and modification time (no file-system notification API, so it works the same on
//! every system and inside containers); a change reloads the runtime, and a repository with
//! errors is refused with them while the last good one stays in force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fleet::runtime::Runtime;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// The outcome of the reloads so far, for `/v1/status`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadState {
    /// Changes taken since the start.
    pub reloads: u64,
    /// Changes refused since the start.
    pub refused: u64,
    /// Why the repository as it is now was refused (file, line and field of each error); `None`
    /// when what is in force is what the files say.
    pub error: Option<String>,
}

/// Watches `dir` every `every` until `shutdown`, reloading `runtime` on each change and
/// recording the outcome in `state`.
pub async fn watch(
    runtime: Runtime,
    dir: PathBuf,
    every: Duration,
    state: Arc<Mutex<ReloadState>>,
    shutdown: CancellationToken,
) {
    let mut seen = fingerprint(&dir);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let now = fingerprint(&dir);
        if now == seen {
            continue;
        }
        seen = now;
        let outcome = runtime.reload();
        let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match outcome {
            Ok(()) => {
                state.reloads += 1;
                state.error = None;
                metrics::counter!("fleet_service_repository_reloads_total", "outcome" => "taken").increment(1);
                tracing::info!(dir = %dir.display(), "repository reloaded");
            }
            Err(errors) => {
                state.refused += 1;
                state.error = Some(errors.to_string());
                metrics::counter!("fleet_service_repository_reloads_total", "outcome" => "refused").increment(1);
                tracing::warn!(dir = %dir.display(), %errors, "repository change refused; the last good one stays");
            }
        }
    }
}

/// Each file under `dir` with its size and modification time, sorted; an unreadable entry
/// counts as a change of its own.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            files.push((next, u64::MAX, None));
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => pending.push(path),
                Ok(meta) => files.push((path, meta.len(), meta.modified().ok())),
                Err(_) => files.push((path, u64::MAX, None)),
            }
        }
    }
    files.sort();
    files
}
