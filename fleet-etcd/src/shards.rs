//! Which shard a logical cluster is in, and which replica should hold a shard: rendezvous
//! (highest random weight) hashing, so that a replica joining or leaving moves only the shards
//! it gains or loses.

use fleet_core::ClusterIdentity;

/// The shard of `identity` among `shards` (FNV-1a of the identity).
///
/// ```
/// use fleet_core::ClusterIdentity;
/// let shard = fleet_etcd::shard_of(&ClusterIdentity::new("web-1").unwrap(), 32);
/// assert!(shard < 32);
/// assert_eq!(shard, fleet_etcd::shard_of(&ClusterIdentity::new("web-1").unwrap(), 32));
/// ```
pub fn shard_of(identity: &ClusterIdentity, shards: u32) -> u32 {
    (fnv1a(identity.as_str().as_bytes()) % u64::from(shards.max(1))) as u32
}

/// The replica that should hold `shard`: the one with the highest weight for it.
pub(crate) fn preferred_owner(shard: u32, replicas: &[String]) -> Option<&String> {
    replicas.iter().max_by_key(|replica| {
        let mut bytes = replica.as_bytes().to_vec();
        bytes.extend_from_slice(&shard.to_be_bytes());
        (fnv1a(&bytes), replica.as_str())
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final mix, so that neighbouring inputs spread over all shards.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_and_a_leaving_replica_moves_only_its_own() {
        let replicas: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let owners: Vec<&String> = (0..64).map(|s| preferred_owner(s, &replicas).unwrap()).collect();
        for replica in &replicas {
            let count = owners.iter().filter(|o| **o == replica).count();
            assert!((10..=35).contains(&count), "{replica} holds {count} of 64");
        }
        let two: Vec<String> = ["a", "c"].map(String::from).to_vec();
        for (shard, owner) in owners.iter().enumerate() {
            let after = preferred_owner(shard as u32, &two).unwrap();
            if *owner != "b" {
                assert_eq!(after, *owner, "shard {shard} moved though its owner stayed");
            }
        }
        let ids = (0..1000).map(|n| shard_of(&ClusterIdentity::new(format!("c-{n}")).unwrap(), 16));
        let mut counts = [0; 16];
        ids.for_each(|s| counts[s as usize] += 1);
        assert!(counts.iter().all(|c| (30..=100).contains(c)), "{counts:?}");
    }
}
