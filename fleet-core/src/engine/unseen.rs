//! What a pass could not see: providers that could not be listed at all, and regions of the
//! others that could not. Nothing is created, garbage-collected or settled there until they
//! answer again; clusters known there are kept as `Unreachable`.

use std::collections::BTreeSet;

use crate::{ProviderName, Region};

/// The places one observation could not see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Unseen {
    providers: BTreeSet<ProviderName>,
    regions: BTreeSet<(ProviderName, Region)>,
}

impl Unseen {
    /// A provider that could not be listed.
    pub(crate) fn add_provider(&mut self, provider: ProviderName) {
        self.providers.insert(provider);
    }

    /// A region of a listed provider that could not be listed.
    pub(crate) fn add_region(&mut self, provider: ProviderName, region: Region) {
        self.regions.insert((provider, region));
    }

    /// Whether the whole of `provider` was out of sight.
    pub(crate) fn covers_provider(&self, provider: &ProviderName) -> bool {
        self.providers.contains(provider)
    }

    /// Whether `region` of `provider` was out of sight.
    pub(crate) fn covers(&self, provider: &ProviderName, region: &Region) -> bool {
        self.covers_provider(provider) || self.regions.contains(&(provider.clone(), region.clone()))
    }

    /// Whether everything was seen.
    pub(crate) fn is_empty(&self) -> bool {
        self.providers.is_empty() && self.regions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_out_of_sight_hides_only_that_region() {
        let (aws, gcp) = (ProviderName::new("aws").unwrap(), ProviderName::new("gcp").unwrap());
        let (east, west) = (Region::new("east").unwrap(), Region::new("west").unwrap());
        let mut unseen = Unseen::default();
        assert!(unseen.is_empty());
        unseen.add_region(aws.clone(), east.clone());
        assert!(unseen.covers(&aws, &east) && !unseen.covers(&aws, &west) && !unseen.covers_provider(&aws));
        unseen.add_provider(gcp.clone());
        assert!(unseen.covers(&gcp, &west) && unseen.covers_provider(&gcp));
    }
}
