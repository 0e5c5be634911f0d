//! Hostile answers for provider tests: a local server that answers every request with one
//! malformed, oversized or adversarial body ([`bodies`]) under a chosen status, and
//! [`every_call_ends`], which calls each provider operation against it and reports any call
//! that panicked or did not end. A provider must turn every such answer into an error (or a
//! sane result), never a panic or a hang.
//!
//! ```no_run
//! use std::sync::Arc;
//! use fleet_core::conformance::hostile::{HostileServer, run_hostile_answers};
//! use fleet_core::{ClusterProvider, ClusterSpec};
//!
//! /// `connect` builds the provider under test on the server's URL.
//! async fn check(connect: impl Fn(&str) -> Arc<dyn ClusterProvider>, spec: ClusterSpec) {
//!     let server = HostileServer::start();
//!     let documented = br#"{"cluster": {"name": "web-1", "status": "ACTIVE"}}"#;
//!     let problems = run_hostile_answers(&server, connect(&server.url), &spec, documented, 100).await;
//!     assert!(problems.is_empty(), "{problems:#?}");
//! }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{TestResponse, serve};
use crate::{ClusterProvider, ClusterSpec};

/// One adversarial body, with a name for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostileBody {
    /// What it is.
    pub name: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

fn body(name: &'static str, bytes: impl Into<Vec<u8>>) -> HostileBody {
    HostileBody { name, bytes: bytes.into() }
}

