//! The provider conformance kit: one check for every promise of [`ClusterProvider`]'s
//! contract, run against a real backend (a cloud, a local API server, a fake `kind`, the
//! simulated cloud). Every provider crate, in this workspace or outside it, runs all of them.
//!
//! - [`CHECKS`] lists every check with the promise it holds the provider to; each has a
//!   function of its own name here (`conformance::create_is_idempotent(&provider, &ctx)`).
//! - [`run_all`] runs every check, prints what passed, was skipped (and why) and failed, and
//!   then fails naming every failed check, at the caller's line. [`run_checks`] returns the
//!   [`ConformanceReport`] instead, for tests of the kit itself.
//! - Checks create clusters named `<prefix>-<check>` in the context's region. Whatever
//!   becomes of a check (passed, failed, panicked), every cluster it made is deleted before
//!   the next one starts, and regions it cut are restored: on a real cloud nothing billed is
//!   left behind.
//! - Waits follow the provider's declared latencies ([`ConformanceContext::wait_for`]).
//! - [`ConformanceHooks`] let the harness act on the backend beside the provider: plant
//!   clusters Fleet did not make, cut a region, fail or throttle the next calls. A check whose
//!   hook is missing is skipped, visibly, never passed.
//!
//! # Running the kit from your provider crate
//! Add `fleet-core = { ..., default-features = false, features = ["conformance"] }` to your
//! `[dev-dependencies]`, then in `tests/conformance.rs` build your provider twice against the
//! same backend, for two fleet names, and call [`run_all`]. Here the simulated cloud stands in
//! for your backend, with hooks of its own:
//!
//! ```
//! use std::sync::Arc;
//! use fleet_core::conformance::{run_all, ConformanceContext, SimHooks};
//! use fleet_core::sim::{RegionCapacity, SimCloud};
//! use fleet_core::*;
//!
//! // #[tokio::test(start_paused = true)] async fn conformance() { ... } in your crate.
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let (east, west) = (Region::new("east").unwrap(), Region::new("west").unwrap());
//! let backend = SimCloud::builder(ProviderName::new("mycloud").unwrap())
//!     .region(east.clone(), RegionCapacity::new(20, 200))
//!     .region(west.clone(), RegionCapacity::new(20, 200))
//!     .build();
//! let provider = backend.provider(FleetName::new("conformance").unwrap());
//! let other_fleet = Arc::new(backend.provider(FleetName::new("conformance-other").unwrap()));
//! let context = ConformanceContext::new("conf", east, other_fleet)
//!     .unwrap()
//!     .with_second_region(west)
//!     .with_hooks(Arc::new(SimHooks::new(backend.clone())));
//! let report = run_all(&provider, &context).await;
//! // Checks whose promise the provider does not make (no offered versions told, say) are skipped.
//! assert!(report.failed.is_empty());
//! assert_eq!(report.passed.len() + report.skipped.len(), fleet_core::conformance::CHECKS.len());
//! # });
//! ```

mod checks;
mod context;
mod hooks;
pub mod hostile;
pub mod http;
#[cfg(feature = "kube")]
mod kube_api;
#[cfg(feature = "yaml")]
mod repository_run;
mod runner;
mod sim_hooks;
pub mod store;

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;

pub use context::ConformanceContext;
pub use hooks::{ConformanceHooks, NoHooks};
#[cfg(feature = "kube")]
pub use kube_api::{BUILT_IN_NAMESPACES, SIMULATED_ADMIN_TOKEN, SimulatedKubeApi};
#[cfg(feature = "yaml")]
pub use repository_run::{MAX_PASSES, RepositoryRun, converge_repository, stand_in_info};
pub use runner::{Check, ConformanceReport, FailedCheck, Outcome, SkippedCheck};
pub use sim_hooks::SimHooks;

use crate::ClusterProvider;
use runner::{Evidence, Kit, Verdict};

