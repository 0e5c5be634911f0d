//! Routes to API servers, reachability, team credentials and the API probe, against
//! [`SimulatedKubeApi`] (a simulated API server on a local socket), local proxies made here (an
//! HTTP `CONNECT` proxy and a SOCKS5 proxy recording where they were asked to connect), and
//! local addresses that refuse connections or never answer.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_core::addons::{
    AddonInstaller, AddonSet, ApiRoute, DirectRoute, DriftPolicy, EndpointRewrite, KubeAddons, ProxyRoute,
    TEAM_TOKEN_TTL, check_reachable, kube_client, team_credentials_over, team_credentials_through_admin,
};
use fleet_core::blueprint::Addon;
use fleet_core::conformance::SimulatedKubeApi;
use fleet_core::failover::{ApiProbe, KubeApiProbe};
use fleet_core::*;

fn team() -> TeamName {
    TeamName::new("payments").unwrap()
}

fn cluster(id: &str) -> Cluster {
    Cluster::new(
        ClusterId::new(id).unwrap(),
        ProviderName::new("eks").unwrap(),
        format!("arn:{id}"),
        Region::new("east").unwrap(),
        ClusterPhase::Running,
    )
}

fn addons() -> AddonSet {
    let manifest = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {mode: strict}\n";
    AddonSet::parse(&BTreeMap::from([("base".to_owned(), Addon::new(manifest))])).unwrap()
}

/// Copies bytes both ways between two connections until either closes.
fn splice(client: TcpStream, upstream: TcpStream) {
    let (mut client_read, mut upstream_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = std::io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Write);
}

/// A proxy on a local port, its URL with `scheme`: each connection is handed to `handshake` on
/// a thread of its own, which records the target it is asked for and returns the connection to
/// it, to be spliced with the client's, or `None` when it refused.
fn proxy(
    scheme: &str,
    handshake: fn(&mut TcpStream, &Mutex<Vec<String>>) -> Option<TcpStream>,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let targets = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&targets);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let recorded = Arc::clone(&recorded);
            std::thread::spawn(move || {
                if let Some(upstream) = handshake(&mut stream, &recorded) {
                    splice(stream, upstream);
                }
            });
        }
    });
    (url, targets)
}

/// An HTTP proxy answering `CONNECT host:port` by tunnelling there; records each target.
fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    proxy("http", |stream, recorded| {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).unwrap_or(0) == 0 {
                return None;
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let mut words = head.split_whitespace();
        let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
            let _ = stream.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
            return None;
        };
        recorded.lock().unwrap().push(target.to_owned());
        let Ok(upstream) = TcpStream::connect(target) else {
            let _ = stream.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return None;
        };
        stream.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
        Some(upstream)
    })
}

/// A SOCKS5 proxy (no authentication, `CONNECT` to IPv4 or a domain name); records each target.
fn socks5_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    proxy("socks5", |stream, recorded| {
        let mut greeting = [0u8; 2];
        stream.read_exact(&mut greeting).unwrap();
        let mut methods = vec![0u8; usize::from(greeting[1])];
        stream.read_exact(&mut methods).unwrap();
        stream.write_all(&[5, 0]).unwrap();
        let mut request = [0u8; 4];
        stream.read_exact(&mut request).unwrap();
        let host = match request[3] {
            1 => {
                let mut ip = [0u8; 4];
                stream.read_exact(&mut ip).unwrap();
                std::net::Ipv4Addr::from(ip).to_string()
            }
            3 => {
                let mut len = [0u8; 1];
                stream.read_exact(&mut len).unwrap();
                let mut name = vec![0u8; usize::from(len[0])];
                stream.read_exact(&mut name).unwrap();
                String::from_utf8(name).unwrap()
            }
            other => panic!("address type {other} not supported by this test proxy"),
        };
        let mut port = [0u8; 2];
        stream.read_exact(&mut port).unwrap();
        let target = format!("{host}:{}", u16::from_be_bytes(port));
        recorded.lock().unwrap().push(target.clone());
        let upstream = TcpStream::connect(&target).unwrap();
        stream.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).unwrap();
        Some(upstream)
    })
}

fn port_of(url: &str) -> String {
    url.rsplit_once(':').unwrap().1.to_owned()
}

