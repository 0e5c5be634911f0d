//! The kit catches each way a provider has been seen to break the contract: a simulated
//! provider with one deliberate bug fails the kit, naming the check, and the kit still cleans
//! up every cluster it made.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fleet_core::conformance::{ConformanceContext, ConformanceReport, SimHooks, run_checks};
use fleet_core::plan::replacement_needed;
use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud, SimProvider};
use fleet_core::{
    Capabilities, Cluster, ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, Credentials, Error, FleetName,
    Listing, ProviderInfo, ProviderName, Region, Result, SizeClass, TeamName,
};

/// The bugs, one per broken provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    /// `list` returns every cluster of the backend, untagged and foreign ones included.
    ListsUntagged,
    /// `create` of an existing cluster answers as if it had started again.
    CreateResetsExisting,
    /// `update` changes version and pools but keeps the old tags.
    UpdateKeepsOldTags,
    /// `update` answers `Ok` to a change that needs a replacement, and does nothing.
    UpdateAcceptsReplacements,
    /// `list` fails as a whole when one region fails.
    ListFailsOnOneRegion,
    /// Errors quote the last kubeconfig handed out.
    ErrorsQuoteSecrets,
    /// Throttling is reported as a plain outage, without its retry time.
    ThrottlingWithoutRetryTime,
    /// `get` panics once a cluster runs.
    PanicsOnGet,
    /// `create` drops the network and audit settings it declares.
    DropsSettings,
    /// `create` ignores a setting the capabilities do not declare (audit logging) and creates
    /// the cluster anyway.
    IgnoresUndeclaredSettings,
    /// `update` of a spec behind the cluster's version refuses it as a downgrade.
    RefusesSpecsBehind,
    /// `list` reports node pools a size class up from what runs (a wrong machine-type
    /// mapping), so that the plan never settles.
    ListsWrongSize,
    /// `list` answers each running cluster it has listed from memory until this provider
    /// deletes it: a describe cache that never learns of a cluster removed behind its back.
    ListKeepsRemoved,
}

struct Broken {
    inner: SimProvider,
    info: ProviderInfo,
    bug: Bug,
    last_kubeconfig: Mutex<String>,
    remembered: Mutex<std::collections::BTreeMap<ClusterId, Cluster>>,
}

impl Broken {
    fn leak(&self, err: Error) -> Error {
        if self.bug != Bug::ErrorsQuoteSecrets {
            return err;
        }
        let kubeconfig = self.last_kubeconfig.lock().unwrap().clone();
        Error::Provider { message: format!("{err} (while using {kubeconfig})"), source: None }
    }
}

