//! What the local GKE API refuses in a new cluster's body, as GKE documents it, and how it
//! counts nodes: per zone, three zones for a regional cluster unless it names `locations`.

use serde_json::Value;

/// GKE's rule for node pool names: 1-40 lowercase letters, digits and hyphens, starting with
/// a letter and ending with a letter or digit.
pub fn valid_pool_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `cidr` is an IPv4 CIDR block (`203.0.113.0/24`).
fn valid_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (address, prefix) = cidr.split_once('/')?;
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 32)?;
    Some((u32::from(address), prefix))
}

/// Why GKE refuses the control-plane settings of `cluster`, if it does.
pub fn settings_problem(cluster: &Value) -> Option<String> {
    let aliases = cluster["ipAllocationPolicy"]["useIpAliases"] == true;
    let private = &cluster["privateClusterConfig"];
    if private["enablePrivateEndpoint"] == true && private["enablePrivateNodes"] != true {
        return Some("Private endpoint requires private nodes (privateClusterConfig.enablePrivateNodes).".into());
    }
    if private["enablePrivateNodes"] == true {
        if !aliases {
            return Some("Private clusters must be VPC-native (ipAllocationPolicy.useIpAliases).".into());
        }
        let block = private["masterIpv4CidrBlock"].as_str().unwrap_or_default();
        match valid_cidr(block) {
            Some((address, 28)) if address & 0xf == 0 => {}
            _ => return Some(format!("masterIpv4CidrBlock \"{block}\" must be an IPv4 /28.")),
        }
    }
    let authorized = &cluster["masterAuthorizedNetworksConfig"];
    let blocks = authorized["cidrBlocks"].as_array().cloned().unwrap_or_default();
    if blocks.len() > 50 {
        return Some(format!("At most 50 authorized networks are allowed, got {}.", blocks.len()));
    }
    if !blocks.is_empty() && authorized["enabled"] != true {
        return Some("Authorized networks are given but masterAuthorizedNetworksConfig.enabled is not true.".into());
    }
    for block in &blocks {
        let cidr = block["cidrBlock"].as_str().unwrap_or_default();
        if valid_cidr(cidr).is_none() {
            return Some(format!("Invalid CIDR block \"{cidr}\" in masterAuthorizedNetworksConfig."));
        }
    }
    let dataplane_v2 = cluster["networkConfig"]["datapathProvider"] == "ADVANCED_DATAPATH";
    if dataplane_v2 && !aliases {
        return Some("GKE Dataplane V2 requires a VPC-native cluster (ipAllocationPolicy.useIpAliases).".into());
    }
    if cluster["networkPolicy"]["enabled"] == true {
        if dataplane_v2 {
            return Some(
                "Network policy (Calico) cannot be enabled with GKE Dataplane V2, which enforces network policy itself."
                    .into(),
            );
        }
        // The add-on is off unless its config is there and not `disabled` (a `false` is
        // left out of JSON, as proto3 leaves defaults out).
        let addon = &cluster["addonsConfig"]["networkPolicyConfig"];
        if !addon.is_object() || addon["disabled"] == true {
            return Some(
                "Enabling network policy requires the network policy add-on (addonsConfig.networkPolicyConfig).".into(),
            );
        }
    }
    let components = cluster["loggingConfig"]["componentConfig"]["enableComponents"].as_array();
    if components.is_some_and(|c| !c.is_empty() && !c.iter().any(|c| c == "SYSTEM_COMPONENTS")) {
        return Some("SYSTEM_COMPONENTS must be enabled to collect logs of other components.".into());
    }
    None
}

/// Why GKE refuses a node pool's autoscaling, if it does.
pub fn autoscaling_problem(autoscaling: &Value) -> Option<String> {
    if autoscaling["enabled"] != true {
        return None;
    }
    let field = |name: &str| autoscaling.get(name).and_then(Value::as_i64);
    let per_zone = field("minNodeCount").is_some() || field("maxNodeCount").is_some();
    let total = field("totalMinNodeCount").is_some() || field("totalMaxNodeCount").is_some();
    if per_zone && total {
        return Some("The total_*_node_count fields are mutually exclusive with the *_node_count fields.".into());
    }
    let (min, max) = if total {
        (field("totalMinNodeCount").unwrap_or(0), field("totalMaxNodeCount").unwrap_or(0))
    } else {
        (field("minNodeCount").unwrap_or(0), field("maxNodeCount").unwrap_or(0))
    };
    (min < 0 || max < 1 || min > max).then(|| format!("Invalid autoscaling bounds: min {min}, max {max}."))
}

/// The zones of a cluster's nodes: its `locations`, else the location itself for a zone, else
/// three zones of the region (GKE's default for regional clusters).
pub fn zones(location: &str, cluster: &Value) -> Vec<String> {
    let named: Vec<String> = cluster["locations"]
        .as_array()
        .map(|zones| zones.iter().filter_map(|z| z.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if !named.is_empty() {
        named
    } else if location.split('-').count() >= 3 {
        vec![location.to_owned()]
    } else {
        ["b", "c", "d"].iter().map(|zone| format!("{location}-{zone}")).collect()
    }
}

/// The nodes a node pool starts with: `initialNodeCount` in each of its zones.
pub fn pool_nodes(pool: &Value) -> u64 {
    let zones = pool["locations"].as_array().map_or(1, Vec::len) as u64;
    pool["initialNodeCount"].as_u64().unwrap_or(0) * zones
}
