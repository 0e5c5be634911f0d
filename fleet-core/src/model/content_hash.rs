//! Content hashes: the version of anything Fleet resolves is a hash of its canonical form
//! ([`BlueprintVersion::of`]).

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::BlueprintVersion;

/// Number of hex characters kept from the SHA-256 digest (128 bits).
const HASH_HEX_LEN: usize = 32;

impl BlueprintVersion {
    /// The version of `value`: its canonical JSON form (object keys sorted, no whitespace)
    /// hashed with SHA-256, the first 128 bits as lowercase hex, usable as a cloud tag value.
    ///
    /// Two values that serialize to the same JSON have the same version, whatever order their
    /// maps were filled in.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use fleet_core::BlueprintVersion;
    /// let a = BTreeMap::from([("b", 2), ("a", 1)]);
    /// let b = BTreeMap::from([("a", 1), ("b", 2)]);
    /// assert_eq!(BlueprintVersion::of(&a), BlueprintVersion::of(&b));
    /// assert_ne!(BlueprintVersion::of(&a), BlueprintVersion::of(&BTreeMap::from([("a", 1)])));
    /// ```
    pub fn of<T: Serialize + ?Sized>(value: &T) -> BlueprintVersion {
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
}
