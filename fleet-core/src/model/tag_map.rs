//! [`Tags`]: every tag or label on a cluster, shared by every copy of the cluster.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Every tag or label on a cluster, by key: a `BTreeMap<String, String>` in all but cost.
///
/// A copy of a [`Cluster`](crate::Cluster) shares its tags with the original (a provider's
/// listing, the engine's last observation and the store's record of a cluster hold one map
/// between them, not one each); changing a copy's tags copies them first, so no other copy
/// sees the change. Read it as the map it dereferences to; build it from one.
///
/// ```
/// use std::collections::BTreeMap;
/// use fleet_core::Tags;
/// let mut tags = Tags::from(BTreeMap::from([("team".to_owned(), "payments".to_owned())]));
/// let copy = tags.clone();
/// tags.insert("tier".to_owned(), "gold".to_owned());
/// assert_eq!(tags.len(), 2);
/// assert_eq!(copy.len(), 1);
/// assert_eq!(copy.get("team").map(String::as_str), Some("payments"));
/// ```
#[derive(Clone, Default, Eq)]
pub struct Tags(Arc<BTreeMap<String, String>>);

impl Tags {
    /// No tags.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tags as a map of their own.
    pub fn into_map(self) -> BTreeMap<String, String> {
        Arc::unwrap_or_clone(self.0)
    }
}

impl Deref for Tags {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Tags {
    fn deref_mut(&mut self) -> &mut Self::Target {
        Arc::make_mut(&mut self.0)
    }
}

impl PartialEq for Tags {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl PartialEq<BTreeMap<String, String>> for Tags {
    fn eq(&self, other: &BTreeMap<String, String>) -> bool {
        *self.0 == *other
    }
}

impl From<BTreeMap<String, String>> for Tags {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(Arc::new(map))
    }
}

impl From<Tags> for BTreeMap<String, String> {
    fn from(tags: Tags) -> Self {
        tags.into_map()
    }
}

impl FromIterator<(String, String)> for Tags {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(Arc::new(iter.into_iter().collect()))
    }
}

impl<'a> IntoIterator for &'a Tags {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Tags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_until_one_changes_and_compare_by_content() {
        let original = Tags::from(BTreeMap::from([("a".to_owned(), "1".to_owned())]));
        let mut copy = original.clone();
        assert!(Arc::ptr_eq(&original.0, &copy.0));
        copy.insert("b".to_owned(), "2".to_owned());
        assert!(!Arc::ptr_eq(&original.0, &copy.0));
        assert_eq!(original.len(), 1);
        assert_ne!(original, copy);
        copy.remove("b");
        assert_eq!(original, copy);
        let json = serde_json::to_string(&copy).unwrap();
        assert_eq!(json, r#"{"a":"1"}"#);
        assert_eq!(serde_json::from_str::<Tags>(&json).unwrap(), original);
    }
}
