//! Failover: health checks, loss detection, and choosing new placements.
//!
//! A [`HealthCheck`] says whether a cluster serves ([`PhaseAndProbe`] combines the provider's
//! phase with a probe of the API server; `KubeApiProbe`, feature `kube`, probes `GET /readyz`
//! over the `ApiRoute` the user configured for private endpoints). A [`LossDetector`] turns checks over time into
//! judgements that a cluster, a region or a whole provider is lost, after configurable
//! consecutive failures and grace periods. [`choose_placements`] picks where lost clusters
//! go: ordered fallbacks, anti-affinity, capacity and quotas, higher priority first.
//! [`readiness()`] judges, before any outage, whether each template would recover from the loss
//! of any one region or provider, and how fast.

mod controller;
mod detect;
mod lower_bound;
mod placement;
mod readiness;
mod refusals;
mod report;

pub use crate::fleet_spec::{FailoverPolicy, Fallback, OnReturn};
pub use crate::health::{ApiProbe, Health, HealthCheck, PhaseAndProbe, ReportedPhase};
#[cfg(feature = "kube")]
pub use crate::health::{KubeApiProbe, PROBE_TIMEOUT};
pub use crate::store::MoveReport;
pub use crate::{Location, Room};
pub use controller::{FailoverController, FailoverControllerBuilder, FailoverEvent, FailoverOptions};
pub use detect::{Loss, LossDetector, LossThresholds};
pub use lower_bound::earliest_finishes;
pub use placement::{Decision, Displaced, PlacementView, choose_placements};
pub use readiness::{Outage, OutageReadiness, ProviderFacts, Readiness, TemplateReadiness, readiness};
pub use report::{AwaitingCleanup, FailoverReport};