#[tokio::test]
async fn team_credentials_through_admin_sets_up_the_team_and_its_token_reaches_the_api() {
    let api = SimulatedKubeApi::start();
    let admin = api.admin_credentials("web-1");
    let creds = team_credentials_through_admin(&admin, "web-1", &team()).await.unwrap();

    assert_eq!(
        creds.scope(),
        &CredentialScope::Namespace { namespace: "team-payments".into(), role: "payments-edit".into() }
    );
    assert_eq!(creds.endpoint(), api.url());
    let paths: Vec<String> =
        api.objects().into_keys().filter(|p| p.contains("team-payments") || p.contains("payments-edit")).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/team-payments",
            "/api/v1/namespaces/team-payments/serviceaccounts/payments",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/rolebindings/payments-edit",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/roles/payments-edit",
        ]
    );
    let binding =
        api.object("/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/rolebindings/payments-edit").unwrap();
    assert_eq!(binding["subjects"][0]["name"], "payments");
    assert_eq!(binding["roleRef"]["name"], "payments-edit");
    assert_eq!(api.token_requests(), [("team-payments/payments".to_owned(), TEAM_TOKEN_TTL.as_secs() as i64)]);
    let requests = api.requests();
    assert_eq!(requests[0].path, "/version", "reachability is checked before anything is applied");
    for patch in requests.iter().filter(|r| r.method == "PATCH") {
        assert!(patch.query.contains("fieldManager=fleet"), "{patch:?}");
    }

    // The team's own token is what the simulated server accepts from it.
    let client = kube_client(&creds).await.unwrap();
    check_reachable(&client, "web-1", creds.endpoint(), "direct", Duration::from_secs(5)).await.unwrap();
    assert!(!creds.expose_kubeconfig().contains(fleet_core::conformance::SIMULATED_ADMIN_TOKEN));

    // Asking again is idempotent and issues a fresh token.
    team_credentials_through_admin(&admin, "web-1", &team()).await.unwrap();
    assert_eq!(api.objects().len(), 4 + fleet_core::conformance::BUILT_IN_NAMESPACES.len());
    assert_eq!(api.token_requests().len(), 2);
}

#[tokio::test]
async fn an_unreachable_api_server_is_a_named_failure_before_anything_is_applied() {
    let endpoint = SimulatedKubeApi::closed_endpoint();
    let admin = Credentials::from_token("private-1", &endpoint, None, "s3cr3t".into());
    let err = team_credentials_through_admin(&admin, "private-1", &team()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let text = err.to_string();
    for part in
        ["cluster `private-1`", endpoint.as_str(), "unreachable over the configured route (direct)", "private endpoint"]
    {
        assert!(text.contains(part), "`{part}` missing from: {text}");
    }
    assert!(!text.contains("s3cr3t"), "{text}");

    let err =
        KubeAddons::new().install(&cluster("private-1"), &admin, &addons(), DriftPolicy::Report).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("unreachable over the configured route (direct)"), "{err}");
}

#[tokio::test]
async fn an_api_server_that_never_answers_fails_within_the_reach_timeout() {
    let endpoint = SimulatedKubeApi::silent_endpoint();
    let admin = Credentials::from_token("quiet-1", &endpoint, None, "t".into());
    let installer = KubeAddons::new().with_reach_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = installer.install(&cluster("quiet-1"), &admin, &addons(), DriftPolicy::Report).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "bounded wait, took {:?}", started.elapsed());
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("no answer to GET /version within 300ms"), "{err}");

    let probe = KubeApiProbe::new().with_timeout(Duration::from_millis(300));
    let err = probe.readyz(&cluster("quiet-1"), &admin).await.unwrap_err();
    assert!(err.to_string().contains("no answer to GET /readyz within 300ms"), "{err}");
}

#[tokio::test]
async fn an_api_server_that_answers_with_a_refusal_was_reached() {
    let api = SimulatedKubeApi::start();
    let wrong = Credentials::from_token("web-1", api.url(), None, "not-the-token".into());
    let client = kube_client(&wrong).await.unwrap();
    let err = check_reachable(&client, "web-1", api.url(), "direct", Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let err = KubeApiProbe::new().readyz(&cluster("web-1"), &wrong).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
}

#[tokio::test]
async fn an_endpoint_rewrite_reaches_a_private_cluster_through_its_tunnel() {
    let api = SimulatedKubeApi::start();
    // The credentials name the private address, which Fleet cannot reach; the tunnel's local
    // end is the simulated API server.
    let private = SimulatedKubeApi::closed_endpoint();
    let admin =
        Credentials::from_token("private-1", &private, None, fleet_core::conformance::SIMULATED_ADMIN_TOKEN.into());
    let route = Arc::new(EndpointRewrite::new().endpoint("private-1", api.url()).unwrap());

    let report = KubeAddons::new()
        .with_route(route.clone())
        .install(&cluster("private-1"), &admin, &addons(), DriftPolicy::Report)
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 2, "{report:?}");
    assert_eq!(api.object("/api/v1/namespaces/shop/configmaps/settings").unwrap()["data"]["mode"], "strict");
    assert!(api.object("/api/v1/namespaces/kube-system/configmaps/fleet-addons").is_some(), "the ApplySet parent");

    let team = team_credentials_over(route.as_ref(), &admin, "private-1", &team()).await.unwrap();
    assert_eq!(team.endpoint(), private, "the team's credentials name the cluster's own address");
    KubeApiProbe::new().with_route(route.clone()).readyz(&cluster("private-1"), &admin).await.unwrap();

    // Without the route the same cluster is unreachable, and the error says over which route.
    let err = KubeApiProbe::new().readyz(&cluster("private-1"), &admin).await.unwrap_err();
    assert!(err.to_string().contains("unreachable over the configured route (direct)"), "{err}");
    // Another cluster is not rewritten.
    assert_eq!(route.describe("other"), "direct");
}

