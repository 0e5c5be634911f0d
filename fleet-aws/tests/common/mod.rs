//! Test servers for the EKS provider: a real `moto_server` (the EKS API as moto implements it,
//! installed into the project's `.venv` by `./scripts/test`) on a free local port, and a small
//! HTTP responder serving documented EKS responses for what moto lacks.

// Shared by several test binaries, each of which uses only a part.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_aws::{EksProvider, EksProviderBuilder};
use fleet_core::conformance::http::{TestResponse, serve};
use fleet_core::{Capabilities, FleetName, Region};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/eks-cluster";
pub const NODE_ROLE: &str = "arn:aws:iam::123456789012:role/eks-node";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `moto_server` of its own, stopped when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
    port: u16,
}

impl Moto {
    /// Starts `moto_server` (from `$FLEET_MOTO_SERVER`, else the workspace's `.venv`).
    pub fn start() -> Moto {
        let program = std::env::var_os("FLEET_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server"));
        assert!(
            program.exists(),
            "moto_server not found at {}: run ./scripts/test, which installs moto into .venv, or set FLEET_MOTO_SERVER",
            program.display()
        );
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}"), port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start listening on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto.reset();
        moto
    }

    /// Forgets everything (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let (status, _) = http(self.port, "POST", "/moto-api/reset", "");
        assert_eq!(status, 200, "moto reset failed");
    }

    /// A provider for `fleet` against this server, in `us-east-1` and `eu-west-1`. Moto has
    /// no `UpdateClusterVersion`, so in-place upgrades are not declared here.
    pub async fn provider(&self, fleet: &str) -> EksProvider {
        builder(fleet, &self.url)
            .with_capabilities(Capabilities::default().with_node_pool_resize(true))
            .build()
            .await
            .unwrap()
    }

    /// A plain SDK client of this server in `region`, for setting up and checking.
    pub fn client(&self, region: &str) -> aws_sdk_eks::Client {
        let config = aws_sdk_eks::Config::builder()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new(region.to_owned()))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_eks::config::Credentials::new("test", "test", None, None, "test"))
            .build();
        aws_sdk_eks::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A builder for `fleet` against `url`, with test credentials, roles and subnets.
pub fn builder(fleet: &str, url: &str) -> EksProviderBuilder {
    let regions = [Region::new("us-east-1").unwrap(), Region::new("eu-west-1").unwrap()];
    let mut builder = EksProviderBuilder::from_env(FleetName::new(fleet).unwrap())
        .with_regions(regions.to_vec())
        .with_endpoint_url(url)
        .with_credentials("test", "test", None)
        .with_cluster_role_arn(ROLE)
        .with_node_role_arn(NODE_ROLE);
    for region in regions {
        builder = builder.with_subnets(region, vec!["subnet-0a".into(), "subnet-0b".into()]);
    }
    builder
}

/// One HTTP request over a fresh connection; returns the status and body.
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A canned answer: status, `X-Amzn-ErrorType` (for errors), JSON body.
#[derive(Clone)]
pub struct Canned {
    pub method: &'static str,
    pub path_prefix: String,
    pub status: u16,
    pub error_type: Option<&'static str>,
    pub body: String,
}

/// A local HTTP responder answering with the first canned answer matching method and path;
/// records every request line and body.
pub struct Responder {
    pub url: String,
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl Responder {
    pub fn start(answers: Vec<Canned>) -> Responder {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let url = serve(move |request| {
            recorded.lock().unwrap().push((format!("{} {}", request.method, request.path), request.text()));
            let answer =
                answers.iter().find(|a| a.method == request.method && request.path.starts_with(&a.path_prefix));
            let (status, error_type, body) = match answer {
                Some(a) => (a.status, a.error_type, a.body.clone()),
                None => (404, Some("ResourceNotFoundException"), r#"{"message":"not served"}"#.to_owned()),
            };
            let response = TestResponse::json(status, body);
            match error_type {
                Some(kind) => response.with_header("X-Amzn-ErrorType", kind),
                None => response,
            }
        });
        Responder { url, requests }
    }

    pub fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }
}
