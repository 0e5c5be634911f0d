//! [`DescribeCache`]: what a provider last described of each cluster its list names, so that a
//! steady cluster is described again once per resync interval instead of on every list.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::mutex::lock;
use crate::{Cluster, FleetName, FleetTags, RateLimit, Region};

/// How often a steady cluster is described again unless configured otherwise: ten minutes.
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(600);

/// The share of a provider's read rate that describing steady clusters again may take, so
/// that the rest stays for new clusters, clusters in progress and `get`.
pub const RESYNC_SHARE: f64 = 0.5;

/// What one cluster's last description was, and when it was made.
#[derive(Debug)]
struct Entry<T> {
    value: T,
    steady: bool,
    described_at: Instant,
}

/// The last description of each listed cluster, by region and name.
///
/// Some cloud APIs list cluster names only (EKS `ListClusters`): observing a fleet then costs
/// one describe per cluster per list, which at a few reads a second and a thousand clusters is
/// minutes of API budget per pass. With this cache a list describes only new names, clusters
/// in a changing phase, and each steady cluster once per resync interval; the resyncs are
/// spread over the interval by a fixed share of it per name, so each list pays an even share
/// of them rather than all of them at once. A cluster that fails or is changed behind the
/// provider's back while its name stays listed is seen within one resync interval; a deleted
/// one at the next list, since its name is gone.
///
/// ```
/// use std::time::Duration;
/// use fleet_core::{Region, observe::DescribeCache};
/// use tokio::time::Instant;
///
/// let cache = DescribeCache::new(Duration::from_secs(600), 10.0);
/// let region = Region::new("eu-west-1").unwrap();
/// let start = Instant::now();
/// assert_eq!(cache.fresh(&region, "web-1", start), None, "never described");
/// cache.record(&region, "web-1", "running", true, start);
/// cache.record(&region, "web-2", "creating", false, start);
/// assert_eq!(cache.fresh(&region, "web-1", start), Some("running"), "steady: no describe");
/// assert_eq!(cache.fresh(&region, "web-2", start), None, "changing: described on every list");
/// let later = start + Duration::from_secs(601);
/// assert_eq!(cache.fresh(&region, "web-1", later), None, "the resync came round");
/// ```
#[derive(Debug)]
pub struct DescribeCache<T> {
    resync: Duration,
    describes_per_second: f64,
    origin: Instant,
    /// By region, then by name, so that a lookup borrows the name instead of copying it.
    entries: Mutex<HashMap<Region, HashMap<String, Entry<T>>>>,
}

