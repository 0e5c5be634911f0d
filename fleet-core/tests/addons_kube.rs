//! Add-ons and team access against a mock Kubernetes API server (`tower-test`): every request
//! is recorded and checked (method, path, field manager, body). The mock keeps objects in
//! memory, lists them by label selector, and can answer 409 or 422 for chosen objects.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::addons::{
    AddonSet, DriftPolicy, KubeAddons, MANIFEST_HASH_ANNOTATION, PART_OF_LABEL, grant_team_access,
};
use fleet_core::blueprint::Addon;
use fleet_core::{CredentialScope, Credentials, Error, TeamName};
use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};

/// One request the mock API server received.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: String,
    content_type: String,
    body: Value,
}

#[derive(Default)]
struct ServerState {
    objects: BTreeMap<String, Value>,
    requests: Vec<Recorded>,
    conflicting: BTreeSet<String>,
    invalid: BTreeSet<String>,
}

/// A mock API server: enough of Kubernetes' REST surface for server-side apply, get, list by
/// label, delete and token requests.
#[derive(Clone, Default)]
struct ApiServer(Arc<Mutex<ServerState>>);

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code.as_u16(), "reason": reason, "message": message});
    Response::builder().status(code).body(Body::from(serde_json::to_vec(&body).unwrap())).unwrap()
}

fn ok(value: &Value) -> Response<Body> {
    Response::new(Body::from(serde_json::to_vec(value).unwrap()))
}

/// `/apis/apps/v1/namespaces/shop/deployments/web` -> `/apis/apps/v1/deployments`.
fn collection_of(path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let prefix_len = if segments.first() == Some(&"api") { 2 } else { 3 };
    let (prefix, rest) = segments.split_at(prefix_len.min(segments.len()));
    let plural = match rest {
        ["namespaces", _, plural, _] => plural,
        [plural, _] => plural,
        [plural] => plural,
        _ => "",
    };
    format!("/{}/{plural}", prefix.join("/"))
}

fn labels_match(object: &Value, selector: &str) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        object.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str) == Some(value)
    })
}

fn decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

impl ApiServer {
    /// A client whose requests this server answers, in a task of its own.
    fn client(&self) -> kube::Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = self.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let response = server.answer(request).await;
                send.send_response(response);
            }
        });
        kube::Client::new(service, "default")
    }

    async fn answer(&self, request: Request<Body>) -> Response<Body> {
        let method = request.method().to_string();
        let path = request.uri().path().to_owned();
        let query = decode(request.uri().query().unwrap_or_default());
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body: Value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        let mut state = self.0.lock().unwrap();
        state.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            content_type,
            body: body.clone(),
        });
        match method.as_str() {
            "PATCH" if state.conflicting.contains(&path) => status(
                StatusCode::CONFLICT,
                "Conflict",
                "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas",
            ),
            "PATCH" if state.invalid.contains(&path) => status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                "Deployment.apps \"web\" is invalid: spec.selector: Required value",
            ),
            "PATCH" => {
                state.objects.insert(path, body.clone());
                ok(&body)
            }
            "GET" if query.contains("labelSelector=") => {
                let selector =
                    query.split('&').find_map(|p| p.strip_prefix("labelSelector=")).unwrap_or_default().to_owned();
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|(p, o)| collection_of(p) == path && labels_match(o, &selector))
                    .map(|(_, o)| o.clone())
                    .collect();
                ok(&json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}))
            }
            "GET" => match state.objects.get(&path) {
                Some(object) => ok(object),
                None => status(StatusCode::NOT_FOUND, "NotFound", &format!("{path} not found")),
            },
            "DELETE" => match state.objects.remove(&path) {
                Some(object) => ok(&object),
                None => status(StatusCode::NOT_FOUND, "NotFound", &format!("{path} not found")),
            },
            "POST" if path.ends_with("/token") => ok(&json!({
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": body["spec"].clone(),
                "status": {"token": "team-token-123", "expirationTimestamp": "2026-01-01T00:00:00Z"},
            })),
            _ => status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &method),
        }
    }

    fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.0.lock().unwrap().requests)
    }

    fn put(&self, path: &str, object: Value) {
        self.0.lock().unwrap().objects.insert(path.to_owned(), object);
    }

    fn object(&self, path: &str) -> Option<Value> {
        self.0.lock().unwrap().objects.get(path).cloned()
    }
}

