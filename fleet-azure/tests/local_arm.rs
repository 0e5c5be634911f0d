//! The local ARM refuses what AKS refuses, on requests sent to it directly (the provider
//! never sends them): unoffered versions, skipped minors and downgrades, a missing or empty
//! system pool, invalid pool names, tags Azure refuses, authorized IP ranges on a private
//! cluster; and it records every setting sent.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{GROUP, LocalArm, SUBSCRIPTION};
use serde_json::{Value, json};

/// Sends one request over HTTP/1.1 and returns the status and the body.
fn send(arm: &LocalArm, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let address = arm.url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).unwrap();
    let text = body.to_string();
    let request = format!(
        "{method} {path}?api-version=2026-08-01 HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    // Reads the head, then exactly the body its Content-Length announces.
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        answer.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let mut content = vec![0u8; length];
    stream.read_exact(&mut content).unwrap();
    let body = serde_json::from_slice(&content).unwrap_or(Value::Null);
    (status, body)
}

fn path(name: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.ContainerService/managedClusters/{name}"
    )
}

fn cluster(version: &str, pools: Value) -> Value {
    json!({"location": "westeurope", "tags": {"team": "web"}, "identity": {"type": "SystemAssigned"},
        "properties": {"kubernetesVersion": version, "dnsPrefix": "c", "agentPoolProfiles": pools}})
}

fn system_pool() -> Value {
    json!([{"name": "system", "count": 1, "minCount": 1, "maxCount": 3, "enableAutoScaling": true,
        "vmSize": "Standard_D2s_v5", "mode": "System", "osType": "Linux"}])
}

fn code(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or_default())
}

#[test]
fn creates_that_aks_refuses_are_refused() {
    let arm = LocalArm::start();
    let old = send(&arm, "PUT", &path("a"), &cluster("1.31", system_pool()));
    assert_eq!(code(&old), (400, "K8sVersionNotSupported"));
    let user_only = json!([{"name": "workers", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "User"}]);
    assert_eq!(
        code(&send(&arm, "PUT", &path("a"), &cluster("1.34", user_only))),
        (400, "MustDefineAtLeastOneSystemPool")
    );
    let mut empty = system_pool();
    empty[0]["minCount"] = json!(0);
    assert_eq!(code(&send(&arm, "PUT", &path("a"), &cluster("1.34", empty))), (400, "InvalidParameter"));
    for name in ["Workers", "web-pool", "1pool", "averylongpoolname"] {
        let mut named = system_pool();
        named[0]["name"] = json!(name);
        assert_eq!(code(&send(&arm, "PUT", &path("a"), &cluster("1.34", named))), (400, "InvalidParameter"), "{name}");
    }
    let mut private = cluster("1.34", system_pool());
    private["properties"]["apiServerAccessProfile"] =
        json!({"enablePrivateCluster": true, "authorizedIPRanges": ["203.0.113.0/24"]});
    assert_eq!(code(&send(&arm, "PUT", &path("a"), &private)), (400, "InvalidParameter"));
    let mut tagged = cluster("1.34", system_pool());
    tagged["tags"]["long"] = json!("x".repeat(257));
    assert_eq!(code(&send(&arm, "PUT", &path("a"), &tagged)), (400, "InvalidTag"));
    assert!(arm.cluster(GROUP, "a").is_none(), "nothing refused is stored");
    assert_eq!(arm.violations().len(), 1, "the over-long tag is also a violation: {:?}", arm.violations());
}

