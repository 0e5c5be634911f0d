//! Kubernetes versions: `major.minor` or `major.minor.patch`, ordered.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Kubernetes version such as `1.31` or `1.31.2` (a leading `v` is accepted when parsing).
///
/// Versions order numerically; a version without a patch number sorts before every patch of the
/// same minor version (`1.31 < 1.31.0 < 1.31.2 < 1.32`).
///
/// ```
/// use fleet_core::KubernetesVersion;
/// let a: KubernetesVersion = "1.31".parse().unwrap();
/// let b: KubernetesVersion = "v1.31.4".parse().unwrap();
/// assert!(a < b);
/// assert!(a.same_minor(&b));
/// assert_eq!(b.to_string(), "1.31.4");
/// assert!("1.x".parse::<KubernetesVersion>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KubernetesVersion {
    major: u32,
    minor: u32,
    patch: Option<u32>,
}

/// Why a string is not a Kubernetes version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Kubernetes version `{value}`: expected major.minor or major.minor.patch, e.g. 1.31 or 1.31.2")]
pub struct VersionError {
    /// The offending value, shortened to at most 64 characters.
    pub value: String,
}

impl KubernetesVersion {
    /// A version from its numbers.
    pub fn new(major: u32, minor: u32, patch: Option<u32>) -> Self {
        Self { major, minor, patch }
    }

    /// The major number (`1` for every current release).
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The minor number.
    pub fn minor(&self) -> u32 {
        self.minor
    }

    /// The patch number, if one was given.
    pub fn patch(&self) -> Option<u32> {
        self.patch
    }

    /// The same version without its patch number.
    pub fn without_patch(&self) -> Self {
        Self { patch: None, ..*self }
    }

    /// Whether both versions share major and minor numbers.
    pub fn same_minor(&self, other: &Self) -> bool {
        self.major == other.major && self.minor == other.minor
    }

    /// Whether this (observed) version satisfies a `wanted` one: a wanted `1.35` accepts any
    /// 1.35 patch, a wanted `1.35.2` only itself.
    ///
    /// ```
    /// use fleet_core::KubernetesVersion;
    /// let v = |s: &str| s.parse::<KubernetesVersion>().unwrap();
    /// assert!(v("1.35.4").satisfies(v("1.35")));
    /// assert!(!v("1.35.4").satisfies(v("1.35.2")));
    /// assert!(!v("1.36").satisfies(v("1.35")));
    /// ```
    pub fn satisfies(&self, wanted: KubernetesVersion) -> bool {
        match wanted.patch {
            None => self.same_minor(&wanted),
            Some(_) => *self == wanted,
        }
    }

    /// Whether a cloud offering `offered` offers this version: a version without a patch number
    /// is offered when any patch of its minor is, and a listed minor offers its every patch.
    pub fn offered_by(&self, offered: &[KubernetesVersion]) -> bool {
        offered.iter().any(|o| o.satisfies(*self) || (o.patch.is_none() && o.same_minor(self)))
    }

    /// The version one minor step from this one toward `target`: the clouds upgrade a control
    /// plane one minor version at a time. `target` itself when it is within one minor (or
    /// behind: downgrades are not stepped), else the next minor without a patch number.
    ///
    /// ```
    /// use fleet_core::KubernetesVersion;
    /// let v = |s: &str| s.parse::<KubernetesVersion>().unwrap();
    /// assert_eq!(v("1.33.5").next_minor_toward(v("1.36")), v("1.34"));
    /// assert_eq!(v("1.35.1").next_minor_toward(v("1.36.2")), v("1.36.2"));
    /// assert_eq!(v("1.35").next_minor_toward(v("1.35.3")), v("1.35.3"));
    /// ```
    pub fn next_minor_toward(&self, target: KubernetesVersion) -> KubernetesVersion {
        if target.major != self.major || target.minor <= self.minor.saturating_add(1) {
            target
        } else {
            KubernetesVersion::new(self.major, self.minor + 1, None)
        }
    }

