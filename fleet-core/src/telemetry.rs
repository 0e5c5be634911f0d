//! Metrics of the engine, failover and self-service, recorded through the [`metrics`] facade.
//!
//! Every metric name is a constant here, and every label is spelled here: the rest of the crate
//! records through the small functions of this module. Names and units follow the Prometheus
//! conventions (base units, seconds; counters end in `_total`), and every label value comes
//! from a fixed set (outcomes, action kinds, operations, error kinds, phases, rejection rules)
//! or from the configured provider names, so that the number of series stays bounded.
//!
//! What it must not do: install a recorder (a service installs one, e.g.
//! `metrics-exporter-prometheus`, then calls [`describe`] once; without a recorder every call
//! here costs next to nothing), or put a cluster name, identity, team name or any free text in a
//! label value.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | [`PASSES_TOTAL`] | counter | `outcome`: `converged`, `pending`, `failed` |
//! | [`PASS_DURATION_SECONDS`] | histogram | |
//! | [`ACTIONS_TOTAL`] | counter | `kind`: `create`, `update`, `replace`, `delete`, `hibernate`, `resume`, `await`; `outcome`: `succeeded`, `failed` |
//! | [`PROVIDER_CALLS_TOTAL`] | counter | `provider`; `operation`; `outcome`: `ok` or an [`ErrorKind::as_str`](crate::ErrorKind::as_str) |
//! | [`PROVIDER_CALL_DURATION_SECONDS`] | histogram | `provider`; `operation` |
//! | [`API_BUDGET_WAIT_SECONDS`] | histogram | `provider` |
//! | [`CLUSTERS`] | gauge | `provider`; `phase` ([`ClusterPhase::name`](crate::ClusterPhase::name)) |
//! | [`FAILOVER_MOVES_TOTAL`] | counter | `outcome`: `within_objective`, `late`, `degraded` |
//! | [`FAILOVER_RECOVERY_SECONDS`] | histogram | |
//! | [`SELF_SERVICE_REQUESTS_TOTAL`] | counter | `outcome`: `accepted`, `rejected`, `failed`; `rule` |
//!
//! ```
//! // After installing the service's recorder:
//! fleet_core::telemetry::describe();
//! assert_eq!(fleet_core::telemetry::PASSES_TOTAL, "fleet_passes_total");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use tokio::time::Instant;

use crate::{Cluster, Error, ProviderName, Result};

/// Counter of reconcile passes, by `outcome`: `converged` (nothing left to do), `pending`
/// (actions planned or operations under way) or `failed` (the pass returned an error).
pub const PASSES_TOTAL: &str = "fleet_passes_total";

/// Histogram of the wall time of a reconcile pass (by tokio's clock), in seconds, whatever its
/// outcome.
pub const PASS_DURATION_SECONDS: &str = "fleet_pass_duration_seconds";

/// Counter of the actions a pass carried out to their end, by `kind` (`create`, `update`,
/// `replace`, `delete`, `hibernate`, `resume`, or `await` for an operation under way) and
/// `outcome` (`succeeded`, `failed`; a failure that is retried on a later pass counts too).
pub const ACTIONS_TOTAL: &str = "fleet_actions_total";

/// Counter of calls to providers by the engine and through [`Engine::providers`], by
/// `provider`, `operation` (`create`, `get`, `list`, `update`, `delete`, `credentials`,
/// `team_credentials`, `hibernate`, `resume`, `room`) and `outcome`: `ok` or the error's kind
/// ([`ErrorKind::as_str`](crate::ErrorKind::as_str), e.g. `rate_limited`).
///
/// [`Engine::providers`]: crate::engine::Engine::providers
pub const PROVIDER_CALLS_TOTAL: &str = "fleet_provider_calls_total";

/// Histogram of the duration of provider calls, in seconds, by `provider` and `operation`.
pub const PROVIDER_CALL_DURATION_SECONDS: &str = "fleet_provider_call_duration_seconds";

