//! Validated names: cluster ids, fleet names, regions, provider names, node pool names, team
//! names and blueprint versions.
//!
//! Every name Fleet sends to a cloud must be accepted by every cloud, so the rules are the
//! strictest of the supported providers (GKE allows 40 characters for a cluster name, AKS only
//! lowercase letters and digits, at most 12, for an agent pool). A value of one of these types
//! has been checked once, when it was parsed; nothing downstream checks again.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Why a string is not a valid name of some kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: {reason}")]
pub struct NameError {
    /// What kind of name was parsed, e.g. `cluster id`.
    pub kind: &'static str,
    /// The offending value, shortened to at most 64 characters.
    pub value: String,
    /// What was expected.
    pub reason: String,
}

/// The character rules one kind of name follows.
struct NameRule {
    kind: &'static str,
    max_len: usize,
    allow_hyphen: bool,
    must_start_with_letter: bool,
}

impl NameRule {
    fn check(&self, value: &str) -> Result<(), NameError> {
        let fail = |reason: String| NameError { kind: self.kind, value: value.chars().take(64).collect(), reason };
        let allowed = if self.allow_hyphen {
            "lowercase letters (a-z), digits and '-'"
        } else {
            "lowercase letters (a-z) and digits"
        };
        if value.is_empty() {
            return Err(fail("must not be empty".into()));
        }
        if value.len() > self.max_len {
            return Err(fail(format!("must be at most {} characters, found {}", self.max_len, value.len())));
        }
        // Bytes, not chars: every allowed character is ASCII, and any other byte starts a
        // character to report.
        let allowed_byte = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || (self.allow_hyphen && *b == b'-');
        if let Some(at) = value.bytes().position(|b| !allowed_byte(&b)) {
            let bad = value[at..].chars().next().unwrap_or('?');
            return Err(fail(format!("may contain only {allowed}, found {bad:?}")));
        }
        let first = value.as_bytes()[0];
        if self.must_start_with_letter && !first.is_ascii_lowercase() {
            return Err(fail("must start with a lowercase letter (a-z)".into()));
        }
        if first == b'-' || value.ends_with('-') {
            return Err(fail("must not start or end with '-'".into()));
        }
        Ok(())
    }
}