#[async_trait]
impl ClusterProvider for Broken {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let existing = self.inner.get(&spec.id).await.ok();
        let mut spec = spec.clone();
        if self.bug == Bug::DropsSettings {
            spec.network = fleet_core::Network::default();
            spec.audit_logging = false;
        }
        let mut created = self.inner.create(&spec).await.map_err(|e| self.leak(e))?;
        if self.bug == Bug::CreateResetsExisting && existing.is_some() {
            created.phase = ClusterPhase::Creating;
            created.created_at = Some(std::time::SystemTime::now());
        }
        Ok(created)
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let got = self.inner.get(id).await;
        if self.bug == Bug::PanicsOnGet && got.as_ref().is_ok_and(|c| c.phase == ClusterPhase::Running) {
            panic!("a provider bug");
        }
        match got {
            Err(Error::RateLimited { .. }) if self.bug == Bug::ThrottlingWithoutRetryTime => {
                Err(Error::Unavailable { message: "try later".into() })
            }
            other => other.map_err(|e| self.leak(e)),
        }
    }

    async fn list(&self) -> Result<Listing> {
        let listing = self.inner.list().await?;
        match self.bug {
            Bug::ListsUntagged => Ok(Listing::new(self.inner.cloud().clusters())),
            Bug::ListFailsOnOneRegion if !listing.is_complete() => {
                Err(Error::Unavailable { message: "a region failed".into() })
            }
            Bug::ListsWrongSize => {
                let mut clusters = listing.clusters;
                for pool in clusters.iter_mut().flat_map(|cluster| cluster.node_pools.iter_mut()) {
                    pool.size = SizeClass::Xlarge;
                }
                Ok(Listing::new(clusters))
            }
            Bug::ListKeepsRemoved => {
                let mut remembered = self.remembered.lock().unwrap();
                for cluster in listing.clusters.iter().filter(|c| c.phase == ClusterPhase::Running) {
                    remembered.insert(cluster.id.clone(), cluster.clone());
                }
                let mut clusters = listing.clusters;
                let gone: Vec<Cluster> =
                    remembered.values().filter(|r| !clusters.iter().any(|c| c.id == r.id)).cloned().collect();
                clusters.extend(gone);
                Ok(Listing::new(clusters))
            }
            _ => Ok(listing),
        }
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let current = self.inner.get(&spec.id).await?;
        match self.bug {
            Bug::UpdateKeepsOldTags if current.fleet_tags().is_some() => {
                let mut stale = spec.clone();
                stale.labels = fleet_core::FleetTags::user_labels(&current.tags);
                if let Some(tags) = current.fleet_tags() {
                    stale.blueprint_version = tags.blueprint_version;
                }
                self.inner.update(&stale).await
            }
            Bug::UpdateAcceptsReplacements
                if replacement_needed(&current, spec, self.info().capabilities).is_some() =>
            {
                Ok(current)
            }
            Bug::RefusesSpecsBehind if current.kubernetes_version > Some(spec.kubernetes_version) => {
                Err(Error::Unsupported { operation: "downgrading".into() })
            }
            _ => self.inner.update(spec).await.map_err(|e| self.leak(e)),
        }
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        self.remembered.lock().unwrap().remove(id);
        self.inner.delete(id).await.map_err(|e| self.leak(e))
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        let credentials = self.inner.credentials(id).await.map_err(|e| self.leak(e))?;
        *self.last_kubeconfig.lock().unwrap() = credentials.expose_kubeconfig().to_owned();
        Ok(credentials)
    }

    async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
        self.inner.team_credentials(id, team).await.map_err(|e| self.leak(e))
    }

    async fn hibernate(&self, id: &ClusterId) -> Result<Cluster> {
        self.inner.hibernate(id).await.map_err(|e| self.leak(e))
    }

    async fn resume(&self, id: &ClusterId) -> Result<Cluster> {
        self.inner.resume(id).await.map_err(|e| self.leak(e))
    }
}

/// A backend of two regions, `east` and `west`.
fn backend() -> SimCloud {
    SimCloud::builder(ProviderName::new("broken").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::new(20, 200))
        .region(Region::new("west").unwrap(), RegionCapacity::new(20, 200))
        .capabilities(Capabilities::all())
        .latency(LatencyModel::realistic())
        .build()
}

/// A provider of `cloud` with `bug`, and a kit context with a second region and every hook.
fn broken(cloud: &SimCloud, bug: Bug) -> (Broken, ConformanceContext) {
    let inner = cloud.provider(FleetName::new("conformance").unwrap());
    let mut info = inner.info().clone();
    if bug == Bug::IgnoresUndeclaredSettings {
        info.capabilities = info.capabilities.with_audit_logging(false);
    }
    let provider = Broken { inner, info, bug, last_kubeconfig: Mutex::default(), remembered: Mutex::default() };
    let other = Arc::new(cloud.provider(FleetName::new("conformance-other").unwrap()));
    let ctx = ConformanceContext::new("conf", Region::new("east").unwrap(), other)
        .unwrap()
        .with_second_region(Region::new("west").unwrap())
        .with_hooks(Arc::new(SimHooks::new(cloud.clone())));
    (provider, ctx)
}