/// Malformed, oversized and adversarial bodies: empty, not JSON, invalid UTF-8, truncated,
/// nested 100,000 deep, an 8 MiB string, a million-element array, wrong types in the shapes
/// EKS, GKE and ARM answer with, duplicate keys, nulls, absurd numbers, and a list whose next
/// page is always itself (next-page links pointing at `base_url`, the server's).
pub fn bodies(base_url: &str) -> Vec<HostileBody> {
    let endless = format!(
        r#"{{"clusters": ["web-1"], "nodegroups": ["workers"], "nextToken": "again", "value": [], "nextLink": "{base_url}/again", "nextPageToken": "again"}}"#
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    let huge_string = format!("{{\"cluster\":{{\"name\":\"{}\"}},\"name\":\"{0}\"}}", "A".repeat(8 << 20));
    let long_array = format!("{{\"clusters\":[{}0],\"value\":[{0}0]}}", "0,".repeat(1_000_000));
    vec![
        body("an empty body", ""),
        body("plain text", "<html><body>502 Bad Gateway</body></html>"),
        body("invalid UTF-8", vec![0xff, 0xfe, 0x7b, 0x22, 0xc3, 0x28, 0xa0, 0xa1, 0x22, 0x7d]),
        body("truncated JSON", "{\"cluster\": {\"name\": \"web-1\", \"status\": \"ACT"),
        body("arrays nested 100,000 deep", deep),
        body("objects nested 50,000 deep", deep_objects),
        body("an 8 MiB string", huge_string),
        body("a million-element array", long_array),
        body(
            "EKS shapes with wrong types",
            r#"{"cluster": {"name": 42, "status": [], "tags": "x", "version": {}, "createdAt": "then"}, "clusters": {"a": 1}, "nodegroups": 7}"#,
        ),
        body(
            "GKE shapes with wrong types",
            r#"{"name": [], "status": 3, "currentMasterVersion": {}, "nodePools": "x", "resourceLabels": [1], "clusters": "x", "done": "yes"}"#,
        ),
        body(
            "ARM shapes with wrong types",
            r#"{"id": 1, "name": {}, "location": [], "tags": "x", "properties": 5, "value": {"a": 1}, "nextLink": 7, "kubeconfigs": "x", "error": "boom"}"#,
        ),
        body(
            "duplicate keys",
            r#"{"cluster": {"name": "a", "name": "b"}, "name": "a", "name": "b", "properties": {}, "properties": 1}"#,
        ),
        body(
            "null everywhere",
            r#"{"cluster": null, "name": null, "properties": null, "value": null, "clusters": null}"#,
        ),
        body("null", "null"),
        body(
            "absurd numbers",
            r#"{"cluster": {"name": "web-1", "createdAt": 1e400, "version": "99999999999999999999.1"}, "properties": {"agentPoolProfiles": [{"name": "workers", "count": -1, "maxCount": 1e30}]}}"#,
        ),
        body("a next page that is always itself", endless),
    ]
}

/// `count` mutants of a valid answer (`valid`, e.g. a documented response): truncated,
/// bytes flipped or replaced by JSON punctuation or invalid UTF-8, slices deleted or doubled.
/// They get past a parser's first byte and break it deeper in. The same `seed` gives the same
/// mutants.
pub fn mutants(valid: &[u8], count: usize, seed: u64) -> Vec<HostileBody> {
    const JUNK: &[u8] = b"{}[]\",:0n-e.\xff\xc3";
    let mut rng = crate::sim::rng::SimRng::new(seed);
    let mut below = |n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    (0..count)
        .map(|_| {
            let mut bytes = valid.to_vec();
            for _ in 0..1 + below(3) {
                let at = below(bytes.len());
                match below(5) {
                    0 => bytes.truncate(at),
                    1 => {
                        if let Some(byte) = bytes.get_mut(at) {
                            *byte ^= 1 << below(8);
                        }
                    }
                    2 => {
                        if let Some(byte) = bytes.get_mut(at) {
                            *byte = JUNK[below(JUNK.len())];
                        }
                    }
                    3 => {
                        let end = (at + below(32)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    _ => {
                        let end = (at + below(64)).min(bytes.len());
                        let slice = bytes[at..end].to_vec();
                        bytes.splice(at..at, slice);
                    }
                }
            }
            body("a mutant of a valid answer", bytes)
        })
        .collect()
}

/// The cluster the hostile checks ask about: `web-1` at `provider` in `region`, Kubernetes
/// 1.31, one small node pool of one to three nodes.
pub fn web_spec(provider: &str, region: &str) -> crate::Result<ClusterSpec> {
    let pool = crate::NodePool::new(crate::NodePoolName::new("workers")?, crate::SizeClass::Small, 1, 3)?;
    ClusterSpec::builder(
        crate::ClusterId::new("web-1")?,
        crate::ProviderName::new(provider)?,
        crate::Region::new(region)?,
        crate::KubernetesVersion::new(1, 31, None),
    )
    .node_pool(pool)
    .build()
}

/// A local server answering every request with one status and body, switchable at any time.
#[derive(Debug, Clone)]
pub struct HostileServer {
    /// Its base URL.
    pub url: String,
    answer: Arc<Mutex<(u16, Vec<u8>)>>,
}

impl HostileServer {
    /// Starts the server on a free local port, answering `200` with an empty body.
    pub fn start() -> Self {
        let answer = Arc::new(Mutex::new((200u16, Vec::new())));
        let served = Arc::clone(&answer);
        let url = serve(move |_| {
            let (status, body) = crate::mutex::lock(&served).clone();
            TestResponse::bytes(status, "application/json", body)
        });
        Self { url, answer }
    }

    /// Answers every request from now on with `status` and `body`.
    pub fn answer_with(&self, status: u16, body: &[u8]) {
        *crate::mutex::lock(&self.answer) = (status, body.to_vec());
    }
}

/// A provider call on its own task.
type Call = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Starts one operation about a spec and its cluster.
type Operation = fn(Arc<dyn ClusterProvider>, ClusterSpec) -> Call;

/// Every operation, about a spec and its cluster; results are dropped (any is fine).
const OPERATIONS: [(&str, Operation); 8] = [
    ("create", |p, s| Box::pin(async move { drop(p.create(&s).await) })),
    ("get", |p, s| Box::pin(async move { drop(p.get(&s.id).await) })),
    ("list", |p, _| Box::pin(async move { drop(p.list().await) })),
    ("update", |p, s| Box::pin(async move { drop(p.update(&s).await) })),
    ("delete", |p, s| Box::pin(async move { drop(p.delete(&s.id).await) })),
    ("credentials", |p, s| Box::pin(async move { drop(p.credentials(&s.id).await) })),
    ("team_credentials", |p, s| {
        Box::pin(async move {
            let team = crate::TeamName::new("hostile").expect("a valid team name");
            drop(p.team_credentials(&s.id, &team).await)
        })
    }),
    ("room", |p, s| Box::pin(async move { drop(p.room(&s.region).await) })),
];

/// Calls every operation of `provider` (about `spec` and its cluster) each on its own task;
/// returns what went wrong: a call that panicked, or one still running after `limit`.
pub async fn every_call_ends(provider: Arc<dyn ClusterProvider>, spec: &ClusterSpec, limit: Duration) -> Vec<String> {
    let calls = OPERATIONS.map(|(name, call)| (name, tokio::spawn(call(Arc::clone(&provider), spec.clone()))));
    let mut problems = Vec::new();
    for (operation, call) in calls {
        let abort = call.abort_handle();
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) if err.is_panic() => problems.push(format!("{operation} panicked")),
            Ok(Err(err)) => problems.push(format!("{operation} did not finish: {err}")),
            Err(_) => {
                abort.abort();
                problems.push(format!("{operation} still running after {limit:?}"));
            }
        }
    }
    problems
}

/// Statuses every hostile body is served under: success, client and server errors, throttling.
pub const STATUSES: [u16; 5] = [200, 400, 404, 429, 500];

/// Serves every [`bodies`] entry under every [`STATUSES`] code, then `mutant_count`
/// [`mutants`] of `valid` (a documented answer of the API), and calls every operation of
/// `provider` (built on `server.url`) each time; returns every problem found, each naming the
/// answer that caused it.
pub async fn run_hostile_answers(
    server: &HostileServer,
    provider: Arc<dyn ClusterProvider>,
    spec: &ClusterSpec,
    valid: &[u8],
    mutant_count: usize,
) -> Vec<String> {
    let limit = Duration::from_secs(60);
    let mut problems = Vec::new();
    for body in bodies(&server.url) {
        for status in STATUSES {
            server.answer_with(status, &body.bytes);
            for problem in every_call_ends(Arc::clone(&provider), spec, limit).await {
                problems.push(format!("{} under {status}: {problem}", body.name));
            }
        }
    }
    for (index, mutant) in mutants(valid, mutant_count, 8).into_iter().enumerate() {
        let status = if index % 3 == 0 { 400 } else { 200 };
        server.answer_with(status, &mutant.bytes);
        for problem in every_call_ends(Arc::clone(&provider), spec, limit).await {
            problems
                .push(format!("mutant {index} {:?} under {status}: {problem}", String::from_utf8_lossy(&mutant.bytes)));
        }
    }
    problems
}
