//! [`RecordKind`]: what an event of record says happened, kept in the store in a stable text
//! form (`cluster_expired`, ...) that every store and every version reads back the same.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! record_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident => $text:literal, )*) => {
        /// What an event of record says happened. Stored as its text ([`RecordKind::as_str`]);
        /// a text this version does not know (written by another) reads back as
        /// [`RecordKind::Other`], kept as it was.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "String", from = "String")]
        #[non_exhaustive]
        pub enum RecordKind {
            $( $(#[doc = $doc])* $variant, )*
            /// A kind this version does not know, as stored.
            Other(String),
        }

        impl RecordKind {
            /// The stable text the store keeps.
            pub fn as_str(&self) -> &str {
                match self {
                    $( RecordKind::$variant => $text, )*
                    RecordKind::Other(text) => text,
                }
            }
        }

        impl From<String> for RecordKind {
            fn from(text: String) -> Self {
                match text.as_str() {
                    $( $text => RecordKind::$variant, )*
                    _ => RecordKind::Other(text),
                }
            }
        }
    };
}

record_kinds! {
    /// A cluster of this fleet found at its provider, not yet in the store, was adopted.
    ClusterAdopted => "cluster_adopted",
    /// A cluster's TTL ends soon.
    ClusterExpiring => "cluster_expiring",
    /// A cluster's TTL ended: it is deleted and never brought back.
    ClusterExpired => "cluster_expired",
    /// A cluster no spec wants was deleted.
    GarbageCollected => "garbage_collected",
    /// Another cluster became the active placement of an identity.
    PlacementSwitched => "placement_switched",
    /// Replacements stopped: a new cluster failed its health gate.
    RolloutHalted => "rollout_halted",
    /// A cluster the provider upgraded ahead of its spec keeps its version.
    VersionAdopted => "version_adopted",
    /// A cluster's add-ons were applied.
    AddonsApplied => "addons_applied",
    /// A cluster's add-ons could not be applied.
    AddonsFailed => "addons_failed",
    /// A cluster's add-ons had drifted and were put back.
    AddonDrift => "addon_drift",
    /// Failover began moving a lost cluster.
    FailoverStarted => "failover_started",
    /// A lost cluster could not be placed.
    FailoverDegraded => "failover_degraded",
    /// A moved cluster serves at its new place.
    FailoverCompleted => "failover_completed",
    /// A moved cluster goes back to its home.
    FailoverFailingBack => "failover_failing_back",
}

impl From<RecordKind> for String {
    fn from(kind: RecordKind) -> Self {
        kind.as_str().to_owned()
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_text_and_unknown_texts_are_kept() {
        for kind in [RecordKind::ClusterExpired, RecordKind::PlacementSwitched, RecordKind::FailoverFailingBack] {
            assert_eq!(RecordKind::from(kind.as_str().to_owned()), kind);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!(RecordKind::ClusterExpired.as_str(), "cluster_expired", "the stored text never changes");
        let unknown: RecordKind = serde_json::from_str("\"cluster_teleported\"").unwrap();
        assert_eq!(unknown, RecordKind::Other("cluster_teleported".into()));
        assert_eq!(unknown.as_str(), "cluster_teleported");
    }
}