/// Runs the kit against a provider with `bug`; checks that it left nothing behind.
async fn kit_against(bug: Bug) -> ConformanceReport {
    let cloud = backend();
    let (provider, ctx) = broken(&cloud, bug);
    let report = run_checks(&provider, &ctx).await;
    assert!(cloud.clusters().is_empty(), "{bug:?}: the kit left clusters behind: {:?}", cloud.clusters());
    report
}

async fn fails(bug: Bug, check: &str) {
    let report = kit_against(bug).await;
    assert!(report.failed_checks().contains(&check), "{bug:?} should fail `{check}`:\n{report}");
    let message = std::panic::catch_unwind(|| report.assert_passed()).unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(message.contains(check), "the failure does not name `{check}`: {message}");
}

#[tokio::test(start_paused = true)]
async fn a_list_with_untagged_clusters_fails() {
    fails(Bug::ListsUntagged, "list_shows_only_this_fleet").await;
    fails(Bug::ListsUntagged, "untagged_clusters_are_left_alone").await;
}

#[tokio::test(start_paused = true)]
async fn a_create_that_resets_an_existing_cluster_fails() {
    fails(Bug::CreateResetsExisting, "create_of_existing_cluster_returns_it_unchanged").await;
}

#[tokio::test(start_paused = true)]
async fn an_update_that_keeps_old_tags_fails() {
    fails(Bug::UpdateKeepsOldTags, "update_applies_labels_and_blueprint_version").await;
}

#[tokio::test(start_paused = true)]
async fn an_update_that_accepts_a_replacement_fails() {
    fails(Bug::UpdateAcceptsReplacements, "update_refuses_what_needs_a_replacement").await;
}

#[tokio::test(start_paused = true)]
async fn a_list_that_fails_with_one_region_fails() {
    fails(Bug::ListFailsOnOneRegion, "unreachable_region_is_reported").await;
}

#[tokio::test(start_paused = true)]
async fn errors_that_quote_secrets_fail() {
    fails(Bug::ErrorsQuoteSecrets, "errors_hide_secrets").await;
}

#[tokio::test(start_paused = true)]
async fn throttling_without_its_retry_time_fails() {
    fails(Bug::ThrottlingWithoutRetryTime, "throttling_is_rate_limited").await;
}

#[tokio::test(start_paused = true)]
async fn a_create_that_drops_declared_settings_fails() {
    fails(Bug::DropsSettings, "declared_settings_are_applied").await;
}

#[tokio::test(start_paused = true)]
async fn a_create_that_ignores_an_undeclared_setting_fails() {
    fails(Bug::IgnoresUndeclaredSettings, "undeclared_settings_are_refused").await;
}

#[tokio::test(start_paused = true)]
async fn an_update_that_refuses_a_spec_behind_the_cluster_fails() {
    fails(Bug::RefusesSpecsBehind, "update_never_downgrades").await;
}

#[tokio::test(start_paused = true)]
async fn a_listing_the_plan_never_settles_on_fails() {
    fails(Bug::ListsWrongSize, "plan_is_empty_after_create").await;
    fails(Bug::ListsWrongSize, "plan_is_empty_after_updates").await;
}

#[tokio::test(start_paused = true)]
async fn a_list_that_keeps_a_removed_cluster_fails() {
    fails(Bug::ListKeepsRemoved, "removed_clusters_leave_the_next_list").await;
}

#[tokio::test(start_paused = true)]
async fn a_panicking_check_is_a_failure_and_is_cleaned_up() {
    let report = kit_against(Bug::PanicsOnGet).await;
    let failed = report.failed.iter().find(|f| f.check == "create_get_list_delete_round_trip").unwrap();
    assert!(failed.message.contains("panicked: a provider bug"), "{report}");
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "update_refuses_what_needs_a_replacement")]
async fn run_all_fails_naming_every_failed_check() {
    let cloud = backend();
    let (provider, ctx) = broken(&cloud, Bug::UpdateAcceptsReplacements);
    fleet_core::conformance::run_all(&provider, &ctx).await;
}
