//! The tags on an EKS cluster: Fleet's ([`FleetTags::cluster_tags`], the spec's labels
//! included) and the provider's own bookkeeping, which Fleet never sees as the cluster's tags:
//! the node pools the cluster should have, and the mark of a deletion under way.
//!
//! Everything written here keeps EKS's tag rules: at most 50 tags a resource, keys of at most
//! 128 and values of at most 256 characters, no `aws:` prefix, and only the characters every
//! AWS service accepts (letters, digits, spaces and `+ - = . _ : / @`).

use std::collections::BTreeMap;

use fleet_core::{ClusterSpec, Error, FleetName, FleetTags, NodePool, NodePoolName, Result, SizeClass};

/// The tag recording the node pools a cluster should have, `name:size:min:max[:type]` entries
/// separated by `/`; a list longer than a tag value holds goes on in `fleet-node-pools-2`,
/// `fleet-node-pools-3`, ...
pub(crate) const NODE_POOLS_KEY: &str = "fleet-node-pools";

/// The tag marking a cluster whose deletion has started (its node groups go first).
pub(crate) const DELETING_KEY: &str = "fleet-deleting";

/// The tag marking a cluster whose spec asks for network policies: once active, it gets the
/// `vpc-cni` add-on with its network policy agent (see [`crate::settings`]).
pub(crate) const NETWORK_POLICY_KEY: &str = "fleet-network-policy";

/// EKS: tags per resource.
const MAX_TAGS: usize = 50;
/// EKS: characters of a tag key.
const MAX_KEY: usize = 128;
/// EKS: characters of a tag value.
const MAX_VALUE: usize = 256;

/// Whether `key` is one of the provider's bookkeeping tags.
pub(crate) fn is_bookkeeping(key: &str) -> bool {
    key == DELETING_KEY || key == NETWORK_POLICY_KEY || key == NODE_POOLS_KEY || pools_chunk_index(key).is_some()
}

/// `n` for `fleet-node-pools-n` (n ≥ 2).
fn pools_chunk_index(key: &str) -> Option<usize> {
    let n: usize = key.strip_prefix(NODE_POOLS_KEY)?.strip_prefix('-')?.parse().ok()?;
    (n >= 2).then_some(n)
}

fn pools_key(chunk: usize) -> String {
    if chunk == 0 { NODE_POOLS_KEY.to_owned() } else { format!("{NODE_POOLS_KEY}-{}", chunk + 1) }
}

/// A cluster's tags as Fleet sees them: without the bookkeeping.
pub(crate) fn visible(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter().filter(|(key, _)| !is_bookkeeping(key)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Every tag of the cluster `spec` describes for `fleet`: Fleet's and the node pools', checked
/// against EKS's rules (room is kept for the deletion mark).
pub(crate) fn wanted(fleet: &FleetName, spec: &ClusterSpec) -> Result<BTreeMap<String, String>> {
    let mut tags = FleetTags::cluster_tags(fleet, spec);
    for (chunk, value) in encode_pools(&spec.node_pools)?.into_iter().enumerate() {
        tags.insert(pools_key(chunk), value);
    }
    if spec.network.network_policy {
        tags.insert(NETWORK_POLICY_KEY.to_owned(), "true".to_owned());
    }
    if tags.len() + 1 > MAX_TAGS {
        return Err(Error::InvalidSpec {
            path: "labels".into(),
            reason: format!(
                "an EKS cluster carries at most {MAX_TAGS} tags; Fleet's and the node pools' take {}, so at most {} labels \
                 fit, not {}",
                tags.len() + 1 - spec.labels.len(),
                MAX_TAGS - (tags.len() + 1 - spec.labels.len()),
                spec.labels.len()
            ),
        });
    }
    for (key, value) in &tags {
        let path = || format!("labels.{key}");
        if key.chars().count() > MAX_KEY || value.chars().count() > MAX_VALUE {
            return Err(Error::InvalidSpec {
                path: path(),
                reason: format!("EKS tag keys hold at most {MAX_KEY} characters and values {MAX_VALUE}"),
            });
        }
        if key.to_ascii_lowercase().starts_with("aws:") || value.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::InvalidSpec { path: path(), reason: "the `aws:` prefix is reserved for AWS".into() });
        }
        if !key.chars().chain(value.chars()).all(tag_char) {
            return Err(Error::InvalidSpec {
                path: path(),
                reason: "EKS tags hold letters, digits, spaces and `+ - = . _ : / @` only".into(),
            });
        }
    }
    Ok(tags)
}

fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c)
}

/// The node pools as tag values of at most 256 characters each.
fn encode_pools(pools: &[NodePool]) -> Result<Vec<String>> {
    let mut chunks: Vec<String> = Vec::new();
    for (index, pool) in pools.iter().enumerate() {
        let mut entry = format!("{}:{}:{}:{}", pool.name, pool.size.as_str(), pool.min_count, pool.max_count);
        if let Some(machine) = &pool.machine_type {
            if machine.is_empty() || !machine.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
                return Err(Error::InvalidSpec {
                    path: format!("nodePools[{index}].machineType"),
                    reason: format!("`{machine}` is not an EC2 instance type (letters, digits, `.` and `-`)"),
                });
            }
            entry.push(':');
            entry.push_str(machine);
        }
        if entry.len() > MAX_VALUE {
            return Err(Error::InvalidSpec {
                path: format!("nodePools[{index}].machineType"),
                reason: "the machine type is too long for an EKS tag".into(),
            });
        }
        match chunks.last_mut() {
            Some(last) if last.len() + 1 + entry.len() <= MAX_VALUE => {
                last.push('/');
                last.push_str(&entry);
            }
            _ => chunks.push(entry),
        }
    }
    Ok(chunks)
}

/// The node pools recorded in `tags`; entries that do not parse are skipped.
pub(crate) fn decode_pools(tags: &BTreeMap<String, String>) -> Vec<NodePool> {
    let mut pools = Vec::new();
    let mut chunk = 0;
    while let Some(text) = tags.get(&pools_key(chunk)) {
        // `,` separated the entries of tags written before `/` did.
        pools.extend(text.split(['/', ',']).filter_map(decode_pool));
        chunk += 1;
    }
    pools
}

fn decode_pool(entry: &str) -> Option<NodePool> {
    let parts: Vec<&str> = entry.split(':').collect();
    let name = NodePoolName::new(*parts.first()?).ok()?;
    let size = SizeClass::ALL.into_iter().find(|s| Some(&s.as_str()) == parts.get(1))?;
    let pool = NodePool::new(name, size, parts.get(2)?.parse().ok()?, parts.get(3)?.parse().ok()?).ok()?;
    Some(match parts.get(4) {
        Some(machine) => pool.with_machine_type(*machine),
        None => pool,
    })
}