#[test]
fn updates_go_one_minor_up_at_a_time_and_every_setting_is_recorded() {
    let arm = LocalArm::start();
    let mut body = cluster("1.34", system_pool());
    body["properties"]["apiServerAccessProfile"] = json!({"authorizedIPRanges": ["203.0.113.0/24"]});
    body["properties"]["networkProfile"] =
        json!({"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"});
    assert_eq!(send(&arm, "PUT", &path("b"), &body).0, 201);
    assert!(arm.set_provisioning_state(GROUP, "b", "Succeeded"));
    let applied = arm.applied_settings(GROUP, "b").unwrap();
    assert_eq!(applied.network.allowed_cidrs, ["203.0.113.0/24"]);
    assert!(applied.network.network_policy && !applied.network.private_endpoint && !applied.audit_logging);

    let mut stored = arm.cluster(GROUP, "b").unwrap();
    stored["properties"]["kubernetesVersion"] = json!("1.36");
    assert_eq!(code(&send(&arm, "PUT", &path("b"), &stored)), (400, "UpgradeNotAllowed"));
    stored["properties"]["kubernetesVersion"] = json!("1.33");
    assert_eq!(code(&send(&arm, "PUT", &path("b"), &stored)), (400, "NotAllowedDowngrade"));
    stored["properties"]["kubernetesVersion"] = json!("1.35");
    assert_eq!(send(&arm, "PUT", &path("b"), &stored).0, 200);
    stored["properties"]["kubernetesVersion"] = json!("1.36");
    assert_eq!(code(&send(&arm, "PUT", &path("b"), &stored)), (409, "OperationNotAllowed"), "busy while updating");
}

/// Every leaf of `value` as `path = value`.
fn leaves(value: &Value, path: &str, out: &mut std::collections::BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                leaves(inner, &format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (index, inner) in items.iter().enumerate() {
                leaves(inner, &format!("{path}[{index}]"), out);
            }
        }
        _ => {
            out.insert(path.to_owned(), value.clone());
        }
    }
}

/// Where an answer of the local ARM may differ from the official example's for the same
/// request: the ids and names of this subscription and groups, the version (the example's
/// request names none, so each answers its default), the type's spelling.
const SUBSTITUTED: &[&str] = &[
    ".id",
    ".type",
    ".properties.nodeResourceGroup",
    ".properties.kubernetesVersion",
    ".properties.currentKubernetesVersion",
    ".properties.agentPoolProfiles[0].orchestratorVersion",
    ".properties.agentPoolProfiles[0].currentOrchestratorVersion",
    ".properties.networkProfile.loadBalancerProfile.effectiveOutboundIPs[0].id",
    ".properties.networkProfile.loadBalancerProfile.effectiveOutboundIPs[1].id",
];

#[test]
fn the_official_create_example_is_answered_as_the_example_answers() {
    let arm = LocalArm::start();
    let example = common::official_examples::example("2025-07-01", "ManagedClustersCreate_Update.json");
    let request = &example["parameters"]["parameters"];
    let (status, answer) = send(&arm, "PUT", &path("clustername1"), request);
    assert_eq!(status, 201, "{answer}");
    let (mut ours, mut theirs, mut asked, mut got) = Default::default();
    leaves(&answer, "", &mut ours);
    leaves(&example["responses"]["201"]["body"], "", &mut theirs);
    leaves(request, "", &mut asked);
    leaves(
        &common::official_examples::example("2026-08-01", "ManagedClustersGet.json")["responses"]["200"]["body"],
        "",
        &mut got,
    );
    for (path, value) in &theirs {
        if SUBSTITUTED.contains(&path.as_str()) {
            assert!(ours.contains_key(path), "{path} is missing");
        } else {
            assert_eq!(ours.get(path), Some(value), "{path} differs from the official answer");
        }
    }
    for path in ours.keys().filter(|path| !theirs.contains_key(*path)) {
        let from_get = got.contains_key(path);
        let added = path.starts_with(".systemData.") || path.starts_with(".properties.powerState.");
        assert!(asked.contains_key(path) || from_get || added, "{path} is in no official file: made up");
    }
    assert_eq!(answer["properties"]["kubernetesVersion"], "1.35", "no version asked: the default");
    assert_eq!(
        arm.violations().iter().filter(|v| !v.contains("sku.name: `Basic`")).count(),
        0,
        "only the example's own SKU name, off the 2026-08-01 list, is reported: {:#?}",
        arm.violations()
    );
}