fn set(manifest: &str) -> AddonSet {
    AddonSet::parse(&BTreeMap::from([("base".to_owned(), Addon::new(manifest))])).unwrap()
}

const PARENT: &str = "/api/v1/namespaces/kube-system/configmaps/fleet-addons";

const FULL: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 2}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: strict}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
";

fn patches(requests: &[Recorded]) -> Vec<&str> {
    requests.iter().filter(|r| r.method == "PATCH").map(|r| r.path.as_str()).collect()
}

#[tokio::test]
async fn objects_are_applied_in_dependency_order_with_fleets_field_manager_and_applyset_labels() {
    let server = ApiServer::default();
    let report = KubeAddons::new().install_with(&server.client(), &set(FULL), DriftPolicy::Report).await.unwrap();
    assert_eq!(report.applied.len(), 6);
    let requests = server.take_requests();
    assert_eq!(
        patches(&requests),
        [
            PARENT,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
            "/api/v1/namespaces/shop",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/reader",
            "/api/v1/namespaces/shop/configmaps/settings",
            "/apis/apps/v1/namespaces/shop/deployments/web",
            "/apis/example.com/v1/namespaces/shop/widgets/w",
        ]
    );
    let applyset = server.object(PARENT).unwrap()["metadata"]["labels"]["applyset.kubernetes.io/id"].clone();
    for patch in requests.iter().filter(|r| r.method == "PATCH") {
        assert_eq!(patch.content_type, "application/apply-patch+yaml", "{}", patch.path);
        assert!(patch.query.contains("fieldManager=fleet"), "{}", patch.query);
        assert!(!patch.query.contains("force=true"), "conflicts are not forced: {}", patch.query);
        if patch.path != PARENT {
            assert_eq!(patch.body["metadata"]["labels"][PART_OF_LABEL], applyset, "{}", patch.path);
            assert!(patch.body["metadata"]["annotations"][MANIFEST_HASH_ANNOTATION].is_string());
        }
    }
    let deployment =
        &requests.iter().find(|r| r.method == "PATCH" && r.path.ends_with("/deployments/web")).unwrap().body;
    assert_eq!(deployment["spec"]["replicas"], 2, "the manifest's own fields are sent as written");
    let parent = server.object(PARENT).unwrap();
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ClusterRole.rbac.authorization.k8s.io,ConfigMap,CustomResourceDefinition.apiextensions.k8s.io,Deployment.apps,Namespace,Widget.example.com"
    );
}

#[tokio::test]
async fn an_unchanged_set_applies_nothing_and_removed_objects_alone_are_pruned() {
    let server = ApiServer::default();
    let client = server.client();
    let installer = KubeAddons::new();
    installer.install_with(&client, &set(FULL), DriftPolicy::Report).await.unwrap();
    // Something Fleet did not apply, in the same namespace and of a kind Fleet applies.
    server.put(
        "/api/v1/namespaces/shop/configmaps/hand-made",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hand-made", "namespace": "shop"}}),
    );
    server.take_requests();

    let again = installer.install_with(&client, &set(FULL), DriftPolicy::Report).await.unwrap();
    assert!(again.applied.is_empty() && again.pruned.is_empty(), "{again:?}");
    assert_eq!(again.unchanged, 6);
    assert_eq!(patches(&server.take_requests()), [PARENT], "only the parent is applied again");

    let smaller = FULL.split("---").filter(|doc| !doc.contains("kind: ConfigMap")).collect::<Vec<_>>().join("---");
    let report = installer.install_with(&client, &set(&smaller), DriftPolicy::Report).await.unwrap();
    let pruned: Vec<String> = report.pruned.iter().map(ToString::to_string).collect();
    assert_eq!(pruned, ["ConfigMap shop/settings"]);
    let deletes: Vec<String> =
        server.take_requests().into_iter().filter(|r| r.method == "DELETE").map(|r| r.path).collect();
    assert_eq!(deletes, ["/api/v1/namespaces/shop/configmaps/settings"], "exactly the removed object");
    assert!(server.object("/api/v1/namespaces/shop/configmaps/hand-made").is_some(), "not Fleet's: untouched");
    let parent = server.object(PARENT).unwrap();
    assert!(
        !parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
            .as_str()
            .unwrap()
            .split(',')
            .any(|kind| kind == "ConfigMap"),
        "the parent no longer lists ConfigMaps once none is left"
    );
}