    /// The version an `update` toward `wanted` moves a cluster running this version to, or
    /// `None` when the version stays: it already satisfies `wanted`, or is ahead of it (the
    /// cloud upgraded it; Fleet never downgrades). Else one minor step
    /// ([`next_minor_toward`](Self::next_minor_toward)). Every provider's `update` follows it.
    ///
    /// ```
    /// use fleet_core::KubernetesVersion;
    /// let v = |s: &str| s.parse::<KubernetesVersion>().unwrap();
    /// assert_eq!(v("1.34.2").upgrade_step_to(v("1.36")), Some(v("1.35")));
    /// assert_eq!(v("1.35.1").upgrade_step_to(v("1.36")), Some(v("1.36")));
    /// assert_eq!(v("1.36.1").upgrade_step_to(v("1.36")), None);
    /// assert_eq!(v("1.36.1").upgrade_step_to(v("1.35")), None, "never a downgrade");
    /// ```
    pub fn upgrade_step_to(&self, wanted: KubernetesVersion) -> Option<KubernetesVersion> {
        (!self.satisfies(wanted) && !self.is_ahead_of(wanted)).then(|| self.next_minor_toward(wanted))
    }

    /// Whether this (observed) version is ahead of a `wanted` one: a later minor, or a later
    /// patch of a wanted full version.
    ///
    /// ```
    /// use fleet_core::KubernetesVersion;
    /// let v = |s: &str| s.parse::<KubernetesVersion>().unwrap();
    /// assert!(v("1.36.1").is_ahead_of(v("1.35")));
    /// assert!(v("1.35.4").is_ahead_of(v("1.35.2")));
    /// assert!(!v("1.35.4").is_ahead_of(v("1.35")));
    /// assert!(!v("1.34").is_ahead_of(v("1.35")));
    /// ```
    pub fn is_ahead_of(&self, wanted: KubernetesVersion) -> bool {
        !self.satisfies(wanted) && *self > wanted
    }
}

impl FromStr for KubernetesVersion {
    type Err = VersionError;

    fn from_str(value: &str) -> Result<Self, VersionError> {
        let fail = || VersionError { value: value.chars().take(64).collect() };
        let trimmed = value.strip_prefix('v').unwrap_or(value);
        let mut parts = trimmed.split('.');
        let mut number = |required: bool| -> Result<Option<u32>, VersionError> {
            match parts.next() {
                None if !required => Ok(None),
                None => Err(fail()),
                Some(part) if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) => Err(fail()),
                Some(part) => part.parse().map(Some).map_err(|_| fail()),
            }
        };
        let major = number(true)?.ok_or_else(fail)?;
        let minor = number(true)?.ok_or_else(fail)?;
        let patch = number(false)?;
        if parts.next().is_some() {
            return Err(fail());
        }
        Ok(Self { major, minor, patch })
    }
}

impl TryFrom<String> for KubernetesVersion {
    type Error = VersionError;
    fn try_from(value: String) -> Result<Self, VersionError> {
        value.parse()
    }
}

impl From<KubernetesVersion> for String {
    fn from(version: KubernetesVersion) -> String {
        version.to_string()
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(patch) => write!(f, "{}.{}.{}", self.major, self.minor, patch),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

impl fmt::Debug for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KubernetesVersion({self})")
    }
}

impl From<VersionError> for crate::Error {
    fn from(err: VersionError) -> Self {
        crate::Error::InvalidSpec { path: "kubernetesVersion".into(), reason: err.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> KubernetesVersion {
        s.parse().unwrap()
    }

    #[test]
    fn parses_minor_and_patch_forms() {
        assert_eq!(v("1.31"), KubernetesVersion::new(1, 31, None));
        assert_eq!(v("1.31.2"), KubernetesVersion::new(1, 31, Some(2)));
        assert_eq!(v("v1.30.0"), KubernetesVersion::new(1, 30, Some(0)));
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in ["", "1", "1.", ".1", "1.31.", "1.31.2.3", "1.x", "1.-3", "1. 3", "+1.2", "99999999999.1"] {
            assert!(bad.parse::<KubernetesVersion>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn orders_numerically() {
        assert!(v("1.9") < v("1.10"));
        assert!(v("1.31") < v("1.31.0"));
        assert!(v("1.31.9") < v("1.31.10"));
        assert!(v("1.31.10") < v("1.32"));
    }

    #[test]
    fn round_trips_through_serde_as_a_string() {
        let json = serde_json::to_string(&v("1.31.2")).unwrap();
        assert_eq!(json, "\"1.31.2\"");
        assert_eq!(serde_json::from_str::<KubernetesVersion>(&json).unwrap(), v("1.31.2"));
        assert!(serde_json::from_str::<KubernetesVersion>("\"one\"").is_err());
    }
}