/// Histogram of the time a call waited for a token of its provider's API budget before it was
/// made, in seconds, by `provider`; zero when a token was at hand.
pub const API_BUDGET_WAIT_SECONDS: &str = "fleet_api_budget_wait_seconds";

/// Gauge of the clusters the last pass observed, by `provider` and `phase` (`running`,
/// `creating`, `unreachable`, ...); a pair seen before and absent now is set to 0.
pub const CLUSTERS: &str = "fleet_clusters";

/// Counter of failover moves, by `outcome`: `within_objective` (the replacement served within
/// its template's recovery time objective, `rto`), `late` (it served after it), or `degraded`
/// (a lost cluster could not be placed; counted each time one is reported degraded, or its
/// reason changes).
pub const FAILOVER_MOVES_TOTAL: &str = "fleet_failover_moves_total";

/// Histogram of the recovery time of each finished failover move, from its first failed check
/// to its replacement serving, in seconds.
pub const FAILOVER_RECOVERY_SECONDS: &str = "fleet_failover_recovery_seconds";

/// Counter of self-service environment requests, by `outcome` (`accepted`, `rejected`,
/// `failed`) and `rule`: the rule a rejected request broke (`allowedRegions`, `quota.clusters`,
/// ...; `other` for a rule this crate does not know), empty otherwise.
pub const SELF_SERVICE_REQUESTS_TOTAL: &str = "fleet_self_service_requests_total";

/// Every metric name above.
pub const NAMES: [&str; 10] = [
    PASSES_TOTAL,
    PASS_DURATION_SECONDS,
    ACTIONS_TOTAL,
    PROVIDER_CALLS_TOTAL,
    PROVIDER_CALL_DURATION_SECONDS,
    API_BUDGET_WAIT_SECONDS,
    CLUSTERS,
    FAILOVER_MOVES_TOTAL,
    FAILOVER_RECOVERY_SECONDS,
    SELF_SERVICE_REQUESTS_TOTAL,
];

/// Describes every metric (unit and help text) to the installed recorder; a service calls it
/// once, after installing its recorder. Without one it does nothing.
pub fn describe() {
    describe_counter!(PASSES_TOTAL, Unit::Count, "Reconcile passes, by outcome (converged, pending, failed).");
    describe_histogram!(PASS_DURATION_SECONDS, Unit::Seconds, "Wall time of a reconcile pass.");
    describe_counter!(ACTIONS_TOTAL, Unit::Count, "Actions carried out to their end, by kind and outcome.");
    describe_counter!(PROVIDER_CALLS_TOTAL, Unit::Count, "Provider API calls, by provider, operation and outcome.");
    describe_histogram!(
        PROVIDER_CALL_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of provider API calls, by provider and operation."
    );
    describe_histogram!(
        API_BUDGET_WAIT_SECONDS,
        Unit::Seconds,
        "Time a provider call waited for a token of the provider's API budget."
    );
    describe_gauge!(CLUSTERS, Unit::Count, "Clusters observed by the last reconcile pass, by provider and phase.");
    describe_counter!(
        FAILOVER_MOVES_TOTAL,
        Unit::Count,
        "Failover moves, by outcome (within_objective, late, degraded)."
    );
    describe_histogram!(
        FAILOVER_RECOVERY_SECONDS,
        Unit::Seconds,
        "Recovery time of finished failover moves, from the first failed check to the replacement serving."
    );
    describe_counter!(
        SELF_SERVICE_REQUESTS_TOTAL,
        Unit::Count,
        "Self-service environment requests, by outcome and the rule a rejected one broke."
    );
}

/// Records a reconcile pass that took `took`: `Ok(converged)` or the error it returned.
pub(crate) fn pass(result: Result<bool, &Error>, took: Duration) {
    let outcome = match result {
        Ok(true) => "converged",
        Ok(false) => "pending",
        Err(_) => "failed",
    };
    counter!(PASSES_TOTAL, "outcome" => outcome).increment(1);
    histogram!(PASS_DURATION_SECONDS).record(took.as_secs_f64());
}

