//! Judging loss from a stream of health checks: of a cluster, a region, or a whole provider.
//!
//! Pure and clock-driven: the caller feeds observations with their time. Nothing is judged
//! lost before it has failed `consecutive_failures` checks in a row *and* stayed failed for
//! the `grace` period, so blips shorter than the grace period trigger nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::Health;
use crate::{ClusterId, Location, ProviderName};

/// When a failure becomes a loss.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LossThresholds {
    /// Failed checks in a row before anything is judged lost.
    pub consecutive_failures: u32,
    /// How long a failure must last before it is judged a loss.
    pub grace: Duration,
    /// Share of a region's clusters that must be lost for the region to be lost.
    pub region_share: f64,
}

impl LossThresholds {
    /// Lost after `consecutive_failures` failed checks lasting `grace`; a region is lost when
    /// `region_share` (0 to 1) of its clusters are.
    pub fn new(consecutive_failures: u32, grace: Duration, region_share: f64) -> Self {
        Self { consecutive_failures, grace, region_share }
    }
}

impl Default for LossThresholds {
    fn default() -> Self {
        Self { consecutive_failures: 3, grace: Duration::from_secs(120), region_share: 0.5 }
    }
}

/// Something judged lost.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "lost", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Loss {
    /// One cluster.
    Cluster {
        /// The cluster.
        id: ClusterId,
        /// Where it ran.
        location: Location,
    },
    /// A region of a provider: its API fails, or too many of its clusters are lost.
    Region {
        /// The region.
        location: Location,
    },
    /// A whole provider: its API fails, or every one of its (two or more) regions with clusters
    /// is lost.
    Provider {
        /// The provider.
        provider: ProviderName,
    },
}

#[derive(Debug, Clone, Default)]
struct Streak {
    failures: u32,
    since: Option<Instant>,
    /// When the current run of successes began.
    ok_since: Option<Instant>,
}

impl Streak {
    fn record(&mut self, ok: bool, now: Instant) {
        if ok {
            let ok_since = self.ok_since.unwrap_or(now);
            *self = Streak { ok_since: Some(ok_since), ..Streak::default() };
        } else {
            self.failures += 1;
            self.since.get_or_insert(now);
            self.ok_since = None;
        }
    }

    fn lost(&self, thresholds: &LossThresholds, now: Instant) -> bool {
        self.failures >= thresholds.consecutive_failures
            && self.since.is_some_and(|since| now.duration_since(since) >= thresholds.grace)
    }
}

/// Turns health checks and API results over time into judgements of loss.
#[derive(Debug, Clone, Default)]
pub struct LossDetector {
    thresholds: LossThresholds,
    clusters: BTreeMap<ClusterId, (Location, Streak)>,
    region_apis: BTreeMap<Location, Streak>,
    provider_apis: BTreeMap<ProviderName, Streak>,
}

impl LossDetector {
    /// A detector with these thresholds.
    pub fn new(thresholds: LossThresholds) -> Self {
        Self { thresholds, ..Self::default() }
    }

    /// Records one health check of a cluster; an [`Health::Unknown`] verdict changes nothing.
    pub fn record_cluster(&mut self, id: &ClusterId, location: &Location, health: &Health, now: Instant) {
        let entry = self.clusters.entry(id.clone()).or_insert_with(|| (location.clone(), Streak::default()));
        entry.0 = location.clone();
        if !matches!(health, Health::Unknown { .. }) {
            entry.1.record(health.is_healthy(), now);
        }
    }

    /// Records whether a region's API answered.
    pub fn record_region_api(&mut self, location: &Location, answered: bool, now: Instant) {
        self.region_apis.entry(location.clone()).or_default().record(answered, now);
    }

    /// Records whether a provider's API answered at all.
    pub fn record_provider_api(&mut self, provider: &ProviderName, answered: bool, now: Instant) {
        self.provider_apis.entry(provider.clone()).or_default().record(answered, now);
    }

    /// When the cluster's current run of failed checks began, if it is failing.
    pub fn failing_since(&self, id: &ClusterId) -> Option<Instant> {
        self.clusters.get(id).and_then(|(_, streak)| streak.since)
    }

