//! Property tests: resolution is deterministic, versions ignore formatting but follow every
//! effective value, plans converge, and malformed YAML always gives an error, never a panic.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::plan::plan;
use fleet_core::repository::Repository;
use fleet_core::*;
use proptest::prelude::*;

/// A blueprint document with the given pools and labels, keys in `order`, indented by `indent`
/// spaces, with a comment after every line when `comments` is set.
fn blueprint_yaml(
    pools: &[(String, u32)],
    labels: &[(String, String)],
    minor: u32,
    order: &[usize],
    indent: usize,
    comments: bool,
) -> String {
    let pad = " ".repeat(indent);
    let note = if comments { "  # a comment" } else { "" };
    let (l3, l4) = (format!("{pad}    "), format!("{pad}      {pad}"));
    let pools_text: String = pools
        .iter()
        .map(|(name, max)| format!("{l4}{name}: {{size: small, minCount: 0, maxCount: {max}}}{note}\n"))
        .collect();
    let labels_text: String = labels.iter().map(|(k, v)| format!("{l4}{k}: \"{v}\"{note}\n")).collect();
    let entries = [
        format!("{l3}kubernetesVersion: \"1.{minor}\"{note}\n"),
        format!("{l3}nodePools:{note}\n{pools_text}"),
        if labels.is_empty() {
            format!("{l3}labels: {{}}{note}\n")
        } else {
            format!("{l3}labels:{note}\n{labels_text}")
        },
        format!("{l3}auditLogging: true{note}\n"),
    ];
    let body: String = order.iter().map(|i| entries[*i].clone()).collect();
    format!(
        "kind: Blueprint{note}\nspec:\n{pad}name: bp\n{pad}layers:\n{pad}- name: base\n{pad}  owner: ops\n{pad}  set:\n{body}"
    )
}

fn version_of(yaml: &str) -> BlueprintVersion {
    let repository =
        Repository::from_sources(&[(PathBuf::from("bp.yaml"), yaml)]).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    repository.blueprints["bp"].resolve(&BTreeMap::new(), &[]).unwrap_or_else(|e| panic!("{e}\n{yaml}")).version
}

fn pool_names() -> impl Strategy<Value = Vec<(String, u32)>> {
    proptest::collection::btree_map("[a-z][a-z0-9]{0,6}", 1u32..50, 1..4).prop_map(|m| m.into_iter().collect())
}

fn labels() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map("[a-z][a-z0-9-]{0,8}", "[a-z0-9]{0,8}", 0..4).prop_map(|m| m.into_iter().collect())
}

/// `cases` cases, without writing failure files into the source tree.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn resolution_is_deterministic(pools in pool_names(), labels in labels(), minor in 20u32..40) {
        let yaml = blueprint_yaml(&pools, &labels, minor, &[0, 1, 2, 3], 2, false);
        let repository = Repository::from_sources(&[(PathBuf::from("bp.yaml"), yaml.as_str())]).unwrap();
        let first = repository.blueprints["bp"].resolve(&BTreeMap::new(), &[]).unwrap();
        let second = repository.blueprints["bp"].resolve(&BTreeMap::new(), &[]).unwrap();
        prop_assert_eq!(first, second);
    }

    #[test]
    fn the_version_ignores_key_order_comments_and_whitespace(
        pools in pool_names(),
        labels in labels(),
        minor in 20u32..40,
        order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        indent in 1usize..5,
        comments in any::<bool>(),
    ) {
        let plain = version_of(&blueprint_yaml(&pools, &labels, minor, &[0, 1, 2, 3], 2, false));
        let reformatted = version_of(&blueprint_yaml(&pools, &labels, minor, &order, indent, comments));
        let reversed_pools: Vec<_> = pools.iter().rev().cloned().collect();
        let reordered = version_of(&blueprint_yaml(&reversed_pools, &labels, minor, &order, indent, comments));
        prop_assert_eq!(&plain, &reformatted);
        prop_assert_eq!(&plain, &reordered);
    }

    #[test]
    fn the_version_changes_with_any_effective_value(
        pools in pool_names(),
        labels in labels(),
        minor in 20u32..40,
        which in 0usize..4,
    ) {
        let original = version_of(&blueprint_yaml(&pools, &labels, minor, &[0, 1, 2, 3], 2, false));
        let (mut pools2, mut labels2, mut minor2) = (pools.clone(), labels.clone(), minor);
        match which {
            0 => minor2 += 1,
            1 => pools2[0].1 += 1,
            2 => labels2.push(("zz-added".into(), "x".into())),
            _ => pools2.push(("zzpool".into(), 1)),
        }
        let changed = version_of(&blueprint_yaml(&pools2, &labels2, minor2, &[0, 1, 2, 3], 2, false));
        prop_assert_ne!(original, changed);
    }
}