/// Records an action of `kind` (one of the fixed names of `engine::action::action_name`) that
/// ended with `result`.
pub(crate) fn action<T>(kind: &'static str, result: &Result<T>) {
    let outcome = if result.is_ok() { "succeeded" } else { "failed" };
    counter!(ACTIONS_TOTAL, "kind" => kind, "outcome" => outcome).increment(1);
}

/// A provider operation, as a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProviderCall {
    Create,
    Get,
    List,
    Update,
    Delete,
    Credentials,
    TeamCredentials,
    Hibernate,
    Resume,
    Room,
    OfferedVersions,
}

impl ProviderCall {
    /// The label value: the trait method's name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProviderCall::Create => "create",
            ProviderCall::Get => "get",
            ProviderCall::List => "list",
            ProviderCall::Update => "update",
            ProviderCall::Delete => "delete",
            ProviderCall::Credentials => "credentials",
            ProviderCall::TeamCredentials => "team_credentials",
            ProviderCall::Hibernate => "hibernate",
            ProviderCall::Resume => "resume",
            ProviderCall::Room => "room",
            ProviderCall::OfferedVersions => "offered_versions",
        }
    }
}

/// Makes the provider call `call` (`operation` of `provider`) and records how long it took and
/// how it ended; returns its result untouched.
pub(crate) async fn provider_call<T>(
    provider: &ProviderName,
    operation: ProviderCall,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    let outcome = match &result {
        Ok(_) => "ok",
        Err(err) => err.kind().as_str(),
    };
    let (provider, operation) = (provider.as_str().to_owned(), operation.as_str());
    counter!(PROVIDER_CALLS_TOTAL, "provider" => provider.clone(), "operation" => operation, "outcome" => outcome)
        .increment(1);
    histogram!(PROVIDER_CALL_DURATION_SECONDS, "provider" => provider, "operation" => operation)
        .record(took.as_secs_f64());
    result
}

/// Records that a call to `provider` waited `waited` for a token of its API budget.
pub(crate) fn api_budget_wait(provider: &ProviderName, waited: Duration) {
    histogram!(API_BUDGET_WAIT_SECONDS, "provider" => provider.as_str().to_owned()).record(waited.as_secs_f64());
}