impl<T: Clone> DescribeCache<T> {
    /// A cache that describes each steady cluster again within `resync`, or within the longer
    /// interval that keeps those describes to `describes_per_second` when the fleet is too large
    /// for `resync` (see [`resync_interval`](Self::resync_interval)).
    pub fn new(resync: Duration, describes_per_second: f64) -> Self {
        Self {
            resync: resync.max(Duration::from_millis(1)),
            describes_per_second: if describes_per_second > 0.0 { describes_per_second } else { f64::MIN_POSITIVE },
            origin: Instant::now(),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A cache whose resyncs take at most [`RESYNC_SHARE`] of `reads`, where describing one
    /// cluster costs `calls_per_describe` read calls.
    pub fn within(resync: Duration, reads: RateLimit, calls_per_describe: u32) -> Self {
        Self::new(resync, reads.per_second * RESYNC_SHARE / f64::from(calls_per_describe.max(1)))
    }

    /// The interval within which every steady cluster is described again: the configured
    /// resync, or, when describing all of them that often would take more than the describe
    /// rate the cache was given, as long as that rate needs.
    pub fn resync_interval(&self) -> Duration {
        self.interval_for(self.len())
    }

    fn interval_for(&self, count: usize) -> Duration {
        let needed = Duration::from_secs_f64(count as f64 / self.describes_per_second);
        self.resync.max(needed)
    }

    /// The last description of `name` in `region` when it can stand for a new one at `now`: the
    /// cluster was steady and its resync has not come round since. `None`: describe it.
    pub fn fresh(&self, region: &Region, name: &str, now: Instant) -> Option<T> {
        let entries = lock(&self.entries);
        let interval = self.interval_for(count(&entries));
        let entry = entries.get(region)?.get(name)?;
        if !entry.steady || self.resync_due(name, entry.described_at, now, interval) {
            return None;
        }
        Some(entry.value.clone())
    }

    /// Keeps `value` as the description of `name` in `region` made at `now`; `steady`: whether
    /// the cluster is in a phase that stays as it is until something changes it.
    pub fn record(&self, region: &Region, name: &str, value: T, steady: bool, now: Instant) {
        let mut entries = lock(&self.entries);
        let in_region = entries.entry(region.clone()).or_default();
        in_region.insert(name.to_owned(), Entry { value, steady, described_at: now });
    }

    /// Drops the description of `name` in `region` (after a change the provider made to it), so
    /// that the next list describes it.
    pub fn forget(&self, region: &Region, name: &str) {
        if let Some(in_region) = lock(&self.entries).get_mut(region) {
            in_region.remove(name);
        }
    }

    /// Drops the descriptions of clusters in `region` that its list no longer names.
    pub fn keep_listed(&self, region: &Region, listed: &HashSet<&str>) {
        if let Some(in_region) = lock(&self.entries).get_mut(region) {
            in_region.retain(|name, _| listed.contains(name.as_str()));
        }
    }

    /// How many clusters have a description kept.
    pub fn len(&self) -> usize {
        count(&lock(&self.entries))
    }

    /// Whether no description is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl DescribeCache<Option<Cluster>> {
    /// Keeps `cluster`, as described in `region` at `now`, for the lists of `fleet` to come: its
    /// view, steady unless it is in progress, when it is the fleet's; `None` when it is
    /// another's (never listed, described again at its resync).
    pub fn record_cluster(&self, region: &Region, cluster: &Cluster, fleet: &FleetName, now: Instant) {
        let value = FleetTags::belongs_to(&cluster.tags, fleet).then(|| cluster.clone());
        let steady = value.is_none() || !cluster.phase.is_in_progress();
        self.record(region, cluster.id.as_str(), value, steady, now);
    }
}

impl<T> DescribeCache<T> {
    /// Whether a resync of `name` fell due between `described_at` and `now`: time is cut into
    /// slots of `interval`, each name's shifted by its fixed share of the interval, so that
    /// names fall due evenly over it (and a change of the interval moves each a little), and a
    /// description is due again once its slot has passed.
    fn resync_due(&self, name: &str, described_at: Instant, now: Instant, interval: Duration) -> bool {
        let length = interval.as_secs_f64().max(1e-3);
        let offset = spread(name);
        let slot = |at: Instant| (at.saturating_duration_since(self.origin).as_secs_f64() / length + offset).floor();
        slot(now) > slot(described_at)
    }
}

/// Descriptions kept in every region.
fn count<T>(entries: &HashMap<Region, HashMap<String, Entry<T>>>) -> usize {
    entries.values().map(HashMap::len).sum()
}

/// A fixed share in `[0, 1)` of the interval for each name, by which its resync slots are
/// shifted: FNV-1a of the name, mixed so that names differing in their last characters land far
/// apart; the same on every run, so that simulations repeat.
fn spread(name: &str) -> f64 {
    let mut hash = name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    (hash >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Region {
        Region::new("r1").unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn each_steady_cluster_is_described_once_per_interval_spread_evenly() {
        let cache = DescribeCache::new(Duration::from_secs(600), 1e9);
        let start = Instant::now();
        let names: Vec<String> = (0..1000).map(|n| format!("c{n}")).collect();
        for name in &names {
            cache.record(&region(), name, (), true, start);
        }
        // Passes every 60 s over two intervals: each pass describes about a tenth, and each
        // cluster is described twice.
        let mut described: HashMap<&str, u32> = HashMap::new();
        for pass in 1..=20 {
            let now = start + Duration::from_secs(60 * pass);
            let due: Vec<&String> = names.iter().filter(|n| cache.fresh(&region(), n, now).is_none()).collect();
            assert!((60..=140).contains(&due.len()), "pass {pass} described {}", due.len());
            for name in due {
                *described.entry(name).or_default() += 1;
                cache.record(&region(), name, (), true, now);
            }
        }
        assert!(described.values().all(|&count| count == 2), "each cluster twice in 1200 s");
        assert_eq!(described.len(), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fleet_too_large_for_the_rate_stretches_the_interval() {
        let cache = DescribeCache::new(Duration::from_secs(600), 5.0);
        let start = Instant::now();
        for n in 0..10_000 {
            cache.record(&region(), &format!("c{n}"), (), true, start);
        }
        assert_eq!(cache.resync_interval(), Duration::from_secs(2000), "10,000 describes at 5 a second");
        cache.keep_listed(&region(), &["c1", "c2"].into_iter().collect());
        assert_eq!(cache.len(), 2, "names no longer listed are dropped");
        assert_eq!(cache.resync_interval(), Duration::from_secs(600));
        cache.forget(&region(), "c1");
        assert_eq!(cache.fresh(&region(), "c1", start), None);
        assert_eq!(cache.fresh(&Region::new("r2").unwrap(), "c2", start), None, "names are per region");
    }
}