#[tokio::test]
async fn drift_is_reported_and_corrected_only_when_the_policy_says_so() {
    let server = ApiServer::default();
    let client = server.client();
    let installer = KubeAddons::new();
    installer.install_with(&client, &set(FULL), DriftPolicy::Report).await.unwrap();
    let path = "/apis/apps/v1/namespaces/shop/deployments/web";
    let mut live = server.object(path).unwrap();
    live["spec"]["replicas"] = json!(5);
    server.put(path, live);
    server.take_requests();

    let report = installer.install_with(&client, &set(FULL), DriftPolicy::Report).await.unwrap();
    assert_eq!(report.drifted.len(), 1);
    assert_eq!(report.drifted[0].object.to_string(), "Deployment.apps shop/web");
    assert_eq!(report.drifted[0].fields, ["spec.replicas"]);
    assert!(!report.drifted[0].corrected);
    assert!(!patches(&server.take_requests()).contains(&path), "reported, not touched");
    assert_eq!(server.object(path).unwrap()["spec"]["replicas"], 5);

    let report = installer.install_with(&client, &set(FULL), DriftPolicy::Correct).await.unwrap();
    assert!(report.drifted[0].corrected);
    let requests = server.take_requests();
    let correction = requests.iter().find(|r| r.method == "PATCH" && r.path == path).unwrap();
    assert!(correction.query.contains("force=true"), "taking back a drifted field forces: {}", correction.query);
    assert_eq!(server.object(path).unwrap()["spec"]["replicas"], 2);
}

#[tokio::test]
async fn conflicts_and_invalid_objects_become_clear_errors() {
    let path = "/apis/apps/v1/namespaces/shop/deployments/web";
    let server = ApiServer::default();
    server.0.lock().unwrap().conflicting.insert(path.to_owned());
    let err = KubeAddons::new().install_with(&server.client(), &set(FULL), DriftPolicy::Report).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("Deployment.apps shop/web") && text.contains("another field manager"), "{text}");

    let server = ApiServer::default();
    server.0.lock().unwrap().invalid.insert(path.to_owned());
    let err = KubeAddons::new().install_with(&server.client(), &set(FULL), DriftPolicy::Report).await.unwrap_err();
    match err {
        Error::InvalidSpec { path, reason } => {
            assert_eq!(path, "addons.base");
            assert!(
                reason.contains("refused Deployment.apps shop/web as invalid: Deployment.apps \"web\" is invalid"),
                "{reason}"
            );
        }
        other => panic!("expected InvalidSpec, got {other:?}"),
    }
}