fn arbitrary_spec() -> impl Strategy<Value = ClusterSpec> {
    (
        0u32..6,
        prop::sample::select(vec!["east", "west"]),
        29u32..32,
        1u32..5,
        prop::sample::select(vec![SizeClass::Small, SizeClass::Large]),
        any::<bool>(),
        proptest::option::of("[a-z]{1,4}"),
    )
        .prop_map(|(id, region, minor, max, size, private, label)| {
            let mut builder = ClusterSpec::builder(
                ClusterId::new(format!("c{id}")).unwrap(),
                ProviderName::new("sim").unwrap(),
                Region::new(region).unwrap(),
                KubernetesVersion::new(1, minor, None),
            )
            .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), size, 0, max).unwrap())
            .network({
                let mut network = Network::default();
                network.private_endpoint = private;
                network
            });
            if let Some(label) = label {
                builder = builder.label("app", label);
            }
            builder.build().unwrap()
        })
}

fn as_observed(spec: &ClusterSpec, fleet: &FleetName) -> Cluster {
    Cluster::for_spec(spec, fleet, "p", ClusterPhase::Running)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn applying_a_plan_leaves_nothing_to_do(
        wanted in proptest::collection::vec(arbitrary_spec(), 0..8),
        existing in proptest::collection::vec(arbitrary_spec(), 0..8),
        upgrade in any::<bool>(),
        resize in any::<bool>(),
    ) {
        let fleet = FleetName::new("prop").unwrap();
        let mut unique = BTreeMap::new();
        for spec in wanted { unique.insert(spec.id.clone(), spec); }
        let desired = DesiredFleet::new(fleet.clone(), unique.into_values().map(|s| DesiredCluster::new(s, "p", 0)).collect());
        let mut seen = std::collections::BTreeSet::new();
        let observed: Vec<Cluster> = existing.iter().filter(|s| seen.insert(s.id.clone())).map(|s| as_observed(s, &fleet)).collect();
        let capabilities = BTreeMap::from([(ProviderName::new("sim").unwrap(), Capabilities::default().with_in_place_version_upgrade(upgrade).with_node_pool_resize(resize))]);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let first = plan(&desired, &observed, &capabilities, now);
        let after = first.outcome(&observed, now);
        let second = plan(&desired, &after, &capabilities, now);
        prop_assert!(second.is_empty(), "first:\n{}\nsecond:\n{}", first, second);
        prop_assert_eq!(plan(&desired, &observed, &capabilities, now), first, "plans are deterministic");
    }
}

const VALID: &str = "kind: TeamPolicy\nspec:\n  team: payments\n  quota: {clusters: 3, nodes: 12}\n  allowedSizes: [small]\n  maxTtl: 8h\n";

/// Corruptions each of which makes [`VALID`] invalid wherever the random part lands.
fn malformed() -> impl Strategy<Value = String> {
    let junk = "[ -~]{0,20}";
    prop_oneof![
        ("[a-z]{1,10}", junk)
            .prop_map(|(key, value)| VALID.replace("  maxTtl: 8h\n", &format!("  maxTtl: 8h\n  zz{key}: {value:?}\n"))),
        junk.prop_map(|value| VALID.replace("clusters: 3", &format!("clusters: {:?}", format!("x{value}")))),
        junk.prop_map(|value| VALID.replace("quota: {", &format!("quota: [{value}"))),
        junk.prop_map(|value| format!(
            "kind: X{}\nspec: {{}}\n",
            value.replace(
                ['\n', '#', ':', '{', '}', '[', ']', ',', '"', '\'', '&', '*', '!', '|', '>', '%', '@', '`'],
                ""
            )
        )),
        (0usize..VALID.len()).prop_map(|cut| format!("{}\t\u{0}{}", &VALID[..cut], &VALID[cut..])),
        junk.prop_map(|value| VALID.replace("maxTtl: 8h", &format!("maxTtl: 8h\n  maxTtl: {value:?}"))),
        "[a-z]{1,8}".prop_map(|unit| VALID.replace("8h", &format!("8{unit}x"))),
    ]
}

proptest! {
    #![proptest_config(config(10_000))]

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,200}") {
        let _ = Repository::from_sources(&[(PathBuf::from("any.yaml"), text.as_str())]);
    }

    #[test]
    fn malformed_yaml_is_always_an_error(text in malformed()) {
        let result = Repository::from_sources(&[(PathBuf::from("bad.yaml"), text.as_str())]);
        prop_assert!(result.is_err(), "accepted:\n{}", text);
    }
}

#[test]
fn deeply_nested_and_huge_input_is_refused_without_panic() {
    let nested =
        format!("kind: Layer\nspec:\n  name: l\n  owner: ops\n  set: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(Repository::from_sources(&[(PathBuf::from("deep.yaml"), nested.as_str())]).is_err());
    let bombs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\nkind: Layer\n";
    assert!(Repository::from_sources(&[(PathBuf::from("bomb.yaml"), bombs)]).is_err());
    let huge =
        format!("kind: TeamPolicy\nspec:\n  team: {}\n  quota: {{clusters: 1, nodes: 1}}\n", "a".repeat(5_000_000));
    let errors = Repository::from_sources(&[(PathBuf::from("huge.yaml"), huge.as_str())]).unwrap_err();
    assert!(errors.to_string().len() < 2_000, "errors stay short: {} bytes", errors.to_string().len());
}