macro_rules! kit {
    ($( $module:ident :: $name:ident => $promise:literal, )*) => {
        /// Every check, in the order [`run_all`] runs them, with the promise each checks.
        pub const CHECKS: &[Check] = &[ $( Check { name: stringify!($name), promise: $promise }, )* ];

        fn dispatch<'k, 'a: 'k>(name: &str, kit: &'k Kit<'a>) -> Option<Pin<Box<dyn Future<Output = Verdict> + 'k>>> {
            match name {
                $( stringify!($name) => Some(Box::pin(checks::$module::$name(kit))), )*
                _ => None,
            }
        }

        $(
            #[doc = concat!("Checks that ", $promise, ".")]
            ///
            /// Cleans up what it made; panics, naming the check, the promise and the caller,
            /// when the provider breaks the promise; returns whether it passed or was skipped.
            #[track_caller]
            pub fn $name<'a>(
                provider: &'a dyn ClusterProvider,
                ctx: &'a ConformanceContext,
            ) -> impl Future<Output = Outcome> + 'a {
                run_check(stringify!($name), provider, ctx)
            }
        )*
    };
}

kit! {
    lifecycle::info_is_consistent =>
        "`info()` names the provider, lists the test regions and declares positive rate limits",
    lifecycle::create_get_list_delete_round_trip =>
        "a created cluster is found by `get` and `list`, and is gone from both after `delete`",
    lifecycle::create_progresses_to_running =>
        "a new cluster's phases go forward through `Pending`/`Creating` to `Running`, and it then reports the spec's version, node pools, tags and an endpoint",
    lifecycle::create_of_existing_cluster_returns_it_unchanged =>
        "`create` of an existing cluster returns it unchanged (provider id, creation time, phase) and makes no second one",
    lifecycle::concurrent_creates_make_one_cluster =>
        "8 concurrent creates of one id make one cluster, each returning it or a retryable error",
    lifecycle::create_during_delete_never_returns_the_deleting_cluster =>
        "`create` of a cluster being deleted is a retryable `Conflict` until the deletion finishes, never the deleting cluster",
    lifecycle::delete_of_missing_cluster_is_ok =>
        "`delete` of a missing cluster is `Ok`, twice",
    refusals::create_in_unknown_region_is_rejected =>
        "`create` in a region the provider does not list is `InvalidSpec` and creates nothing",
    refusals::create_for_another_provider_is_rejected =>
        "`create` of a spec naming another provider is `InvalidSpec` and creates nothing",
    refusals::create_of_an_unoffered_version_is_rejected =>
        "`create` of a version missing from `offered_versions`, where the provider tells, is `InvalidSpec` and creates nothing",
    refusals::create_without_a_required_system_pool_is_rejected =>
        "where a system pool is required, `create` without one, or with one of no nodes, is `InvalidSpec` and creates nothing",
    refusals::get_of_missing_cluster_is_not_found =>
        "`get` of a missing cluster is `NotFound`",
    refusals::credentials_of_missing_cluster_is_not_found =>
        "`credentials` of a missing cluster is `NotFound`",
    ownership::tags_round_trip =>
        "a created cluster carries Fleet's tags (fleet, id, blueprint version) and the spec's labels, on `get` and on `list`",
    ownership::list_shows_only_this_fleet =>
        "`list` shows this fleet's clusters and none of another fleet's on the same backend",
    ownership::foreign_clusters_are_left_alone =>
        "another fleet's cluster is never listed, taken over, changed, deleted or accessed, through every operation",
    ownership::untagged_clusters_are_left_alone =>
        "a cluster without Fleet's tags, or with another fleet's, planted on the backend directly, is never listed, taken over, changed, deleted or accessed",
    ownership::removed_clusters_leave_the_next_list =>
        "a cluster carrying this fleet's tags, made on the backend directly, is listed (also by a second list), and is missing from the first list after it is removed on the backend directly",
    update::upgrade_in_place_reaches_the_spec =>
        "an in-place version upgrade, where declared, goes back to `Running` and then reports the spec's version, node pools and tags",
    update::resize_in_place_reaches_the_spec =>
        "a node pool resize, where declared, goes back to `Running` and then reports the spec's version, node pools and tags",
    update::update_applies_labels_and_blueprint_version =>
        "`update` of labels and the blueprint version leaves the cluster carrying the spec's tags",
    update::upgrade_goes_one_minor_at_a_time =>
        "an upgrade two minors up, where declared and offered, goes one minor at a time: the cluster runs the next minor before the target",
    update::update_never_downgrades =>
        "`update` of a spec whose version is behind the cluster's keeps the cluster's version and applies the rest",
    update::update_refuses_what_needs_a_replacement =>
        "`update` refuses with `Unsupported`, changing nothing, exactly the changes `plan::replacement_needed` says need a replacement",
    update::unsupported_operations_follow_capabilities =>
        "operations the capabilities do not declare (upgrade, resize, hibernation, team credentials) are `Unsupported`",
    update::hibernate_and_resume_round_trip =>
        "a hibernated cluster, where declared, reaches `Hibernated`, and resumes to `Running` with its spec",
    convergence::plan_is_empty_after_create =>
        "after a create, the plan of the spec over what `list` reports is empty",
    convergence::plan_is_empty_after_updates =>
        "after an upgrade and a resize (where declared) and a label change, the plan of the spec over what `list` reports is empty",
    settings::offered_versions_include_the_kits =>
        "`offered_versions`, where the provider tells, is a non-empty list holding the versions the kit creates and upgrades to",
    settings::declared_settings_are_applied =>
        "every setting the capabilities declare (audit logging, private endpoint, allowed CIDRs, network policy) is applied, as the backend records it",
    settings::undeclared_settings_are_refused =>
        "`create` asking for a setting the capabilities do not declare is `InvalidSpec` and creates nothing",
    access::credentials_are_present_and_redacted =>
        "credentials of a running cluster name its endpoint, hold a kubeconfig and print redacted",
    access::credentials_before_running_are_retryable_or_work =>
        "`credentials` of a cluster that is not running yet is a retryable error or credentials for its endpoint",
    access::team_credentials_are_scoped =>
        "team credentials, where declared, are scoped to the team's namespace and hold none of the cluster-admin secrets",
    faults::unreachable_region_is_reported =>
        "with one region unreachable, `list` still lists the others and reports that region unreachable; with every region unreachable it fails",
    faults::transient_failures_are_retryable =>
        "a transient server failure is a retryable error, and the next call succeeds",
    faults::throttling_is_rate_limited =>
        "a throttled call is `RateLimited` with the backend's retry time",
    access::errors_hide_secrets =>
        "no secret handed out by the provider appears in any error's `Display` or `Debug`",
}

