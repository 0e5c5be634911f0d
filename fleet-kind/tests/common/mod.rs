//! A fake `kind` for tests: a small shell script, written into a temporary directory, that
//! records every call (one line of arguments each, in `calls.log`) and keeps its clusters as
//! files (each holding the kind config it was created with). It prints what kind prints.
//! [`FakeKindHooks`] are the conformance kit's hooks into it.

// Shared by several test binaries, each of which uses only a part.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use fleet_core::conformance::ConformanceHooks;
use fleet_core::{ClusterId, Error, FleetName, Region, Result};
use fleet_kind::KindProvider;

static NEXT: AtomicU32 = AtomicU32::new(0);

const SCRIPT: &str = r#"#!/usr/bin/env bash
# A fake `kind` written by Fleet's tests: records its arguments, keeps clusters as files.
set -u
state='@STATE@'
mkdir -p "$state/clusters"
printf '%s\n' "$*" >> "$state/calls.log"
# Failures planted by `fail_next_calls`: the container engine's daemon not answering.
if [ -e "$state/fail-next" ]; then
  exec 9>"$state/fail.lock"
  flock 9
  left=$(cat "$state/fail-next")
  if [ "${left:-0}" -gt 0 ]; then
    echo $((left - 1)) > "$state/fail-next"
    flock -u 9
    echo "ERROR: failed to list clusters: command \"docker ps -a --filter label=io.x-k8s.kind.cluster\" failed with error: exit status 1" >&2
    echo "Command Output: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
    exit 1
  fi
  flock -u 9
fi
name=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = "--name" ]; then name="${args[$((i + 1))]}"; fi
done
case "${1:-} ${2:-}" in
  "get clusters")
    if [ -z "$(ls -A "$state/clusters")" ]; then echo "No kind clusters found." >&2; exit 0; fi
    ls "$state/clusters"
    ;;
  "create cluster")
    if [ -e "$state/no-engine" ]; then
      echo 'ERROR: failed to create cluster: failed to get docker info: command "docker info --format '"'"'{{json .}}'"'"'" failed with error: exec: "docker": executable file not found in $PATH' >&2
      exit 1
    fi
    if [ -e "$state/clusters/$name" ]; then
      echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"$name\"" >&2
      exit 1
    fi
    config=""
    for ((i = 0; i < ${#args[@]}; i++)); do
      if [ "${args[$i]}" = "--config" ]; then config="${args[$((i + 1))]}"; fi
    done
    echo "Creating cluster \"$name\" ..." >&2
    if [ -e "$state/create-delay" ]; then sleep "$(cat "$state/create-delay")"; fi
    cp "$config" "$state/clusters/$name"
    ;;
  "get kubeconfig")
    if [ ! -e "$state/clusters/$name" ]; then
      echo "ERROR: could not locate any control plane nodes for cluster named '$name'" >&2
      exit 1
    fi
    port=$(( $(printf '%s' "$name" | cksum | cut -d' ' -f1) % 20000 + 30000 ))
    cat <<KUBECONFIG
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: RkFLRS1DQQ==
    server: https://127.0.0.1:$port
  name: kind-$name
contexts:
- context:
    cluster: kind-$name
    user: kind-$name
  name: kind-$name
current-context: kind-$name
kind: Config
preferences: {}
users:
- name: kind-$name
  user:
    client-certificate-data: RkFLRS1DRVJU
    client-key-data: RkFLRS1LRVk=
KUBECONFIG
    ;;
  "delete cluster")
    echo "Deleting cluster \"$name\" ..." >&2
    rm -f "$state/clusters/$name"
    ;;
  *)
    echo "ERROR: unknown command \"$*\" for \"kind\"" >&2
    exit 1
    ;;
esac
"#;

/// A fake `kind` in a directory of its own, removed when dropped.
pub struct FakeKind {
    pub root: PathBuf,
}

/// A hostile `kind`: whatever the command, it prints `answer` and exits with `status`.
const HOSTILE_SCRIPT: &str = "#!/usr/bin/env bash\ncat '@STATE@/answer'\nexit \"$(cat '@STATE@/status')\"\n";

impl FakeKind {
    pub fn new() -> Self {
        Self::with_script(SCRIPT)
    }

    /// A fake that answers every command with what [`FakeKind::answer_with`] set.
    pub fn hostile() -> Self {
        let fake = Self::with_script(HOSTILE_SCRIPT);
        fake.answer_with(0, b"");
        fake
    }

    /// Makes a hostile fake print `answer` and exit with `status`.
    pub fn answer_with(&self, status: i32, answer: &[u8]) {
        std::fs::write(self.root.join("state/answer"), answer).unwrap();
        std::fs::write(self.root.join("state/status"), status.to_string()).unwrap();
    }

