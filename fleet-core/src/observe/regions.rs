//! [`list_regions`]: a provider's list made of one list per region, taken side by side.

use std::future::Future;

use super::join_all;
use crate::{Cluster, Listing, ProviderName, Region, Result};

/// Lists every region of `provider` at once with `list_region`: a region whose list fails is
/// reported unreachable with its error, the others are listed all the same, and the listing
/// fails only when no region could be listed (the [`crate::ClusterProvider`] contract).
///
/// ```
/// use fleet_core::{Error, ProviderName, Region, observe::list_regions};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let regions = vec![Region::new("north").unwrap(), Region::new("south").unwrap()];
/// let listing = list_regions(&ProviderName::new("mycloud").unwrap(), &regions, |region| async move {
///     match region.as_str() {
///         "north" => Ok(Vec::new()),
///         _ => Err(Error::Unavailable { message: "south does not answer".into() }),
///     }
/// })
/// .await
/// .unwrap();
/// assert!(listing.is_unreachable(&Region::new("south").unwrap()));
/// # });
/// ```
pub async fn list_regions<'a, F, Fut>(provider: &ProviderName, regions: &'a [Region], list_region: F) -> Result<Listing>
where
    F: Fn(&'a Region) -> Fut,
    Fut: Future<Output = Result<Vec<Cluster>>>,
{
    let results = join_all(regions.iter().map(list_region).collect()).await;
    let mut listing = Listing::new(Vec::new());
    for (region, result) in regions.iter().zip(results) {
        match result {
            Ok(clusters) => listing.clusters.extend(clusters),
            Err(err) => {
                tracing::warn!(target: "fleet::observe", %provider, %region, %err, "region not listed");
                listing.mark_unreachable(region.clone(), err);
            }
        }
    }
    listing.unless_all_unreachable(provider, regions)
}