/// Runs every check in [`CHECKS`] and returns what passed, was skipped and failed, without
/// failing itself: for tests of the kit. Provider crates call [`run_all`].
pub async fn run_checks(provider: &dyn ClusterProvider, ctx: &ConformanceContext) -> ConformanceReport {
    runner::run_every(CHECKS, provider, ctx).await
}

/// Runs every check in [`CHECKS`], each after the last one's clean-up; prints the report (the
/// skipped checks with why); then panics, at the caller's line, naming every failed check
/// and the promise it broke.
#[track_caller]
pub fn run_all<'a>(
    provider: &'a dyn ClusterProvider,
    ctx: &'a ConformanceContext,
) -> impl Future<Output = ConformanceReport> + 'a {
    let caller = Location::caller();
    async move {
        let report = run_checks(provider, ctx).await;
        eprintln!("{report}");
        if !report.failed.is_empty() {
            panic!("{}\n(run_all called at {caller})", report.failure_message());
        }
        report
    }
}

/// Runs the check named `name` alone, after which it cleans up; panics, naming the check, the
/// promise and the caller, when it fails.
#[track_caller]
pub fn run_check<'a>(
    name: &'a str,
    provider: &'a dyn ClusterProvider,
    ctx: &'a ConformanceContext,
) -> impl Future<Output = Outcome> + 'a {
    let caller = Location::caller();
    async move {
        let Some(check) = CHECKS.iter().find(|c| c.name == name) else {
            panic!("conformance: no check named `{name}` (called at {caller})");
        };
        let evidence = Evidence::default();
        match runner::run_one(check, provider, ctx, &evidence).await {
            Ok(Outcome::Skipped(reason)) => {
                eprintln!("conformance: SKIPPED {name}: {reason}");
                Outcome::Skipped(reason)
            }
            Ok(outcome) => outcome,
            Err(message) => {
                panic!(
                    "conformance check `{name}` failed: broke \"{}\": {message}\n(called at {caller})",
                    check.promise
                )
            }
        }
    }
}
