//! [`ApiShape`]: how a simulated cloud's API answers a list and a get, and how fast it may be
//! called, after the managed Kubernetes services it stands for.

use std::fmt;

use crate::{RateLimit, RateLimits};

/// Clusters in one page of a paged list (EKS `ListClusters` `maxResults` is 1 to 100; ARM lists
/// are taken as pages of 100).
pub const PAGE_SIZE: usize = 100;

/// The way a simulated cloud's API is shaped: what observing the fleet costs in calls, and the
/// API's rate limits. The calls of each shape are the simulated cloud's, counted in its
/// [call log](super::SimCloud::call_log); the clouds' real APIs are not called.
///
/// | shape | `list` | `get` | reads, burst | writes, burst |
/// |---|---|---|---|---|
/// | [`Generic`](Self::Generic) | one call | one call | 20/s, 40 | 5/s, 10 |
/// | [`Eks`](Self::Eks) | per region: pages of 100 names; a describe and a node group list per cluster not kept by a [`DescribeCache`](crate::observe::DescribeCache) | describe, node group list, a describe per node group | 10/s, 20 | 2/s, 5 |
/// | [`Gke`](Self::Gke) | one call for every location, labels and node pools included | one call | 40/s, 80 | 10/s, 20 |
/// | [`Aks`](Self::Aks) | pages of 100 clusters of every fleet, tags and agent pools included | one call | 25/s, 250 | 10/s, 200 |
///
/// Where the limits come from:
/// - EKS: AWS publishes no rate for the EKS API; it throttles per account and region with a
///   token bucket, as its other services document. 10 reads/s (burst 20) and 2 writes/s (burst
///   5) are the conservative figures `fleet-aws` declares, and one bucket serves every region
///   here, which is stricter than per region.
/// - GKE: "The default rate limit for the Kubernetes Engine API is 3000 requests per min,
///   enforced at intervals of every 100 seconds" (cloud.google.com/kubernetes-engine/quotas):
///   50 requests/s shared by reads and writes, split here 40 and 10.
/// - AKS: Azure Resource Manager's token buckets per subscription and region: reads 250 with
///   25 refilled a second, writes 200 with 10 a second (learn.microsoft.com, "Understand how
///   Azure Resource Manager throttles requests"). The AKS resource provider may throttle
///   writes further; that is not modelled.
///
/// Long-running operations (GKE's and AKS's) are the simulated operations' completion times;
/// polling them is the engine's `get`, one read each, as polling an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum ApiShape {
    /// One call lists the fleet and one gets a cluster, at 20 reads and 5 writes a second.
    #[default]
    Generic,
    /// EKS-like: names listed by page per region, each cluster described and its node groups
    /// listed separately.
    Eks,
    /// GKE-like: one list of every location's clusters with their labels.
    Gke,
    /// AKS-like: pages of 100 clusters with their tags.
    Aks,
}

impl ApiShape {
    /// Every shape.
    pub const ALL: [ApiShape; 4] = [ApiShape::Generic, ApiShape::Eks, ApiShape::Gke, ApiShape::Aks];

    /// The API's rate limits (see the table above).
    pub fn rate_limits(self) -> RateLimits {
        match self {
            ApiShape::Generic => RateLimits::new(RateLimit::new(20.0, 40), RateLimit::new(5.0, 10)),
            ApiShape::Eks => RateLimits::new(RateLimit::new(10.0, 20), RateLimit::new(2.0, 5)),
            ApiShape::Gke => RateLimits::new(RateLimit::new(40.0, 80), RateLimit::new(10.0, 20)),
            ApiShape::Aks => RateLimits::new(RateLimit::new(25.0, 250), RateLimit::new(10.0, 200)),
        }
    }

    /// The read calls describing one listed cluster takes where the list gives names only: a
    /// describe and a node group list for the EKS shape; none for the others, whose lists carry
    /// every cluster whole.
    pub fn calls_per_describe(self) -> usize {
        match self {
            ApiShape::Eks => 2,
            _ => 0,
        }
    }

    /// The fewest read calls a list of `in_regions` clusters (of every fleet, by region) costs
    /// when `describes` of them must be described: the list pages plus
    /// [`calls_per_describe`](Self::calls_per_describe) for each.
    ///
    /// ```
    /// use fleet_core::sim::ApiShape;
    /// assert_eq!(ApiShape::Gke.list_calls(&[500, 500], 30), 1);
    /// assert_eq!(ApiShape::Aks.list_calls(&[500, 501], 30), 11);
    /// assert_eq!(ApiShape::Eks.list_calls(&[500, 501], 30), 5 + 6 + 60);
    /// ```
    pub fn list_calls(self, in_regions: &[usize], describes: usize) -> usize {
        let pages = |count: usize| count.div_ceil(PAGE_SIZE).max(1);
        let pages = match self {
            ApiShape::Generic | ApiShape::Gke => 1,
            ApiShape::Aks => pages(in_regions.iter().sum()),
            ApiShape::Eks => in_regions.iter().map(|&count| pages(count)).sum::<usize>(),
        };
        pages + self.calls_per_describe() * describes
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiShape::Generic => "generic",
            ApiShape::Eks => "eks",
            ApiShape::Gke => "gke",
            ApiShape::Aks => "aks",
        }
    }
}

impl fmt::Display for ApiShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