    /// Whether `location` is back: its provider's API and the region have answered every
    /// check for at least the grace period.
    pub fn is_back(&self, location: &Location, now: Instant) -> bool {
        let steady = |streak: Option<&Streak>| {
            streak.and_then(|s| s.ok_since).is_some_and(|since| now.duration_since(since) >= self.thresholds.grace)
        };
        let provider = self.provider_apis.get(&location.provider);
        provider.is_none_or(|s| steady(Some(s))) && steady(self.region_apis.get(location))
    }

    /// Keeps tracking only the clusters for which `keep` is true.
    pub fn retain_clusters(&mut self, keep: impl Fn(&ClusterId) -> bool) {
        self.clusters.retain(|id, _| keep(id));
    }

    /// Stops tracking a cluster (deleted, or moved away).
    pub fn forget(&mut self, id: &ClusterId) {
        self.clusters.remove(id);
    }

    /// Everything judged lost at `now`, ordered; a lost provider implies its regions and
    /// clusters, and a lost region its clusters, which are listed too.
    pub fn losses(&self, now: Instant) -> Vec<Loss> {
        let t = &self.thresholds;
        let mut lost = BTreeSet::new();
        let mut per_region: BTreeMap<&Location, (usize, usize)> = BTreeMap::new();
        for (id, (location, streak)) in &self.clusters {
            let counts = per_region.entry(location).or_default();
            counts.0 += 1;
            if streak.lost(t, now) {
                counts.1 += 1;
                lost.insert(Loss::Cluster { id: id.clone(), location: location.clone() });
            }
        }
        let mut lost_regions: BTreeSet<Location> = BTreeSet::new();
        for (location, (total, failed)) in &per_region {
            if *total > 0 && (*failed as f64) / (*total as f64) >= t.region_share && *failed > 0 {
                lost_regions.insert((*location).clone());
            }
        }
        for (location, streak) in &self.region_apis {
            if streak.lost(t, now) {
                lost_regions.insert(location.clone());
            }
        }
        let mut lost_providers: BTreeSet<ProviderName> =
            self.provider_apis.iter().filter(|(_, streak)| streak.lost(t, now)).map(|(p, _)| p.clone()).collect();
        let providers_with_clusters: BTreeSet<&ProviderName> = per_region.keys().map(|l| &l.provider).collect();
        for provider in providers_with_clusters {
            let regions: Vec<&&Location> = per_region.keys().filter(|l| &l.provider == provider).collect();
            // A provider with clusters in one region only loses that region, not itself.
            if regions.len() > 1 && regions.iter().all(|l| lost_regions.contains(**l)) {
                lost_providers.insert(provider.clone());
            }
        }
        // A lost region or provider loses every cluster in it.
        for (id, (location, _)) in &self.clusters {
            if lost_regions.contains(location) || lost_providers.contains(&location.provider) {
                lost.insert(Loss::Cluster { id: id.clone(), location: location.clone() });
            }
        }
        lost.extend(lost_regions.into_iter().map(|location| Loss::Region { location }));
        lost.extend(lost_providers.into_iter().map(|provider| Loss::Provider { provider }));
        lost.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Region;

    fn at(region: &str) -> Location {
        Location::new(ProviderName::new("p").unwrap(), Region::new(region).unwrap())
    }

    fn id(name: &str) -> ClusterId {
        ClusterId::new(name).unwrap()
    }

    fn down() -> Health {
        Health::Unhealthy { reason: "probe failed".into() }
    }

    fn cluster_losses(losses: &[Loss]) -> Vec<String> {
        losses
            .iter()
            .filter_map(|l| if let Loss::Cluster { id, .. } = l { Some(id.to_string()) } else { None })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_is_lost_only_after_enough_failures_lasting_the_grace_period() {
        let mut detector = LossDetector::new(LossThresholds {
            consecutive_failures: 3,
            grace: Duration::from_secs(60),
            region_share: 0.9,
        });
        let start = Instant::now();
        detector.record_cluster(&id("ok"), &at("east"), &Health::Healthy, start);
        for second in [0, 10, 20] {
            detector.record_cluster(&id("a"), &at("east"), &down(), start + Duration::from_secs(second));
        }
        assert!(
            detector.losses(start + Duration::from_secs(30)).is_empty(),
            "three failures, but not for the grace period yet"
        );
        assert_eq!(cluster_losses(&detector.losses(start + Duration::from_secs(60))), ["a"]);
    }

    #[tokio::test(start_paused = true)]
    async fn flapping_shorter_than_the_grace_period_is_never_a_loss() {
        let mut detector = LossDetector::new(LossThresholds {
            consecutive_failures: 2,
            grace: Duration::from_secs(60),
            region_share: 0.5,
        });
        let start = Instant::now();
        for cycle in 0..100u64 {
            let t = start + Duration::from_secs(cycle * 30);
            let health = if cycle % 3 == 2 { Health::Healthy } else { down() };
            detector.record_cluster(&id("flappy"), &at("east"), &health, t);
            detector.record_region_api(&at("east"), cycle % 3 == 2, t);
            assert!(detector.losses(t).is_empty(), "cycle {cycle}: blips of 60 s or less trigger nothing");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_region_is_lost_by_its_share_of_lost_clusters_or_by_its_api() {
        let thresholds = LossThresholds { consecutive_failures: 1, grace: Duration::from_secs(10), region_share: 0.5 };
        let mut detector = LossDetector::new(thresholds);
        let start = Instant::now();
        detector.record_cluster(&id("a"), &at("east"), &down(), start);
        detector.record_cluster(&id("b"), &at("east"), &Health::Healthy, start);
        detector.record_cluster(&id("c"), &at("east"), &Health::Healthy, start);
        detector.record_cluster(&id("d"), &at("west"), &Health::Healthy, start);
        let later = start + Duration::from_secs(10);
        assert!(!detector.losses(later).iter().any(|l| matches!(l, Loss::Region { .. })), "one of three is not half");
        detector.record_cluster(&id("b"), &at("east"), &down(), start);
        let losses = detector.losses(later);
        assert!(losses.contains(&Loss::Region { location: at("east") }), "{losses:?}");
        assert_eq!(cluster_losses(&losses), ["a", "b", "c"], "a lost region loses all its clusters");

        let mut api = LossDetector::new(thresholds);
        api.record_cluster(&id("d"), &at("west"), &Health::Healthy, start);
        api.record_region_api(&at("west"), false, start);
        assert!(api.losses(later).contains(&Loss::Region { location: at("west") }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_provider_is_lost_when_its_api_fails_or_all_its_regions_are_lost() {
        let thresholds = LossThresholds { consecutive_failures: 1, grace: Duration::from_secs(10), region_share: 0.5 };
        let start = Instant::now();
        let later = start + Duration::from_secs(10);
        let mut detector = LossDetector::new(thresholds);
        detector.record_cluster(&id("a"), &at("east"), &Health::Healthy, start);
        detector.record_provider_api(&ProviderName::new("p").unwrap(), false, start);
        let losses = detector.losses(later);
        assert!(losses.contains(&Loss::Provider { provider: ProviderName::new("p").unwrap() }), "{losses:?}");
        assert_eq!(cluster_losses(&losses), ["a"]);

        let mut regions = LossDetector::new(thresholds);
        regions.record_region_api(&at("east"), false, start);
        regions.record_region_api(&at("west"), false, start);
        regions.record_cluster(&id("a"), &at("east"), &Health::Healthy, start);
        regions.record_cluster(&id("b"), &at("west"), &Health::Healthy, start);
        assert!(regions.losses(later).contains(&Loss::Provider { provider: ProviderName::new("p").unwrap() }));
        regions.record_region_api(&at("west"), true, later);
        let losses = regions.losses(later);
        assert!(
            !losses.iter().any(|l| matches!(l, Loss::Provider { .. })),
            "a region that answers again is back: {losses:?}"
        );
        assert_eq!(cluster_losses(&losses), ["a"]);
    }
}