macro_rules! validated_name {
    ($(#[$doc:meta])* $name:ident, $rule:expr, $example:literal) => {
        $(#[$doc])*
        // Shared, not copied, by every clone: a fleet's clusters hold one provider name, one
        // region per region and one blueprint version per blueprint between them.
        #[derive(Clone, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Arc<str>);

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
            }
        }

        // By content, as equality is.
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl $name {
            const RULE: NameRule = $rule;

            /// Parses and validates `value`.
            ///
            /// ```
            #[doc = concat!("let name = fleet_core::", stringify!($name), "::new(\"", $example, "\").unwrap();")]
            #[doc = concat!("assert_eq!(name.as_str(), \"", $example, "\");")]
            #[doc = concat!("assert!(fleet_core::", stringify!($name), "::new(\"Not Valid!\").is_err());")]
            /// ```
            pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                Self::RULE.check(&value)?;
                Ok(Self(Arc::from(value)))
            }

            /// Whether `value` is a valid name of this kind (without allocating).
            pub fn is_valid(value: &str) -> bool {
                Self::RULE.check(value).is_ok()
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(value: &str) -> Result<Self, NameError> {
                Self::new(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0.to_string()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

validated_name!(
    /// A cluster's name at its provider: what the cloud knows it by, and what every
    /// [`ClusterProvider`](crate::ClusterProvider) call names.
    ///
    /// At most 40 characters of lowercase letters, digits and `-`, starting with a letter and not
    /// ending with `-`: valid as a DNS label and as a cluster name on EKS, AKS, GKE and Kind.
    ///
    /// The logical cluster a cluster serves is its [`ClusterIdentity`]: the first cluster of an
    /// identity is named after it, a replacement gets a name of its own.
    ClusterId,
    NameRule { kind: "cluster id", max_len: 40, allow_hyphen: true, must_start_with_letter: true },
    "payments-eu-1"
);

validated_name!(
    /// A logical cluster: what a fleet spec, a self-service environment, a placement and
    /// failover name, and what Fleet's tags on the cloud's cluster carry. One cluster at a time
    /// serves it (its [`ClusterId`] is the cloud's name for that cluster); a replacement, or a
    /// move to another region or cloud, serves the same identity under another name.
    ///
    /// The same rules as [`ClusterId`], so that the first cluster of an identity is named after
    /// it ([`ClusterIdentity::first_name`]).
    ClusterIdentity,
    NameRule { kind: "cluster identity", max_len: 40, allow_hyphen: true, must_start_with_letter: true },
    "payments-eu-1"
);

impl ClusterIdentity {
    /// The identity a cluster named `name` serves when it replaces nothing: the same text.
    ///
    /// ```
    /// use fleet_core::{ClusterId, ClusterIdentity};
    /// let name = ClusterId::new("web-1").unwrap();
    /// let identity = ClusterIdentity::of(&name);
    /// assert_eq!(identity.as_str(), "web-1");
    /// assert_eq!(identity.first_name(), name);
    /// ```
    pub fn of(name: &ClusterId) -> Self {
        Self(Arc::clone(&name.0))
    }

    /// The name the first cluster of this identity has at its provider: the same text.
    pub fn first_name(&self) -> ClusterId {
        ClusterId(Arc::clone(&self.0))
    }

    /// Whether the cluster named `name` is this identity's first cluster (has its name).
    pub fn is_named(&self, name: &ClusterId) -> bool {
        *self.0 == *name.0
    }
}

validated_name!(
    /// The name of a fleet: every cluster Fleet creates carries it as a tag, so that a fleet finds
    /// its own clusters again and never touches another's. Same rules as [`ClusterId`].
    FleetName,
    NameRule { kind: "fleet name", max_len: 40, allow_hyphen: true, must_start_with_letter: true },
    "prod"
);

validated_name!(
    /// A provider's region or location, e.g. `us-east-1`, `westeurope`, `europe-west1` or `local`.
    Region,
    NameRule { kind: "region", max_len: 64, allow_hyphen: true, must_start_with_letter: true },
    "eu-west-1"
);

validated_name!(
    /// The name a provider registers under, e.g. `aws`, `azure`, `gcp`, `kind`, `sim-east`.
    ProviderName,
    NameRule { kind: "provider name", max_len: 32, allow_hyphen: true, must_start_with_letter: true },
    "aws"
);

validated_name!(
    /// A node pool's name: at most 12 lowercase letters and digits, starting with a letter (the
    /// AKS agent pool rule, the strictest of the clouds).
    NodePoolName,
    NameRule { kind: "node pool name", max_len: 12, allow_hyphen: false, must_start_with_letter: true },
    "system"
);

validated_name!(
    /// The team that owns a cluster or asks for an environment; also used as its namespace name.
    TeamName,
    NameRule { kind: "team name", max_len: 40, allow_hyphen: true, must_start_with_letter: true },
    "payments"
);

validated_name!(
    /// The version of the blueprint a cluster was made from: a content hash of the resolved
    /// blueprint, carried to the cloud as a tag (at most 63 lowercase hex-like characters).
    BlueprintVersion,
    NameRule { kind: "blueprint version", max_len: 63, allow_hyphen: true, must_start_with_letter: false },
    "3f9a1c2e"
);

/// Errors about names.
impl Error {
    /// A `NotFound` error for a cluster.
    pub fn cluster_not_found(id: &ClusterId) -> Self {
        Error::NotFound { resource: format!("cluster `{id}`") }
    }

    /// The `InvalidSpec` error of a spec for provider `wanted` given to provider `this`.
    pub fn wrong_provider(wanted: &ProviderName, this: &ProviderName) -> Self {
        Error::InvalidSpec {
            path: "provider".into(),
            reason: format!("spec is for provider `{wanted}`, this is `{this}`"),
        }
    }
}

impl From<NameError> for Error {
    fn from(err: NameError) -> Self {
        Error::InvalidSpec { path: err.kind.to_owned(), reason: err.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_id_accepts_dns_labels_up_to_forty_characters() {
        assert!(ClusterId::new("a").is_ok());
        assert!(ClusterId::new("web-1-eu").is_ok());
        assert!(ClusterId::new("a".repeat(40)).is_ok());
        let too_long = ClusterId::new("a".repeat(41)).unwrap_err();
        assert!(too_long.reason.contains("at most 40"), "{too_long}");
    }

    #[test]
    fn cluster_id_rejects_what_a_cloud_would_reject() {
        for bad in ["", "Web", "1web", "web_1", "web-", "-web", "wéb", "web 1"] {
            assert!(ClusterId::new(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn error_names_kind_value_and_rule() {
        let err = Region::new("US_EAST").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("region"), "{text}");
        assert!(text.contains("US_EAST"), "{text}");
        assert!(text.contains("lowercase"), "{text}");
    }

    #[test]
    fn node_pool_names_have_no_hyphens() {
        assert!(NodePoolName::new("workers1").is_ok());
        assert!(NodePoolName::new("work-ers").is_err());
        assert!(NodePoolName::new("averylongname").is_err());
    }

    #[test]
    fn blueprint_versions_may_start_with_a_digit() {
        assert!(BlueprintVersion::new("0f3a").is_ok());
        assert!(BlueprintVersion::new("0F3A").is_err());
    }

    #[test]
    fn huge_values_are_shortened_in_errors() {
        let err = ClusterId::new("X".repeat(100_000)).unwrap_err();
        assert!(err.value.len() <= 64);
    }

    #[test]
    fn serde_validates_on_the_way_in() {
        let ok: ClusterId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(ok.as_str(), "abc");
        let err = serde_json::from_str::<ClusterId>("\"ABC\"").unwrap_err();
        assert!(err.to_string().contains("cluster id"), "{err}");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"abc\"");
    }
}