#[tokio::test]
async fn team_access_is_a_namespace_role_and_binding_with_a_kubeconfig_for_that_account_only() {
    let server = ApiServer::default();
    let admin = Credentials::from_token(
        "c1",
        "https://c1.example.invalid:6443",
        Some("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"),
        "admin-token-999".to_owned().into(),
    );
    let team = TeamName::new("payments").unwrap();
    let credentials =
        grant_team_access(&server.client(), &admin, "c1", &team, Duration::from_secs(3600)).await.unwrap();

    let requests = server.take_requests();
    let calls: Vec<(String, String)> = requests.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    let expected = [
        ("PATCH", "/api/v1/namespaces/team-payments"),
        ("PATCH", "/api/v1/namespaces/team-payments/serviceaccounts/payments"),
        ("PATCH", "/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/roles/payments-edit"),
        ("PATCH", "/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/rolebindings/payments-edit"),
        ("POST", "/api/v1/namespaces/team-payments/serviceaccounts/payments/token"),
    ];
    assert_eq!(calls, expected.map(|(m, p)| (m.to_owned(), p.to_owned())));
    assert!(!requests.iter().any(|r| r.path.contains("clusterrole")), "nothing cluster-wide is granted");
    let binding = &requests[3].body;
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "payments-edit"})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "payments", "namespace": "team-payments"}])
    );
    assert_eq!(requests[4].body["spec"]["expirationSeconds"], 3600);

    assert_eq!(
        credentials.scope(),
        &CredentialScope::Namespace { namespace: "team-payments".into(), role: "payments-edit".into() }
    );
    let kubeconfig = credentials.expose_kubeconfig();
    assert!(kubeconfig.contains("team-token-123") && !kubeconfig.contains("admin-token-999"), "{kubeconfig}");
    assert!(kubeconfig.contains("namespace: \"team-payments\""), "{kubeconfig}");
    assert!(kubeconfig.contains("https://c1.example.invalid:6443"));
    let parsed = kube::config::Kubeconfig::from_yaml(kubeconfig).unwrap();
    let context = parsed.contexts[0].context.clone().unwrap();
    assert_eq!(context.namespace.as_deref(), Some("team-payments"), "the context defaults to the team's namespace");
    let admin_ca = kube::config::Kubeconfig::from_yaml(admin.expose_kubeconfig()).unwrap().clusters[0].cluster.clone();
    assert_eq!(
        parsed.clusters[0].cluster.as_ref().unwrap().certificate_authority_data,
        admin_ca.unwrap().certificate_authority_data,
        "the cluster's CA is carried over"
    );
}

/// A Kubernetes API server that answers every request with one status and body.
fn hostile_client(status: u16, body: Vec<u8>) -> kube::Client {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    tokio::spawn(async move {
        while let Some((_, send)) = handle.next_request().await {
            let response = Response::builder().status(status).body(Body::from(body.clone())).unwrap();
            send.send_response(response);
        }
    });
    kube::Client::new(service, "default")
}

#[tokio::test]
async fn hostile_api_answers_give_errors_never_a_panic_or_a_hang() {
    use fleet_core::conformance::hostile::{STATUSES, bodies, mutants};
    let config_map = br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fleet-addons", "namespace": "kube-system", "labels": {"applyset.kubernetes.io/id": "applyset-x"}, "annotations": {"applyset.kubernetes.io/contains-group-kinds": "Deployment.apps"}}, "status": {"token": "t", "expirationTimestamp": "2026-01-01T00:00:00Z"}, "items": []}"#;
    let mut answers: Vec<(u16, Vec<u8>)> =
        bodies("").into_iter().flat_map(|b| STATUSES.map(|status| (status, b.bytes.clone()))).collect();
    answers.extend(mutants(config_map, 100, 3).into_iter().map(|m| (200, m.bytes)));
    let admin = Credentials::from_token("c1", "https://127.0.0.1:6443", None, "admin-token".to_owned().into());
    let team = TeamName::new("payments").unwrap();
    let (installer, addons) = (KubeAddons::new(), set(FULL));
    for (status, body) in answers {
        let client = hostile_client(status, body.clone());
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        let install = installer.install_with(&client, &addons, DriftPolicy::Correct);
        let installed = tokio::time::timeout(Duration::from_secs(60), install).await;
        assert!(installed.is_ok(), "installing add-ons hung on {status} {shown:?}");
        let grant = grant_team_access(&client, &admin, "c1", &team, Duration::from_secs(3600));
        let granted = tokio::time::timeout(Duration::from_secs(60), grant).await;
        assert!(granted.is_ok(), "granting team access hung on {status} {shown:?}");
    }
}