    fn with_script(script: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!(
            "fleet-fake-kind-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(root.join("state/clusters")).unwrap();
        let program = bin.join("kind");
        std::fs::write(&program, script.replace("@STATE@", &root.join("state").display().to_string())).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { root }
    }

    /// A `PATH` with the fake first.
    pub fn search_path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.root.join("bin").display())
    }

    /// Where providers keep their records.
    pub fn records(&self) -> PathBuf {
        self.root.join("records")
    }

    /// A provider for `fleet` finding the fake on its `PATH`.
    pub fn provider(&self, fleet: &str) -> KindProvider {
        KindProvider::builder(FleetName::new(fleet).unwrap())
            .search_path(self.search_path())
            .state_dir(self.records())
            .build()
            .unwrap()
    }

    /// Every call so far, one string of arguments each; clears the log.
    pub fn take_calls(&self) -> Vec<String> {
        let log = self.root.join("state/calls.log");
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        calls.lines().map(str::to_owned).collect()
    }

    /// Makes the fake behave as if no container engine were installed.
    pub fn without_container_engine(&self) {
        std::fs::write(self.root.join("state/no-engine"), "").unwrap();
    }

    /// Adds a Kind cluster made by hand, not by Fleet.
    pub fn add_foreign_cluster(&self, name: &str) {
        std::fs::write(self.root.join("state/clusters").join(name), "{}").unwrap();
    }

    /// The kind config a cluster was created with.
    pub fn config_of(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.root.join("state/clusters").join(name)).unwrap()).unwrap()
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Makes `kind create cluster` take `seconds` before the cluster exists.
    pub fn slow_create(&self, seconds: f64) {
        std::fs::write(self.root.join("state/create-delay"), seconds.to_string()).unwrap();
    }

    /// Makes the fake's next `count` invocations fail as `kind` does when the container
    /// engine's daemon does not answer.
    pub fn fail_next(&self, count: u32) {
        std::fs::write(self.root.join("state/fail-next"), count.to_string()).unwrap();
    }

    /// The conformance kit's hooks into this fake.
    pub fn hooks(&self) -> FakeKindHooks {
        FakeKindHooks { state: self.root.join("state"), records: self.records() }
    }
}

/// The conformance hooks of a [`FakeKind`]: planting clusters Fleet did not make and failing
/// the next calls. Kind has one local region and no API to throttle, so `cut_region` and
/// `throttle_next_calls` stay unavailable; the fake's clusters serve no Kubernetes API.
pub struct FakeKindHooks {
    state: PathBuf,
    records: PathBuf,
}

impl FakeKindHooks {
    fn cluster_file(&self, id: &ClusterId) -> PathBuf {
        self.state.join("clusters").join(id.as_str())
    }

    fn record_file(&self, id: &ClusterId) -> PathBuf {
        self.records.join(format!("{id}.json"))
    }
}

fn io(path: &Path, err: std::io::Error) -> Error {
    Error::Provider { message: format!("{}: {err}", path.display()), source: None }
}

#[fleet_core::async_trait]
impl ConformanceHooks for FakeKindHooks {
    /// A Kind cluster made by hand (as `kind create cluster` would), and, when `tags` is not
    /// empty, a record carrying exactly them where Kind providers keep tags: the record of
    /// another fleet that shares the state directory.
    async fn plant_cluster(
        &self,
        id: &ClusterId,
        region: &Region,
        tags: &BTreeMap<String, String>,
    ) -> Option<Result<()>> {
        Some((|| {
            if region.as_str() != "local" {
                return Err(Error::InvalidSpec {
                    path: "region".into(),
                    reason: format!("Kind has no region `{region}`"),
                });
            }
            let cluster = self.cluster_file(id);
            std::fs::write(&cluster, "{}").map_err(|err| io(&cluster, err))?;
            if !tags.is_empty() {
                std::fs::create_dir_all(&self.records).map_err(|err| io(&self.records, err))?;
                let record = serde_json::json!({
                    "id": id.as_str(),
                    "tags": tags,
                    "kubernetes_version": "1.32",
                    "node_pools": [],
                    "endpoint": null,
                    "created_at_ms": 0,
                });
                let path = self.record_file(id);
                std::fs::write(&path, record.to_string()).map_err(|err| io(&path, err))?;
            }
            Ok(())
        })())
    }

    async fn remove_planted(&self, id: &ClusterId, _region: &Region) -> Option<Result<()>> {
        Some((|| {
            let cluster = self.cluster_file(id);
            match std::fs::remove_file(&cluster) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(Error::cluster_not_found(id)),
                Err(err) => return Err(io(&cluster, err)),
            }
            let record = self.record_file(id);
            match std::fs::remove_file(&record) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io(&record, err)),
                _ => Ok(()),
            }
        })())
    }

    /// The next `count` invocations of `kind` fail as when the container engine's daemon does
    /// not answer (stopped or restarting): the one transient failure `kind` has.
    async fn fail_next_calls(&self, count: u32) -> Option<Result<()>> {
        let path = self.state.join("fail-next");
        Some(std::fs::write(&path, count.to_string()).map_err(|err| io(&path, err)))
    }
}

impl Drop for FakeKind {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
