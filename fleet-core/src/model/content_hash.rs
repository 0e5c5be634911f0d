//! Content hashes: the version of anything Fleet resolves is a hash of its canonical form.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::BlueprintVersion;

/// Number of hex characters kept from the SHA-256 digest (128 bits).
const HASH_HEX_LEN: usize = 32;

/// Hashes the canonical JSON form of `value` (object keys sorted, no whitespace) with SHA-256
/// and returns the first 128 bits as lowercase hex, usable as a [`BlueprintVersion`] and as a
/// cloud tag value.
///
/// Two values that serialize to the same JSON have the same hash, whatever order their maps were
/// filled in.
///
/// ```
/// use std::collections::BTreeMap;
/// let a = BTreeMap::from([("b", 2), ("a", 1)]);
/// let b = BTreeMap::from([("a", 1), ("b", 2)]);
/// assert_eq!(fleet_core::content_hash(&a), fleet_core::content_hash(&b));
/// assert_ne!(fleet_core::content_hash(&a), fleet_core::content_hash(&BTreeMap::from([("a", 1)])));
/// ```
pub fn content_hash<T: Serialize + ?Sized>(value: &T) -> BlueprintVersion {
    // `serde_json::Value` keeps object keys in a BTreeMap: serializing through it sorts them.
    let canonical =
        serde_json::to_value(value).map(|v| v.to_string()).unwrap_or_else(|err| format!("unserializable: {err}"));
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(HASH_HEX_LEN);
    for byte in digest.iter().take(HASH_HEX_LEN / 2) {
        hex.push_str(&format!("{byte:02x}"));
    }
    BlueprintVersion::new(hex).unwrap_or_else(|_| unreachable!("lowercase hex is a valid blueprint version"))
}