/// Tags to set and keys to remove (`TagResource`, `UntagResource`) so that a cluster tagged
/// `current` carries `wanted`, among the keys `concerned` selects. `aws:` keys, which only AWS
/// changes, are never removed.
pub(crate) fn changes(
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
    concerned: impl Fn(&str) -> bool,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = wanted
        .iter()
        .filter(|(key, value)| concerned(key) && current.get(*key) != Some(*value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = current
        .keys()
        .filter(|key| concerned(key) && !wanted.contains_key(*key))
        .filter(|key| !key.to_ascii_lowercase().starts_with("aws:"))
        .cloned()
        .collect();
    (set, remove)
}

/// Whether `key` is a node pools tag.
pub(crate) fn is_pools_key(key: &str) -> bool {
    key == NODE_POOLS_KEY || pools_chunk_index(key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_core::{ClusterId, ProviderName, Region};

    fn pool(name: &str, size: SizeClass, min: u32, max: u32) -> NodePool {
        NodePool::new(NodePoolName::new(name).unwrap(), size, min, max).unwrap()
    }

    fn spec(pools: Vec<NodePool>, labels: usize) -> ClusterSpec {
        let mut builder = ClusterSpec::builder(
            ClusterId::new("web-1").unwrap(),
            ProviderName::new("aws").unwrap(),
            Region::new("us-east-1").unwrap(),
            "1.31".parse().unwrap(),
        );
        for pool in pools {
            builder = builder.node_pool(pool);
        }
        for i in 0..labels {
            builder = builder.label(format!("label{i}"), "x");
        }
        builder.build().unwrap()
    }

    #[test]
    fn node_pools_round_trip_through_their_tags() {
        let pools = vec![
            pool("workers", SizeClass::Small, 1, 3),
            pool("gpu", SizeClass::Large, 0, 2).with_machine_type("g5.xlarge"),
        ];
        let tags = wanted(&FleetName::new("prod").unwrap(), &spec(pools.clone(), 0)).unwrap();
        assert_eq!(tags[NODE_POOLS_KEY], "workers:small:1:3/gpu:large:0:2:g5.xlarge");
        assert_eq!(decode_pools(&tags), pools);
        assert_eq!(visible(&tags), FleetTags::cluster_tags(&FleetName::new("prod").unwrap(), &spec(pools, 0)));
        let old = BTreeMap::from([(NODE_POOLS_KEY.to_owned(), "workers:small:1:3,gpu:large:0:2".to_owned())]);
        assert_eq!(decode_pools(&old).len(), 2, "the comma-separated form still reads");
        let garbage = BTreeMap::from([(NODE_POOLS_KEY.to_owned(), "garbage/::/x:huge:1:2".to_owned())]);
        assert!(decode_pools(&garbage).is_empty(), "bad entries are skipped, never a panic");
    }

    #[test]
    fn many_node_pools_go_on_over_several_tags_within_eks_limits() {
        let pools: Vec<NodePool> = (0..20)
            .map(|i| pool(&format!("pool{i}"), SizeClass::Medium, 1, 100).with_machine_type("m7i.48xlarge"))
            .collect();
        let tags = wanted(&FleetName::new("prod").unwrap(), &spec(pools.clone(), 0)).unwrap();
        assert!(tags.contains_key("fleet-node-pools-2"), "{tags:?}");
        assert!(tags.values().all(|v| v.len() <= MAX_VALUE));
        assert_eq!(decode_pools(&tags), pools);
        assert!(tags.keys().filter(|k| is_pools_key(k)).all(|k| is_bookkeeping(k)));
        assert!(!is_bookkeeping("fleet-node-pools-1") && !is_bookkeeping("fleet-node-poolsx"));
    }

    #[test]
    fn what_eks_would_refuse_is_an_invalid_spec() {
        let fleet = FleetName::new("prod").unwrap();
        let too_many = wanted(&fleet, &spec(vec![pool("workers", SizeClass::Small, 1, 3)], 45)).unwrap_err();
        assert!(matches!(&too_many, Error::InvalidSpec { path, .. } if path == "labels"), "{too_many}");
        assert!(wanted(&fleet, &spec(vec![pool("workers", SizeClass::Small, 1, 3)], 44)).is_ok());
        let odd = spec(vec![pool("workers", SizeClass::Small, 1, 3).with_machine_type("m7i,large")], 0);
        assert!(matches!(wanted(&fleet, &odd), Err(Error::InvalidSpec { .. })));
    }

    #[test]
    fn changes_set_what_differs_and_remove_what_is_not_wanted() {
        let current = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
            ("aws:cloudformation:stack-name".to_owned(), "x".to_owned()),
            (NODE_POOLS_KEY.to_owned(), "p".to_owned()),
        ]);
        let wanted = BTreeMap::from([("a".to_owned(), "1".to_owned()), ("c".to_owned(), "3".to_owned())]);
        let (set, remove) = changes(&current, &wanted, |key| !is_bookkeeping(key));
        assert_eq!(set, BTreeMap::from([("c".to_owned(), "3".to_owned())]));
        assert_eq!(remove, vec!["b".to_owned()]);
    }
}