#[tokio::test]
async fn an_http_proxy_route_tunnels_every_call_through_the_proxy() {
    let api = SimulatedKubeApi::start();
    let (proxy, targets) = connect_proxy();
    let route: Arc<dyn ApiRoute> = Arc::new(ProxyRoute::new(&proxy).unwrap());
    let admin = api.admin_credentials("web-1");

    KubeAddons::new()
        .with_route(Arc::clone(&route))
        .install(&cluster("web-1"), &admin, &addons(), DriftPolicy::Report)
        .await
        .unwrap();
    team_credentials_over(route.as_ref(), &admin, "web-1", &team()).await.unwrap();
    KubeApiProbe::new().with_route(Arc::clone(&route)).readyz(&cluster("web-1"), &admin).await.unwrap();
    let seen = targets.lock().unwrap().clone();
    assert!(!seen.is_empty(), "calls went through the proxy");
    assert!(seen.iter().all(|t| *t == format!("127.0.0.1:{}", port_of(api.url()))), "{seen:?}");
    assert!(api.object("/api/v1/namespaces/team-payments").is_some());

    // A proxy that is down: named, with the route.
    let down = SimulatedKubeApi::closed_endpoint();
    let route = ProxyRoute::new(&down).unwrap();
    let err = KubeAddons::new()
        .with_route(Arc::new(route))
        .install(&cluster("web-1"), &admin, &addons(), DriftPolicy::Report)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains(&format!("over the configured route (through proxy {down})")), "{err}");
}

#[tokio::test]
async fn a_socks5_proxy_route_connects_through_the_proxy() {
    let api = SimulatedKubeApi::start();
    let (proxy, targets) = socks5_proxy();
    let route = Arc::new(ProxyRoute::new(&proxy).unwrap());
    let admin = api.admin_credentials("web-1");
    KubeAddons::new()
        .with_route(route)
        .install(&cluster("web-1"), &admin, &addons(), DriftPolicy::Report)
        .await
        .unwrap();
    let seen = targets.lock().unwrap().clone();
    assert!(!seen.is_empty() && seen.iter().all(|t| t.ends_with(&port_of(api.url()))), "{seen:?}");
    assert!(api.object("/api/v1/namespaces/shop").is_some());
}

#[tokio::test]
async fn proxy_passwords_stay_out_of_descriptions_and_errors() {
    let down = SimulatedKubeApi::closed_endpoint();
    let with_password = down.replace("http://", "http://ops:hunter2@");
    let route = ProxyRoute::new(&with_password).unwrap();
    assert!(!format!("{route:?}").contains("hunter2"));
    assert!(!route.describe("c").contains("hunter2"));
    let api = SimulatedKubeApi::start();
    let err = team_credentials_over(&route, &api.admin_credentials("c"), "c", &team()).await.unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(DirectRoute.describe("c"), "direct");
}

#[tokio::test]
async fn the_simulated_api_refuses_what_a_real_one_refuses() {
    let api = SimulatedKubeApi::start();
    let admin = api.admin_credentials("web-1");
    let client = kube_client(&admin).await.unwrap();
    // A namespaced object in a namespace that does not exist.
    let err = KubeAddons::new()
        .install_with(
            &client,
            &AddonSet::parse(&BTreeMap::from([(
                "x".to_owned(),
                Addon::new("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: nowhere}\n"),
            )]))
            .unwrap(),
            DriftPolicy::Report,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("namespaces \"nowhere\" not found"), "{err}");
    // A token shorter than ten minutes.
    fleet_core::addons::grant_team_access(&client, &admin, "web-1", &team(), Duration::from_secs(60)).await.unwrap();
    assert_eq!(api.token_requests()[0].1, 600, "grant_team_access asks for at least ten minutes");
}