/// The `(provider, phase)` pairs of [`CLUSTERS`] set so far, so that a pair no longer observed
/// is set to 0 rather than left at its last value.
#[derive(Debug, Default)]
pub(crate) struct ClusterGauges {
    set: BTreeSet<(ProviderName, &'static str)>,
}

impl ClusterGauges {
    /// The counts to set after observing `observed`: every pair observed, and 0 for every pair
    /// set before and absent now. Pure, so that it may run under the engine's state lock; the
    /// counts are recorded after it ([`ClusterCounts::record`]).
    pub(crate) fn count(&mut self, observed: &[Cluster]) -> ClusterCounts {
        let mut counts: BTreeMap<(ProviderName, &'static str), u64> = BTreeMap::new();
        for cluster in observed {
            *counts.entry((cluster.provider.clone(), cluster.phase.name())).or_default() += 1;
        }
        for gone in &self.set {
            counts.entry(gone.clone()).or_insert(0);
        }
        self.set = counts.iter().filter(|(_, n)| **n > 0).map(|(pair, _)| pair.clone()).collect();
        ClusterCounts(counts)
    }
}

/// Counts of observed clusters by provider and phase, to set on [`CLUSTERS`].
#[derive(Debug)]
pub(crate) struct ClusterCounts(BTreeMap<(ProviderName, &'static str), u64>);

impl ClusterCounts {
    /// Sets the gauges.
    pub(crate) fn record(self) {
        for ((provider, phase), count) in self.0 {
            gauge!(CLUSTERS, "provider" => provider.as_str().to_owned(), "phase" => phase).set(count as f64);
        }
    }
}

/// Records a failover move whose replacement served `recovery` after its first failed check,
/// against its template's recovery time objective `rto`.
pub(crate) fn failover_recovered(recovery: Duration, rto: Duration) {
    let outcome = if recovery <= rto { "within_objective" } else { "late" };
    counter!(FAILOVER_MOVES_TOTAL, "outcome" => outcome).increment(1);
    histogram!(FAILOVER_RECOVERY_SECONDS).record(recovery.as_secs_f64());
}

/// Records a lost cluster reported degraded: it could not be placed anywhere.
pub(crate) fn failover_degraded() {
    counter!(FAILOVER_MOVES_TOTAL, "outcome" => "degraded").increment(1);
}

/// How a self-service request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "yaml"), allow(dead_code))] // only `self_service` (feature `yaml`) records requests
pub(crate) enum SelfServiceOutcome {
    /// Accepted and kept.
    Accepted,
    /// Refused by a rule of the team's policy, or of the repository.
    Rejected,
    /// Could not be judged or kept (a store or provider failure).
    Failed,
}

/// The rules a [`Rejection`](crate::fleet_spec::Rejection) may name; any other is `other`.
const REJECTION_RULES: [&str; 12] = [
    "allowedProviders",
    "allowedRegions",
    "allowedSizes",
    "blueprint",
    "locked",
    "maxTtl",
    "name",
    "policy",
    "provider",
    "quota.clusters",
    "quota.nodes",
    "region",
];

/// Records a self-service request that ended with `outcome`; `rule` is the rule a rejected
/// request broke ([`Rejection::rule`](crate::fleet_spec::Rejection::rule)) and is ignored for
/// the other outcomes (their `rule` label is empty).
#[cfg_attr(not(feature = "yaml"), allow(dead_code))] // only `self_service` (feature `yaml`) records requests
pub(crate) fn self_service_request(outcome: SelfServiceOutcome, rule: &str) {
    let (outcome, rule) = match outcome {
        SelfServiceOutcome::Accepted => ("accepted", ""),
        SelfServiceOutcome::Failed => ("failed", ""),
        SelfServiceOutcome::Rejected => {
            ("rejected", REJECTION_RULES.into_iter().find(|r| *r == rule).unwrap_or("other"))
        }
    };
    counter!(SELF_SERVICE_REQUESTS_TOTAL, "outcome" => outcome, "rule" => rule).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClusterPhase;

    fn cluster(id: &str, provider: &str, phase: ClusterPhase) -> Cluster {
        Cluster::new(
            crate::ClusterId::new(id).unwrap(),
            ProviderName::new(provider).unwrap(),
            String::new(),
            crate::Region::new("east").unwrap(),
            phase,
        )
    }

    #[test]
    fn a_pair_no_longer_observed_is_set_to_zero_once() {
        let mut gauges = ClusterGauges::default();
        let first = gauges.count(&[
            cluster("a", "sim", ClusterPhase::Creating),
            cluster("b", "sim", ClusterPhase::Creating),
            cluster("c", "other", ClusterPhase::Running),
        ]);
        let sim = || ProviderName::new("sim").unwrap();
        let other = || ProviderName::new("other").unwrap();
        assert_eq!(first.0, BTreeMap::from([((other(), "running"), 1), ((sim(), "creating"), 2)]));
        let second = gauges.count(&[cluster("a", "sim", ClusterPhase::Running)]);
        assert_eq!(
            second.0,
            BTreeMap::from([((other(), "running"), 0), ((sim(), "creating"), 0), ((sim(), "running"), 1)])
        );
        let third = gauges.count(&[cluster("a", "sim", ClusterPhase::Running)]);
        assert_eq!(third.0, BTreeMap::from([((sim(), "running"), 1)]), "zeroed pairs are not set again");
    }

    #[test]
    fn provider_calls_are_named_as_their_trait_methods_in_snake_case() {
        assert_eq!(ProviderCall::TeamCredentials.as_str(), "team_credentials");
        assert_eq!(ProviderCall::List.as_str(), "list");
    }
}
