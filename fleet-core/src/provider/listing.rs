//! What [`ClusterProvider::list`](crate::ClusterProvider::list) returns: the clusters it could
//! see and the regions it could not.

use crate::{Cluster, Error, ProviderName, Region, Result};

/// One [`list`](crate::ClusterProvider::list) of a provider: this fleet's clusters in every
/// region that answered, and the regions (locations, resource groups) that did not.
///
/// A cluster in an unreachable region is not missing: the engine neither recreates nor
/// garbage-collects anything there until the region answers again.
///
/// ```
/// use fleet_core::{Error, Listing, Region};
/// let west = Region::new("west").unwrap();
/// let listing = Listing::new(Vec::new())
///     .with_unreachable(west.clone(), Error::Unavailable { message: "connection refused".into() });
/// assert!(listing.is_unreachable(&west));
/// assert!(!listing.is_unreachable(&Region::new("east").unwrap()));
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Listing {
    /// This fleet's clusters in the regions that answered.
    pub clusters: Vec<Cluster>,
    /// The regions that could not be listed, each with why.
    pub unreachable: Vec<UnreachableRegion>,
}

/// A region a provider could not list.
#[derive(Debug)]
#[non_exhaustive]
pub struct UnreachableRegion {
    /// The region (location, resource group's region).
    pub region: Region,
    /// Why it could not be listed.
    pub error: Error,
}

impl Listing {
    /// A complete listing: every region answered.
    pub fn new(clusters: Vec<Cluster>) -> Self {
        Self { clusters, unreachable: Vec::new() }
    }

    /// Adds a region that could not be listed.
    pub fn with_unreachable(mut self, region: Region, error: Error) -> Self {
        self.mark_unreachable(region, error);
        self
    }

    /// Records a region that could not be listed (once per region).
    pub fn mark_unreachable(&mut self, region: Region, error: Error) {
        if !self.is_unreachable(&region) {
            self.unreachable.push(UnreachableRegion { region, error });
        }
    }

    /// Whether `region` could not be listed.
    pub fn is_unreachable(&self, region: &Region) -> bool {
        self.unreachable.iter().any(|u| &u.region == region)
    }

    /// Whether every region answered.
    pub fn is_complete(&self) -> bool {
        self.unreachable.is_empty()
    }

    /// The listing as the contract wants it returned: `Err` when none of `regions` answered
    /// (the first region's error), the partial listing otherwise. A provider with regions
    /// calls this last, after listing each region and marking those that failed.
    pub fn unless_all_unreachable(self, provider: &ProviderName, regions: &[Region]) -> Result<Self> {
        let all_failed = !regions.is_empty() && regions.iter().all(|r| self.is_unreachable(r));
        if !all_failed {
            return Ok(self);
        }
        let mut unreachable = self.unreachable;
        let first = unreachable.remove(0);
        let others: Vec<String> = unreachable.iter().map(|u| u.region.to_string()).collect();
        let message = if others.is_empty() {
            format!("provider `{provider}`: no region could be listed; {}: {}", first.region, first.error)
        } else {
            format!(
                "provider `{provider}`: no region could be listed; {}: {} (also {})",
                first.region,
                first.error,
                others.join(", ")
            )
        };
        Err(if first.error.is_retryable() {
            Error::Unavailable { message }
        } else {
            Error::Provider { message, source: Some(Box::new(first.error)) }
        })
    }

    /// The clusters, dropping what is known about unreachable regions.
    pub fn into_clusters(self) -> Vec<Cluster> {
        self.clusters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str) -> Region {
        Region::new(name).unwrap()
    }

    #[test]
    fn a_listing_fails_only_when_every_region_failed() {
        let provider = ProviderName::new("p").unwrap();
        let regions = [region("a"), region("b")];
        let down = || Error::Unavailable { message: "refused".into() };
        let partial = Listing::new(Vec::new()).with_unreachable(region("a"), down());
        assert!(partial.unless_all_unreachable(&provider, &regions).is_ok());
        let none = Listing::new(Vec::new()).with_unreachable(region("a"), down()).with_unreachable(region("b"), down());
        let err = none.unless_all_unreachable(&provider, &regions).unwrap_err();
        assert!(err.is_retryable());
        assert!(err.to_string().contains("no region could be listed; a: unavailable: refused (also b)"), "{err}");
    }

    #[test]
    fn a_region_is_marked_once() {
        let mut listing = Listing::default();
        listing.mark_unreachable(region("a"), Error::Unavailable { message: "x".into() });
        listing.mark_unreachable(region("a"), Error::Unavailable { message: "y".into() });
        assert_eq!(listing.unreachable.len(), 1);
    }
}
